package session

import (
	"sync"
	"time"
)

// Outbox is a session's ordered outbound queue. Everything the server sends the client
// goes through it: the session's replies (Send, from the reader) and the messages the
// server pushes on its own (Changed, from anywhere; presence today). It has one writer,
// the write function, which it calls with one message at a time, in the order the messages
// were sent, so that a push never lands in the middle of a reply and a close that follows
// a reply follows it on the wire too. M is the transport's message: a reply line for tcp,
// a frame's payload for ws.
//
// Pushes are coalesced: Changed only marks that the state changed, and the push, built
// when it is sent (Pushes.Next), carries the state of that moment, at most once per
// Pushes.Interval. A slow client therefore gets the latest state, never a backlog, and the
// last change always gets through. Pushes run on a timer, not on a goroutine of the
// session's: an idle session costs no goroutine for them.
//
// The zero Outbox is not usable; Init it.
type Outbox[M any] struct {
	write  func(M) error
	pushes Pushes[M]

	mu  sync.Mutex // held while writing: one writer
	err error      // the first failed write; every later Send fails with it

	pmu      sync.Mutex
	open     bool // Open was called: pushes may go out
	stopped  bool // Stop was called: no more pushes
	state    pushState
	changed  bool      // the state changed since the last push began
	last     time.Time // when the last push was sent
	timer    *time.Timer
	inFlight sync.WaitGroup // a push being sent
}

// Pushes configures the messages an Outbox pushes on its own.
type Pushes[M any] struct {
	// Interval is the shortest time between two pushes.
	Interval time.Duration
	// Next returns the message to push now, or false when there is nothing new to say.
	Next func() (M, bool)
	// Panicked is called with the value of a panic while pushing (a bug): the session
	// should end. Nil: the panic is re-raised.
	Panicked func(v any)
}

type pushState uint8

const (
	pushIdle pushState = iota
	pushScheduled
	pushing
)

// Init sets the outbox's writer and, for a session that gets pushes, their configuration
// (a zero Pushes: none).
func (o *Outbox[M]) Init(write func(M) error, p Pushes[M]) {
	o.write = write
	o.pushes = p
}

// Send writes m after the messages sent before it, and returns the write's error. After a
// failed write, Send writes nothing more and returns that error.
func (o *Outbox[M]) Send(m M) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		o.err = o.write(m)
	}
	return o.err
}

// Do runs f as the outbox's writer: nothing is sent while it runs. A transport uses it to
// flush the replies its writer batches, or to write a close frame after the last reply.
func (o *Outbox[M]) Do(f func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		o.err = f()
	}
	return o.err
}

// Err returns the error of the write that failed, if one did.
func (o *Outbox[M]) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Sent records that the state pushes carry was just sent some other way (in a greeting):
// the next push waits for Pushes.Interval from now.
func (o *Outbox[M]) Sent() {
	o.pmu.Lock()
	o.last = time.Now()
	o.pmu.Unlock()
}

// Open lets pushes go out; a change noted before is pushed now.
func (o *Outbox[M]) Open() {
	o.pmu.Lock()
	defer o.pmu.Unlock()
	o.open = true
	if o.changed && !o.stopped && o.state == pushIdle {
		o.scheduleLocked()
	}
}

// Changed notes that the state pushes carry has changed; a push follows (see Outbox).
// Safe from any goroutine; it never blocks on a write.
func (o *Outbox[M]) Changed() {
	o.pmu.Lock()
	defer o.pmu.Unlock()
	o.changed = true // pushed once open, or when the push in progress ends
	if o.open && !o.stopped && o.state == pushIdle {
		o.scheduleLocked()
	}
}

// Stop ends the pushes: none starts after it. It does not wait for one in progress (see
// Wait), so a timer or a goroutine that decides to close the session may call it.
func (o *Outbox[M]) Stop() {
	o.pmu.Lock()
	defer o.pmu.Unlock()
	o.stopped = true
	if o.timer != nil {
		o.timer.Stop()
	}
}

// Wait waits for the push in progress, if any. Call it after Stop.
func (o *Outbox[M]) Wait() { o.inFlight.Wait() }

func (o *Outbox[M]) scheduleLocked() {
	o.state = pushScheduled
	d := max(0, o.pushes.Interval-time.Since(o.last))
	if o.timer == nil {
		o.timer = time.AfterFunc(d, o.push)
		return
	}
	o.timer.Reset(d)
}

// push is the push timer: it sends the state of the moment, then schedules the next push
// if the state changed meanwhile.
func (o *Outbox[M]) push() {
	o.pmu.Lock()
	if o.stopped {
		o.state = pushIdle
		o.pmu.Unlock()
		return
	}
	o.state = pushing
	o.changed = false
	o.inFlight.Add(1)
	o.pmu.Unlock()
	defer o.inFlight.Done()

	ok := o.pushOnce()

	o.pmu.Lock()
	o.state = pushIdle
	if ok && o.changed && !o.stopped {
		o.scheduleLocked()
	}
	o.pmu.Unlock()
}

// pushOnce sends what Pushes.Next says, if anything; false if the write failed or panicked.
func (o *Outbox[M]) pushOnce() (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if o.pushes.Panicked == nil {
				panic(v)
			}
			o.pushes.Panicked(v)
			ok = false
		}
	}()
	m, any := o.pushes.Next()
	if !any {
		return true
	}
	o.pmu.Lock()
	o.last = time.Now()
	o.pmu.Unlock()
	return o.Send(m) == nil
}
