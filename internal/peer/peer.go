package peer

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// Mode says what counts as the peer gone (see the package documentation).
type Mode uint8

const (
	// HangUp: reset or failed (POLLHUP, POLLERR). For the line protocol.
	HangUp Mode = iota
	// ReadHangUp: also closed for sending (POLLRDHUP). For WebSocket.
	ReadHangUp
)

// DefaultInterval is how often a Watcher polls when its Interval is zero: a client that
// leaves stops its evaluation within about this long.
const DefaultInterval = 10 * time.Millisecond

// Watcher watches connections; its zero value is ready to use. Std is the process's.
type Watcher struct {
	// Interval between polls; 0 means DefaultInterval. Set it before the first Watch.
	Interval time.Duration

	mu      sync.Mutex
	entries map[*entry]struct{}
	running bool
	kick    chan struct{} // wakes the goroutine when the last entry leaves
}

// Std is the Watcher the transports share.
var Std = new(Watcher)

type entry struct {
	rc   syscall.RawConn
	mode Mode
	gone func()
}

// Watch starts watching c and calls gone (once, on the Watcher's goroutine, or at once if
// the peer is gone already) when its peer is gone, unless stop has been called first. stop
// is safe to call more than once and from any goroutine; after it returns, gone is not
// called any more unless it is running already. A connection that has no raw socket, or a
// system that cannot tell, is not watched.
func (w *Watcher) Watch(c net.Conn, mode Mode, gone func()) (stop func()) {
	sc, ok := c.(syscall.Conn)
	if !ok || !supported {
		return func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	e := &entry{rc: rc, mode: mode, gone: gone}
	if goneNow(rc, mode) {
		gone()
		return func() {}
	}
	w.mu.Lock()
	if w.entries == nil {
		w.entries = make(map[*entry]struct{})
		w.kick = make(chan struct{}, 1)
	}
	w.entries[e] = struct{}{}
	if !w.running {
		w.running = true
		go w.loop()
	}
	w.mu.Unlock()
	return func() { w.remove(e) }
}

// remove stops watching e; it reports whether e was still watched.
func (w *Watcher) remove(e *entry) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.entries[e]; !ok {
		return false
	}
	delete(w.entries, e)
	if len(w.entries) == 0 {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// Watching is the number of connections watched (for tests).
func (w *Watcher) Watching() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.entries)
}

func (w *Watcher) interval() time.Duration {
	if w.Interval > 0 {
		return w.Interval
	}
	return DefaultInterval
}

// loop polls every interval until nothing is watched.
func (w *Watcher) loop() {
	t := time.NewTicker(w.interval())
	defer t.Stop()
	var batch []*entry
	for {
		select {
		case <-t.C:
		case <-w.kick:
		}
		w.mu.Lock()
		if len(w.entries) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		batch = batch[:0]
		for e := range w.entries {
			batch = append(batch, e)
		}
		w.mu.Unlock()
		for _, e := range goneOf(batch) {
			if w.remove(e) {
				e.gone()
			}
		}
		clear(batch) // drop the references until the next round
	}
}
