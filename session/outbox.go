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
	write      func(M) error
	writeBytes func([]byte) error // SendBytes's writer; nil: the transport sends no bytes
	push       *pusher[M]         // nil for a session without pushes: an idle line-protocol session does not carry their state

	mu  sync.Mutex // held while writing: one writer
	err error      // the first failed write; every later Send fails with it
}

// pusher is the state of an Outbox's pushes.
type pusher[M any] struct {
	o      *Outbox[M]
	pushes Pushes[M]

	mu       sync.Mutex
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
	if p.Next != nil {
		o.push = &pusher[M]{o: o, pushes: p}
	}
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

// SetBytesWriter sets the writer of SendBytes, for a transport whose replies may come as
// bytes (a line the calculator appended to a buffer): write must be done with its argument
// when it returns (copy it), as the caller reuses it.
func (o *Outbox[M]) SetBytesWriter(write func([]byte) error) { o.writeBytes = write }

// SendBytes is Send for a message held as bytes, written by the SetBytesWriter writer in
// the same order as Send's: no string is made of it.
func (o *Outbox[M]) SendBytes(m []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		o.err = o.writeBytes(m)
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
	if p := o.push; p != nil {
		p.mu.Lock()
		p.last = time.Now()
		p.mu.Unlock()
	}
}

// Open lets pushes go out; a change noted before is pushed now.
func (o *Outbox[M]) Open() {
	p := o.push
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open = true
	if p.changed && !p.stopped && p.state == pushIdle {
		p.scheduleLocked()
	}
}

// Changed notes that the state pushes carry has changed; a push follows (see Outbox).
// Safe from any goroutine; it never blocks on a write.
func (o *Outbox[M]) Changed() {
	p := o.push
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.changed = true // pushed once open, or when the push in progress ends
	if p.open && !p.stopped && p.state == pushIdle {
		p.scheduleLocked()
	}
}

// Stop ends the pushes: none starts after it. It does not wait for one in progress (see
// Wait), so a timer or a goroutine that decides to close the session may call it.
func (o *Outbox[M]) Stop() {
	p := o.push
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
}

// Wait waits for the push in progress, if any. Call it after Stop.
func (o *Outbox[M]) Wait() {
	if p := o.push; p != nil {
		p.inFlight.Wait()
	}
}

func (p *pusher[M]) scheduleLocked() {
	p.state = pushScheduled
	d := max(0, p.pushes.Interval-time.Since(p.last))
	if p.timer == nil {
		p.timer = time.AfterFunc(d, p.run)
		return
	}
	p.timer.Reset(d)
}

// run is the push timer: it sends the state of the moment, then schedules the next push
// if the state changed meanwhile.
func (p *pusher[M]) run() {
	p.mu.Lock()
	if p.stopped {
		p.state = pushIdle
		p.mu.Unlock()
		return
	}
	p.state = pushing
	p.changed = false
	p.inFlight.Add(1)
	p.mu.Unlock()
	defer p.inFlight.Done()

	ok := p.once()

	p.mu.Lock()
	p.state = pushIdle
	if ok && p.changed && !p.stopped {
		p.scheduleLocked()
	}
	p.mu.Unlock()
}

// once sends what Pushes.Next says, if anything; false if the write failed or panicked.
func (p *pusher[M]) once() (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if p.pushes.Panicked == nil {
				panic(v)
			}
			p.pushes.Panicked(v)
			ok = false
		}
	}()
	m, any := p.pushes.Next()
	if !any {
		return true
	}
	p.mu.Lock()
	p.last = time.Now()
	p.mu.Unlock()
	return p.o.Send(m) == nil
}
