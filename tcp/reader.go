package tcp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// errNoMoreInput is returned by reads in draining mode when everything that had arrived
// has been read.
var errNoMoreInput = errors.New("tcp: no more input before shutdown")

// scan is what the read buffer holds, as scanLine found it.
type scan uint8

const (
	lineReady scan = iota // a complete line
	needMore              // no complete line yet
	tooLong               // the buffer is full without a newline: a line over the limit
)

// scanLine returns the next complete line in the read buffer without its LF and the CR
// before it, or says that there is none yet (needMore) or that the buffer is full without
// a newline (tooLong). The line aliases the read buffer: it is valid until the next read.
// The bytes already searched are remembered (c.scanned), so slow senders cost O(n).
func (c *conn) scanLine() ([]byte, scan) {
	buf := c.in.bytes()
	if i := bytes.IndexByte(buf[c.scanned:], '\n'); i >= 0 {
		line := buf[:c.scanned+i]
		c.in.discard(len(line) + 1)
		c.scanned = 0
		return bytes.TrimSuffix(line, []byte{'\r'}), lineReady
	}
	c.scanned = len(buf)
	if len(buf) == c.in.size {
		c.scanned = 0 // the caller discards the line
		return nil, tooLong
	}
	return nil, needMore
}

// lastLine turns the end of input (err) into a last line, if one without a newline is
// buffered; false for any other error.
func (c *conn) lastLine(err error) ([]byte, bool) {
	if !errors.Is(err, io.EOF) || c.in.buffered() == 0 {
		return nil, false
	}
	line := c.in.bytes()
	c.in.discard(len(line))
	c.scanned = 0
	return bytes.TrimSuffix(line, []byte{'\r'}), true
}

// discardLine throws away input up to and including the next newline, never holding more
// than the read buffer.
func (c *conn) discardLine() error {
	for {
		buf := c.in.bytes()
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			c.in.discard(i + 1)
			return nil
		}
		c.in.discard(len(buf))
		if _, err := c.more(false); err != nil {
			return err
		}
	}
}

// more flushes the pending replies (the client may be waiting for them before it sends
// anything else), then waits until at least one more byte is buffered. With mayHandOn, a
// long wait ends early with handOn (see stackReset).
func (c *conn) more(mayHandOn bool) (handOn bool, err error) {
	c.watch.End()
	// A room member's lines are also written by its room's sender: look under the outbox.
	if c.sess.RoomSide() || c.w.buffered() > 0 {
		if err := c.flush(); err != nil {
			return false, writeError{err}
		}
	}
	c.armRead(mayHandOn)
	c.idleWait = mayHandOn
	return c.await()
}

// await waits until at least one more byte is buffered. A read woken by Shutdown switches
// the session to draining and tries again; one woken to hand the connection on to a fresh
// goroutine returns handOn.
func (c *conn) await() (handOn bool, err error) {
	defer c.recoverRead(&err) // it runs outside serveInput's recovery
	for {
		err := c.fill()
		if err == nil {
			return false, nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && !c.draining {
			if c.shutdownRequested() {
				c.armRead(false)
				continue // woken by Shutdown: from now on, read only what has arrived
			}
			if time.Now().Before(c.idleAt) {
				return true, nil
			}
		}
		return false, err
	}
}

// lineBuffer is the connection's read buffer: room for one line at the limit plus its CR
// LF, so that a full buffer without a newline is certainly a line over the limit. It is
// taken from a pool when input arrives and given back when the session has answered all
// of it and waits for more, so an idle connection holds none (see fill).
type lineBuffer struct {
	size int
	p    *[]byte // nil while the buffer is given back
	r, w int     // unread input is (*p)[r:w]
}

// readBufs holds the read buffers of the connections that have input to answer.
var readBufs sync.Pool

func (b *lineBuffer) buffered() int { return b.w - b.r }

// bytes returns the unread input; it aliases the buffer, valid until the next fill.
func (b *lineBuffer) bytes() []byte {
	if b.p == nil {
		return nil
	}
	return (*b.p)[b.r:b.w]
}

func (b *lineBuffer) discard(n int) { b.r += n }

// space returns the free room at the end of the buffer, taking a buffer if it has none.
func (b *lineBuffer) space() []byte {
	if b.p == nil {
		b.p, _ = readBufs.Get().(*[]byte)
		if b.p == nil || cap(*b.p) != b.size { // a server with another line limit put it
			p := make([]byte, b.size)
			b.p = &p
		}
	}
	return (*b.p)[b.w:b.size]
}

// release gives the buffer back if it holds no unread input.
func (b *lineBuffer) release() {
	if b.p != nil && b.r == b.w {
		readBufs.Put(b.p)
		b.p, b.r, b.w = nil, 0, 0
	}
}

// fill reads at least one more byte of input into the buffer, or fails. The lines handed
// out so far are done with (they alias the buffer): unread input moves to the front, and
// an empty buffer is given back if the read must wait for input and c.idleWait says the
// wait may be long (see readOnce).
func (c *conn) fill() error {
	b := &c.in
	if b.r > 0 {
		b.w = copy(*b.p, (*b.p)[b.r:b.w])
		b.r = 0
	}
	n, err := c.read()
	b.w += n
	if n > 0 {
		return nil // an error comes back with the next read
	}
	return err
}

// readPlain reads with net.Conn.Read, for connections without a RawConn: in draining mode
// it cannot tell what has arrived without waiting, so it reads nothing more.
func (c *conn) readPlain() (int, error) {
	if c.draining {
		return 0, errNoMoreInput
	}
	return c.rwc.Read(c.in.space())
}
