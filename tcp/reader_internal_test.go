package tcp

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pipe returns a server-side conn (as Serve makes it) and the client end of a loopback
// TCP connection.
func pipe(t *testing.T) (*conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	server, err := l.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { server.Close() })
	c := (&Server{}).newConn(server)
	require.NotNil(t, c.raw, "reads go through the RawConn")
	return c, client
}

// fillBy fills as a session that waits for its next request does, with a deadline so
// that a wait for input that never comes ends.
func fillBy(c *conn, d time.Duration) error {
	c.rwc.SetReadDeadline(time.Now().Add(d))
	c.idleWait = true
	return c.fill()
}

func TestReadBufferIsHeldOnlyWhileInputIsUnanswered(t *testing.T) {
	c, client := pipe(t)
	require.Nil(t, c.in.p, "a new connection holds no read buffer")

	_, err := client.Write([]byte("1 + 1\n2 +"))
	require.NoError(t, err)
	for c.in.buffered() < len("1 + 1\n2 +") {
		require.NoError(t, fillBy(c, 10*time.Second))
	}
	line, st := c.scanLine()
	require.Equal(t, lineReady, st)
	require.Equal(t, "1 + 1", string(line))
	_, st = c.scanLine()
	require.Equal(t, needMore, st)

	// A partial line keeps the buffer through a wait.
	require.ErrorIs(t, fillBy(c, 20*time.Millisecond), os.ErrDeadlineExceeded)
	require.NotNil(t, c.in.p)
	require.Equal(t, "2 +", string(c.in.bytes()))

	// Once everything is answered, the wait for more gives the buffer back.
	_, err = client.Write([]byte(" 3\n"))
	require.NoError(t, err)
	require.NoError(t, fillBy(c, 10*time.Second))
	for c.in.buffered() < len("2 + 3\n") {
		require.NoError(t, fillBy(c, 10*time.Second))
	}
	line, st = c.scanLine()
	require.Equal(t, lineReady, st)
	require.Equal(t, "2 + 3", string(line))
	require.ErrorIs(t, fillBy(c, 20*time.Millisecond), os.ErrDeadlineExceeded)
	require.Nil(t, c.in.p, "an idle connection holds no read buffer")

	// And takes one again when input comes.
	_, err = client.Write([]byte("4\n"))
	require.NoError(t, err)
	require.NoError(t, fillBy(c, 10*time.Second))
	require.Equal(t, "4\n", string(c.in.bytes()))
}
