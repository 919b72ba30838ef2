package tcp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// errNoMoreInput is returned by reads in draining mode when everything that had arrived
// has been read.
var errNoMoreInput = errors.New("tcp: no more input before shutdown")

// readLine returns the next complete line without its LF and the CR before it, or
// errLineTooLong when the buffer is full without a newline. The line aliases the read
// buffer: it is valid until the next read. At end of input, a last line without a
// newline is returned as a line.
func (c *conn) readLine() ([]byte, error) {
	scanned := 0 // bytes already searched for a newline, so slow senders cost O(n)
	for {
		buf, _ := c.r.Peek(c.r.Buffered())
		if i := bytes.IndexByte(buf[scanned:], '\n'); i >= 0 {
			line := buf[:scanned+i]
			c.r.Discard(len(line) + 1)
			return bytes.TrimSuffix(line, []byte{'\r'}), nil
		}
		scanned = len(buf)
		if len(buf) == c.r.Size() {
			return nil, errLineTooLong
		}
		if err := c.more(); err != nil {
			if errors.Is(err, io.EOF) && c.r.Buffered() > 0 {
				line, _ := c.r.Peek(c.r.Buffered())
				c.r.Discard(len(line))
				return bytes.TrimSuffix(line, []byte{'\r'}), nil
			}
			return nil, err
		}
	}
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
		if err := c.more(); err != nil {
			return err
		}
	}
}

// more waits until at least one more byte is buffered. It first flushes the pending
// replies: the client may be waiting for them before it sends anything else. A read woken
// by Shutdown switches the session to draining and tries again.
func (c *conn) more() error {
	if c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			return writeError{err}
		}
	}
	for {
		c.armRead()
		_, err := c.r.Peek(c.r.Buffered() + 1)
		if err == nil {
			return nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && !c.draining && c.shutdownRequested() {
			continue // woken by Shutdown: from now on, read only what has arrived
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

// deadlineWriter gives every write to the connection its own deadline, so that a client
// that does not read cannot hold its session (and the memory behind it) for ever.
type deadlineWriter struct {
	conn    net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.conn.Write(p)
}
