//go:build linux

package peer

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const supported = true

// pollRDHUP is Linux's POLLRDHUP (the peer shut down writing), which x/sys/unix does not
// name for poll(2); it has the value of EPOLLRDHUP.
const pollRDHUP = unix.EPOLLRDHUP

// events are the poll events asked for: none that data could raise (POLLIN), so that a
// socket with unread input does not count; POLLHUP and POLLERR are always reported.
func events(m Mode) int16 {
	if m == ReadHangUp {
		return pollRDHUP
	}
	return 0
}

func isGone(revents int16) bool {
	return revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL|pollRDHUP) != 0
}

// goneNow polls one connection.
func goneNow(rc syscall.RawConn, m Mode) bool {
	gone := false
	err := rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: events(m)}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
			gone = isGone(fds[0].Revents)
		}
	})
	return gone || err != nil // a closed connection is gone too
}

// goneOf polls the batch at once (one poll call) and returns the entries whose peer is
// gone. A descriptor is read under Control but polled after: if its connection closes
// meanwhile and the number is reused, the poll sees another connection, which can only
// make a connection that is closed anyway look gone.
func goneOf(batch []*entry) []*entry {
	var gone []*entry
	fds := make([]unix.PollFd, 0, len(batch))
	polled := make([]*entry, 0, len(batch))
	for _, e := range batch {
		err := e.rc.Control(func(fd uintptr) {
			fds = append(fds, unix.PollFd{Fd: int32(fd), Events: events(e.mode)})
		})
		if err != nil {
			gone = append(gone, e) // closed
			continue
		}
		polled = append(polled, e)
	}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return gone
		}
		break
	}
	for i, f := range fds {
		if isGone(f.Revents) {
			gone = append(gone, polled[i])
		}
	}
	return gone
}
