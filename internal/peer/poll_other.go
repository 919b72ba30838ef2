//go:build !linux

package peer

import "syscall"

// supported is false: without POLLRDHUP a socket cannot be polled for the peer's hang-up
// without reading it, so nothing is watched.
const supported = false

func goneNow(syscall.RawConn, Mode) bool { return false }

func goneOf([]*entry) []*entry { return nil }
