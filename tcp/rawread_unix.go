//go:build unix

package tcp

import (
	"io"
	"os"
	"syscall"
)

// useRawReads makes the connection read through its syscall.RawConn (see readOnce), if
// it has one.
func (c *conn) useRawReads() {
	sc, ok := c.rwc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.raw = rc
	c.readFn = c.readOnce // one method value per connection, not one per read
}

// read reads input into the read buffer's free room. A wait for input that may be long
// (c.idleWait) holds no buffer: the buffer is taken again once input has arrived. In draining mode it never waits:
// once everything that had arrived (in the kernel too) has been read it returns
// errNoMoreInput, so that lines the client sent before the server stopped are still
// answered. At end of input it returns io.EOF.
func (c *conn) read() (int, error) {
	if c.raw == nil {
		return c.readPlain()
	}
	c.rn, c.rerr = 0, nil
	if err := c.raw.Read(c.readFn); err != nil {
		return 0, err // a deadline, or the connection was closed
	}
	return c.rn, c.rerr
}

// readOnce is called by the RawConn whenever the socket may be readable; it reports
// whether the read is done (false: wait for input, with an empty buffer given back if the
// wait may be long).
func (c *conn) readOnce(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), c.in.space())
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			if c.draining {
				c.rerr = errNoMoreInput
				return true
			}
			if c.idleWait {
				c.in.release() // wait without it
			}
			return false
		case err != nil:
			c.rerr = os.NewSyscallError("read", err)
		case n == 0:
			c.rerr = io.EOF
		}
		if n <= 0 {
			c.in.release()
			return true
		}
		c.rn = n
		return true
	}
}
