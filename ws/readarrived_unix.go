//go:build unix

package ws

import (
	"io"
	"os"
	"syscall"
)

// readArrived reads what has already arrived, without waiting: errNoMoreInput if nothing
// has. Without a raw connection it cannot tell, so it reads nothing more (the messages the
// library has buffered are still answered).
func (c *batchConn) readArrived(p []byte) (int, error) {
	if c.raw == nil || len(p) == 0 {
		return 0, errNoMoreInput
	}
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			switch {
			case rerr == syscall.EINTR:
				continue
			case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK:
				n, rerr = 0, errNoMoreInput
			case rerr != nil:
				n, rerr = 0, os.NewSyscallError("read", rerr)
			case n == 0:
				rerr = io.EOF
			}
			return true // never wait
		}
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}
