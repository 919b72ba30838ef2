//go:build !unix

package ws

// readArrived cannot read without waiting here: it reads nothing more, and only the
// messages the library has buffered are answered at shutdown.
func (c *batchConn) readArrived(p []byte) (int, error) { return 0, errNoMoreInput }
