package ws

import (
	"context"
	"time"

	"github.com/coder/websocket"

	"wscalc/session"
)

// A connection's background work (idle timeout, pings, shutdown; presence pushes are the
// outbox's) runs on a timer and short-lived goroutines rather than on a goroutine per
// connection that would mostly sleep: an idle connection then costs one parked goroutine,
// its reader.

// beginLive starts the timer and the presence pushes once the session is greeted. A
// shutdown that began before is carried out now.
func (c *conn) beginLive() {
	c.mu.Lock()
	c.nextPing = time.Now().Add(c.h.cfg.PingInterval)
	c.timer = time.AfterFunc(min(c.h.cfg.Session.IdleTimeout, c.h.cfg.PingInterval), c.onTimer(c.tick))
	c.mu.Unlock()
	c.out.Open()
}

// stop ends the timer, the pushes and any ping, and waits for the helpers in progress.
func (c *conn) stop() {
	c.mu.Lock()
	c.ended = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.pingCancel != nil {
		c.pingCancel()
	}
	c.mu.Unlock()
	c.out.Stop()
	c.helpers.Wait()
	c.out.Wait()
}

// onTimer wraps a timer callback: it does nothing once the session is ending, run waits
// for it, and a panic in it costs the session, never the process.
func (c *conn) onTimer(f func()) func() {
	return func() {
		if !c.addHelper() {
			return
		}
		defer c.helpers.Done()
		defer func() {
			if v := recover(); v != nil {
				c.helperPanicked(v)
			}
		}()
		f()
	}
}

// addHelper counts a helper in, unless the session is ending (then run no longer waits).
func (c *conn) addHelper() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.helpers.Add(1)
	return true
}

// helperPanicked ends the session after a panic on a timer or helper goroutine.
func (c *conn) helperPanicked(v any) {
	c.sess.Recovered(v)
	c.forceClose(session.ReasonInternal)
}

// tick is the connection's timer: it closes the session once it has been idle for the
// idle timeout, and pings every ping interval.
func (c *conn) tick() {
	now := time.Now()
	idleLeft := c.h.cfg.Session.IdleTimeout - now.Sub(time.Unix(0, c.lastMsg.Load()))
	if idleLeft <= 0 {
		c.requestClose(websocket.StatusPolicyViolation, session.ReasonIdle)
		return
	}
	if c.sess.Closing() {
		return // closing: neither idle nor pings matter any more
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	ping := !now.Before(c.nextPing)
	if ping {
		c.nextPing = now.Add(c.h.cfg.PingInterval)
	}
	c.timer.Reset(min(idleLeft, c.nextPing.Sub(now)))
	c.mu.Unlock()
	if ping {
		c.ping()
	}
}

// ping sends a ping without blocking the timer (the library waits for the pong, which only
// arrives while the reader reads). The ping exists to keep proxies from closing a quiet
// connection; a late pong is not fatal, because the reader may be queued behind the
// evaluation gate. Dead peers are found by the write timeout and the idle timeout. A ping
// is a control frame, which the library may send between two messages of the outbox.
func (c *conn) ping() {
	c.mu.Lock()
	if c.pingCancel != nil {
		c.mu.Unlock()
		return // the previous ping is still waiting for its pong
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.Session.WriteTimeout)
	c.pingCancel = cancel
	c.mu.Unlock()
	done := func() {
		cancel()
		c.mu.Lock()
		c.pingCancel = nil
		c.mu.Unlock()
	}
	if !c.addHelper() {
		done()
		return
	}
	go func() {
		defer c.helpers.Done()
		defer func() {
			if v := recover(); v != nil {
				c.helperPanicked(v)
			}
		}()
		defer done()
		_ = c.ws.Ping(ctx) // a write that times out closes the connection, like any write
	}()
}

// Drain begins the session's shutdown (session.Member): from now on its reads return only
// what has already arrived, so it answers every message the client sent before, then
// closes with 1001 (see readFailed). It never blocks.
func (c *conn) Drain() { c.sock.drain() }

// Force drops the session's connection at once (session.Member).
func (c *conn) Force() { c.forceClose(session.ReasonClosed) }
