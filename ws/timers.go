package ws

import (
	"context"
	"time"

	"github.com/coder/websocket"

	"wscalc/wire"
)

// A session's background work (idle timeout, pings, presence pushes, shutdown) runs on
// timers and short-lived goroutines rather than on a goroutine per session that would
// mostly sleep: an idle session then costs one parked goroutine, its reader.

// addHelper counts a helper in, unless the session is ending (then run no longer waits).
func (s *session) addHelper() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	s.helpers.Add(1)
	return true
}

// onTimer wraps a timer callback: it does nothing once the session is ending, is waited
// for by run, and a panic in it costs the session, never the process.
func (s *session) onTimer(f func()) func() {
	return func() {
		if !s.addHelper() {
			return
		}
		defer s.helpers.Done()
		defer s.recoverHelper()
		f()
	}
}

// goHelper runs f on a goroutine of its own, as onTimer runs a callback.
func (s *session) goHelper(f func()) {
	if !s.addHelper() {
		return
	}
	go func() {
		defer s.helpers.Done()
		defer s.recoverHelper()
		f()
	}()
}

func (s *session) recoverHelper() {
	if v := recover(); v != nil {
		s.logPanic(v)
		s.forceClose("internal error")
	}
}

// tick is the session timer: it closes the session once it has been idle for the idle
// timeout, and pings every ping interval.
func (s *session) tick() {
	now := time.Now()
	idleLeft := s.h.opts.IdleTimeout - now.Sub(time.Unix(0, s.lastMsg.Load()))
	if idleLeft <= 0 {
		s.requestClose(websocket.StatusPolicyViolation, "idle timeout")
		return
	}
	s.mu.Lock()
	if s.closeCode != 0 || s.ended {
		s.mu.Unlock()
		return // closing: neither idle nor pings matter any more
	}
	ping := !now.Before(s.nextPing)
	if ping {
		s.nextPing = now.Add(s.h.opts.PingInterval)
	}
	s.timer.Reset(min(idleLeft, s.nextPing.Sub(now)))
	s.mu.Unlock()
	if ping {
		s.ping()
	}
}

// ping sends a ping without blocking the timer (the library waits for the pong, which only
// arrives while the reader reads). The ping exists to keep proxies from closing a quiet
// connection; a late pong is not fatal, because the reader may be queued behind the
// evaluation gate. Dead peers are found by the write timeout and the idle timeout.
func (s *session) ping() {
	s.mu.Lock()
	if s.pingCancel != nil {
		s.mu.Unlock()
		return // the previous ping is still waiting for its pong
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.h.writeTimeout)
	s.pingCancel = cancel
	s.mu.Unlock()
	done := func() {
		cancel()
		s.mu.Lock()
		s.pingCancel = nil
		s.mu.Unlock()
	}
	if !s.addHelper() {
		done()
		return
	}
	go func() {
		defer s.helpers.Done()
		defer s.recoverHelper()
		defer done()
		_ = s.conn.Ping(ctx) // a write that times out closes the connection, like any write
	}()
}

// drain begins the session's shutdown: from now on its reads return only what has
// already arrived, so it answers every message the client sent before, then closes with
// 1001 (see readFailed). It never blocks.
func (s *session) drain() { s.out.drain() }

// presenceChanged is called by the Handler's presence goroutine when the counts change.
// Changes are coalesced: one push at most every presenceInterval, carrying the counts of
// the moment it is sent, so the last state always gets through.
func (s *session) presenceChanged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live || s.pushState != pushIdle || s.ended {
		s.changed = true // pushed when the session goes live or the push in progress ends
		return
	}
	s.schedulePushLocked()
}

func (s *session) schedulePushLocked() {
	s.changed = false
	s.pushState = pushScheduled
	d := max(0, presenceInterval-time.Since(s.lastPush))
	if s.push == nil {
		s.push = time.AfterFunc(d, s.onTimer(s.pushNow))
		return
	}
	s.push.Reset(d)
}

// pushNow is the push timer: it sends the current counts, then schedules the next push
// if they changed meanwhile.
func (s *session) pushNow() {
	s.mu.Lock()
	if s.closeCode != 0 {
		s.pushState = pushIdle
		s.mu.Unlock()
		return // closing: no more pushes
	}
	s.pushState = pushing
	s.changed = false
	s.mu.Unlock()

	ok := s.pushPresence()

	s.mu.Lock()
	s.pushState = pushIdle
	if ok && s.changed && !s.ended {
		s.schedulePushLocked()
	}
	s.mu.Unlock()
}

// pushPresence sends the current counts if they differ from the last ones sent.
func (s *session) pushPresence() bool {
	c := s.h.hub.Counts()
	if c == s.sent {
		return true
	}
	s.mu.Lock()
	s.lastPush = time.Now()
	s.mu.Unlock()
	if s.writeJSON(wire.Clients{Type: "clients", Counts: c}) != nil {
		return false
	}
	s.sent = c
	return true
}
