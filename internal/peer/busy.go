package peer

import (
	"net"
	"sync"
	"time"
)

// Busy watches one connection while its session is busy, that is evaluating rather than
// reading: a line that turns heavy runs for a while with nobody reading the socket. Begin
// marks the start of the busy stretch; once it has lasted After, the connection is watched
// (with Std) until End, and gone is called if the peer leaves meanwhile. The short
// stretches of typical lines (microseconds) cost a timer reset and stop each, and never
// reach a poll.
//
// Begin and End are called by the session's own goroutine, in pairs (Begin while busy
// already does nothing); the timer runs on its own.
type Busy struct {
	Conn  net.Conn
	Mode  Mode
	Gone  func()        // called at most once per watch, when the peer is gone
	After time.Duration // how long a stretch runs unwatched; 0 means 1 ms

	active bool // owner goroutine only: between Begin and End

	mu    sync.Mutex
	on    bool // between Begin and End, for the timer
	timer *time.Timer
	stop  func() // ends the watch in progress
}

// Begin marks the session busy.
func (b *Busy) Begin() {
	if b.active {
		return
	}
	b.active = true
	b.mu.Lock()
	b.on = true
	if b.timer == nil {
		b.timer = time.AfterFunc(b.after(), b.watch)
	} else {
		b.timer.Reset(b.after())
	}
	b.mu.Unlock()
}

// End marks the session idle (reading again, or finished) and stops any watch.
func (b *Busy) End() {
	if !b.active {
		return
	}
	b.active = false
	b.mu.Lock()
	b.on = false
	stop := b.stop
	b.stop = nil
	b.timer.Stop()
	b.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (b *Busy) after() time.Duration {
	if b.After > 0 {
		return b.After
	}
	return time.Millisecond
}

// watch is the timer: the stretch has lasted After.
func (b *Busy) watch() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.on || b.stop != nil {
		return // ended meanwhile, or watched already (a late timer of an earlier stretch)
	}
	b.stop = Std.Watch(b.Conn, b.Mode, b.Gone)
}
