package tcp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"time"
)

// errNoMoreInput is returned by reads in draining mode when everything that had arrived
// has been read.
var errNoMoreInput = errors.New("tcp: no more input before shutdown")

// scanLine returns the next complete line in the read buffer without its LF and the CR
// before it; errNeedMore if there is none yet, or errLineTooLong when the buffer is full
// without a newline. The line aliases the read buffer: it is valid until the next read.
// The bytes already searched are remembered (c.scanned), so slow senders cost O(n).
func (c *conn) scanLine() ([]byte, error) {
	buf, _ := c.r.Peek(c.r.Buffered())
	if i := bytes.IndexByte(buf[c.scanned:], '\n'); i >= 0 {
		line := buf[:c.scanned+i]
		c.r.Discard(len(line) + 1)
		c.scanned = 0
		return bytes.TrimSuffix(line, []byte{'\r'}), nil
	}
	c.scanned = len(buf)
	if len(buf) == c.r.Size() {
		c.scanned = 0 // the caller discards the line
		return nil, errLineTooLong
	}
	return nil, errNeedMore
}

// lastLine turns the end of input into a last line, if one without a newline is
// buffered; any other error is returned as it is.
func (c *conn) lastLine(err error) ([]byte, error) {
	if !errors.Is(err, io.EOF) || c.r.Buffered() == 0 {
		return nil, err
	}
	line, _ := c.r.Peek(c.r.Buffered())
	c.r.Discard(len(line))
	c.scanned = 0
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// discardLine throws away input up to and including the next newline, never holding more
// than the read buffer.
func (c *conn) discardLine() error {
	for {
		buf, _ := c.r.Peek(c.r.Buffered())
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			c.r.Discard(i + 1)
			return nil
		}
		c.r.Discard(len(buf))
		if err := c.more(false); err != nil {
			return err
		}
	}
}

// more flushes the pending replies (the client may be waiting for them before it sends
// anything else), then waits until at least one more byte is buffered. With handOn, a
// long wait ends early with errHandOn (see stackReset).
func (c *conn) more(handOn bool) error {
	if c.w.buffered() > 0 {
		if err := c.w.flush(); err != nil {
			return writeError{err}
		}
	}
	c.armRead(handOn)
	return c.await()
}

// await waits until at least one more byte is buffered. A read woken by Shutdown switches
// the session to draining and tries again; one woken to hand on returns errHandOn.
func (c *conn) await() (err error) {
	defer c.recoverRead(&err) // it runs outside serveInput's recovery
	for {
		_, err := c.r.Peek(c.r.Buffered() + 1)
		if err == nil {
			return nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && !c.draining {
			if c.shutdownRequested() {
				c.armRead(false)
				continue // woken by Shutdown: from now on, read only what has arrived
			}
			if time.Now().Before(c.idleAt) {
				return errHandOn
			}
		}
		return err
	}
}

// connReader is the source of the read buffer: the connection, or in draining mode only
// what has already arrived.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	if r.c.draining {
		return readAvailable(r.c.rwc, p)
	}
	return r.c.rwc.Read(p)
}
