//go:build !unix

package tcp

import "net"

// readAvailable would read what has already arrived without waiting; without a portable
// non-blocking read, only the lines already in the session's buffer are answered at
// shutdown.
func readAvailable(net.Conn, []byte) (int, error) { return 0, errNoMoreInput }
