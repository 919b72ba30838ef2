//go:build unix

package tcp

import (
	"io"
	"net"
	"syscall"
)

// readAvailable reads what the kernel has already received for c without waiting for
// more: at shutdown, lines the client sent before the server stopped are still answered
// even if they had not reached the session's buffer. It returns errNoMoreInput when
// nothing is left, and io.EOF at end of input.
func readAvailable(c net.Conn, p []byte) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, errNoMoreInput
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, errNoMoreInput
	}
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr != syscall.EINTR {
				return true // done either way: returning false would wait for input
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK:
		return 0, errNoMoreInput
	case rerr != nil:
		return 0, rerr
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}
