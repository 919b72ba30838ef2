package ws

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// batchBytes is how much a batch of replies may hold before it is written at once.
	batchBytes = 4 << 10
	// maxHold bounds how long a reply may wait in a batch, whatever the session is doing
	// meanwhile (an evaluation may take a second, or wait for the evaluation gate).
	maxHold = time.Millisecond
	// deadlineSlack: a write gets at least 1 − 1/deadlineSlack of the write timeout.
	deadlineSlack = 8
)

// batchConn is the hijacked connection as the library sees it. It does three things for
// every session at the socket, below the library, where they cost least:
//
//   - Batching. The library writes (and flushes) each message on its own, so a client
//     that pipelines would cost one write(2) per reply, most of a reply's cost. Instead,
//     messages are held while the session is busy and written together when it next needs
//     input from the socket: pipelined requests that arrived together get their replies
//     in one write, as on the line protocol. A write that happens while the session waits
//     for input goes out at once, and nothing is held longer than maxHold or beyond
//     batchBytes, nor past Close.
//
//   - Holding. A room member's messages arrive while its session waits for input, so each
//     would go out at once, and a message longer than the library's small write buffer
//     (libraryWriteBuf) in two writes (its start, then the rest at the frame's flush):
//     two system calls per event per member. While a room's messages are being delivered
//     (hold), they are queued, and written together when the delivery is over.
//
//   - The write timeout. Every write to the socket gets a deadline (at least 7/8 of the
//     timeout away), so a client that stops reading cannot hold its session for ever; the
//     session then writes with a context that never ends, and the library arms no timer
//     per message.
//
//   - Draining at shutdown. After drain, a Read never waits: it returns what has already
//     arrived (in the kernel's socket buffer), and errNoMoreInput once there is nothing
//     more, so that the session answers every message the client sent before the server
//     stopped and then closes (see session.readFailed). A Read blocked when drain is called is
//     woken (a read deadline in the past) and goes on in that mode. The rest of a message
//     whose start has been read (inMessage) is waited for, bounded by the shutdown
//     timeout: the message was sent before the server stopped, and a message cut short
//     would leave the close handshake out of step with the stream.
//
// The library serializes its writes and its reads; mu orders them with the batch.
type batchConn struct {
	net.Conn
	timeout time.Duration
	raw     syscall.RawConn // for reads that must not wait (drain); nil if the conn has none
	// inMessage is set by the session while it reads a message it has begun.
	inMessage atomic.Bool

	mu       sync.Mutex
	pending  *[]byte     // messages not written yet (a pooled buffer), nil if none
	reading  bool        // a Read is waiting for the socket: writes go out at once
	held     int         // holds in progress (hold): writes wait for the last release
	err      error       // the first failed write; the connection is dead after it
	timer    *time.Timer // writes the batch after maxHold; created on first use
	deadline time.Time   // the write deadline set last
	draining drainState
}

// drainState is where a connection stands in the shutdown drain.
type drainState uint8

const (
	notDraining drainState = iota
	drainWoken             // drain was called: the read deadline is in the past
	drainReady             // the reader has cleared that deadline: reads do not wait
	drainDone              // the session is closing: reads wait again (close handshake)
)

// errNoMoreInput is what a Read returns, after drain, once everything that had arrived has
// been read.
var errNoMoreInput = errors.New("ws: no more input before shutdown")

func newBatchConn(c net.Conn, timeout time.Duration) *batchConn {
	b := &batchConn{Conn: c, timeout: timeout}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			b.raw = rc
		}
	}
	return b
}

// drain switches reads to draining (see batchConn) and wakes a Read that waits.
func (c *batchConn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining == notDraining {
		c.draining = drainWoken
		_ = c.Conn.SetReadDeadline(time.Now())
	}
}

// endDrain lets reads wait again, for the close handshake that follows the drain.
func (c *batchConn) endDrain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining != notDraining {
		c.draining = drainDone
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
}

// drainMode reports whether reads must not wait, clearing the wake-up deadline the first
// time (a deadline in the past would fail even a read of data that is there).
func (c *batchConn) drainMode() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.draining {
	case drainWoken:
		_ = c.Conn.SetReadDeadline(time.Time{})
		c.draining = drainReady
		return true
	case drainReady:
		return true
	}
	return false
}

// Write queues p, or writes it at once (with what is queued before it) if the session is
// waiting for input or the batch is full.
func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.pending == nil {
		if c.reading && c.held == 0 {
			return c.write(p)
		}
		c.pending = getBuf()
		c.arm()
	}
	*c.pending = append(*c.pending, p...)
	if (c.reading && c.held == 0) || len(*c.pending) >= batchBytes {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// hold makes writes wait, even while the session waits for input, until release: what is
// written meanwhile goes out in one write (batchBytes and maxHold still bound it). Holds
// nest.
func (c *batchConn) hold() {
	c.mu.Lock()
	c.held++
	c.mu.Unlock()
}

// release ends a hold; the last one writes the batch if the session waits for input (else
// it goes out as a batch does: when the session next reads, or after maxHold).
func (c *batchConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held--
	if c.held == 0 && c.reading {
		return c.flushLocked()
	}
	return c.err
}

// Read writes the batch, then reads from the socket: the session is about to wait for
// input, and the client may be waiting for these replies before it sends more. A failed
// write fails the read too, so that the session ends.
func (c *batchConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if err := c.flushLocked(); err != nil {
		c.mu.Unlock()
		return 0, err
	}
	c.reading = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reading = false
		c.mu.Unlock()
	}()
	for {
		if c.drainMode() && !c.inMessage.Load() {
			return c.readArrived(p)
		}
		n, err := c.Conn.Read(p)
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) && c.drainMode() {
			continue // woken by drain
		}
		return n, err
	}
}

// Close writes the batch (a close frame may be in it), then closes the connection.
func (c *batchConn) Close() error {
	c.mu.Lock()
	_ = c.flushLocked()
	c.mu.Unlock()
	return c.Conn.Close()
}

// writeErr returns the error of the write that failed, if one did.
func (c *batchConn) writeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// arm starts the timer that bounds how long the new batch waits.
func (c *batchConn) arm() {
	if c.timer == nil {
		c.timer = time.AfterFunc(maxHold, c.flushHeld)
		return
	}
	c.timer.Reset(maxHold)
}

func (c *batchConn) flushHeld() {
	c.mu.Lock()
	_ = c.flushLocked()
	c.mu.Unlock()
}

// flushLocked writes the batch, if any, and releases its buffer.
func (c *batchConn) flushLocked() error {
	if c.pending == nil {
		return c.err
	}
	buf := c.pending
	c.pending = nil
	c.timer.Stop()
	if c.err == nil {
		_, c.err = c.write(*buf)
	}
	putBuf(buf)
	return c.err
}

// write writes p to the socket within the write timeout: a write has at least 7/8 of the
// timeout (1 − 1/deadlineSlack). The deadline is moved only when the one set before
// leaves less than that: setting it costs a timer update in the runtime, 4 % of the CPU of
// a room's fan-out, where every member gets a write per event.
func (c *batchConn) write(p []byte) (int, error) {
	if now := time.Now(); c.deadline.Sub(now) < c.timeout-c.timeout/deadlineSlack {
		c.deadline = now.Add(c.timeout)
		if err := c.Conn.SetWriteDeadline(c.deadline); err != nil {
			c.err = err
			return 0, err
		}
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}
