package ws

import (
	"net"
	"sync"
	"time"
)

const (
	// batchBytes is how much a batch of replies may hold before it is written at once.
	batchBytes = 4 << 10
	// maxHold bounds how long a reply may wait in a batch, whatever the session is doing
	// meanwhile (an evaluation may take a second, or wait for the evaluation gate).
	maxHold = time.Millisecond
)

// batchConn is the hijacked connection as the library sees it. It does two things for
// every session at the socket, below the library, where they cost least:
//
//   - Batching. The library writes (and flushes) each message on its own, so a client
//     that pipelines would cost one write(2) per reply, most of a reply's cost. Instead,
//     messages are held while the session is busy and written together when it next needs
//     input from the socket: pipelined requests that arrived together get their replies
//     in one write, as on the line protocol. A write that happens while the session waits
//     for input goes out at once, and nothing is held longer than maxHold or beyond
//     batchBytes, nor past Close.
//   - The write timeout. Every write to the socket gets a deadline, so a client that stops
//     reading cannot hold its session for ever; the session then writes with a context
//     that never ends, and the library arms no timer per message.
//
// The library serializes its writes and its reads; mu orders them with the batch.
type batchConn struct {
	net.Conn
	timeout time.Duration

	mu      sync.Mutex
	pending *[]byte     // messages not written yet (a pooled buffer), nil if none
	reading bool        // a Read is waiting for the socket: writes go out at once
	err     error       // the first failed write; the connection is dead after it
	timer   *time.Timer // writes the batch after maxHold; created on first use
}

func newBatchConn(c net.Conn, timeout time.Duration) *batchConn {
	return &batchConn{Conn: c, timeout: timeout}
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
		if c.reading {
			return c.write(p)
		}
		c.pending = getBuf()
		c.arm()
	}
	*c.pending = append(*c.pending, p...)
	if c.reading || len(*c.pending) >= batchBytes {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
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
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.reading = false
	c.mu.Unlock()
	return n, err
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

// write writes p to the socket within the write timeout.
func (c *batchConn) write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}
