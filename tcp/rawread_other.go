//go:build !unix

package tcp

// useRawReads does nothing here: without a portable non-blocking read, the connection
// reads with net.Conn.Read (holding its buffer while it waits), and only the lines
// already in the session's buffer are answered at shutdown.
func (c *conn) useRawReads() {}

func (c *conn) read() (int, error) { return c.readPlain() }
