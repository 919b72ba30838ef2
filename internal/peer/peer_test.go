//go:build linux

package peer

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair returns the server's and the client's ends of a loopback TCP connection.
func pair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	s, err := l.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

// watch watches server in mode and returns a channel closed when it is found gone.
func watch(t *testing.T, w *Watcher, server net.Conn, mode Mode) (<-chan struct{}, func()) {
	t.Helper()
	gone := make(chan struct{})
	stop := w.Watch(server, mode, func() { close(gone) })
	t.Cleanup(stop)
	return gone, stop
}

func requireGone(t *testing.T, gone <-chan struct{}) {
	t.Helper()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the peer's departure was not noticed")
	}
}

// requireNotGone waits several polls and requires that nothing was noticed.
func requireNotGone(t *testing.T, gone <-chan struct{}) {
	t.Helper()
	select {
	case <-gone:
		t.Fatal("a peer that is still there was taken for gone")
	case <-time.After(10 * DefaultInterval):
	}
}

func TestResetIsGoneInEveryMode(t *testing.T) {
	for _, mode := range []Mode{HangUp, ReadHangUp} {
		w := new(Watcher)
		server, client := pair(t)
		gone, _ := watch(t, w, server, mode)
		requireNotGone(t, gone)
		require.NoError(t, client.SetLinger(0)) // close with RST
		require.NoError(t, client.Close())
		requireGone(t, gone)
		require.Eventually(t, func() bool { return w.Watching() == 0 }, time.Second, time.Millisecond)
	}
}

// nc -N half-closes after its lines and still reads the replies: not gone for the line
// protocol. A WebSocket client never half-closes: gone.
func TestHalfCloseIsGoneOnlyForReadHangUp(t *testing.T) {
	server, client := pair(t)
	gone, _ := watch(t, new(Watcher), server, HangUp)
	_, err := client.Write([]byte("1+1\n"))
	require.NoError(t, err)
	require.NoError(t, client.CloseWrite())
	requireNotGone(t, gone)
	buf := make([]byte, 4)
	n, err := server.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "1+1\n", string(buf[:n]), "the watch consumed nothing")

	server, client = pair(t)
	gone, _ = watch(t, new(Watcher), server, ReadHangUp)
	require.NoError(t, client.CloseWrite())
	requireGone(t, gone)

	// A full close with nothing unread on the client's side is a FIN too.
	server, client = pair(t)
	gone, _ = watch(t, new(Watcher), server, ReadHangUp)
	require.NoError(t, client.Close())
	requireGone(t, gone)
}

func TestPendingInputIsNotGone(t *testing.T) {
	for _, mode := range []Mode{HangUp, ReadHangUp} {
		server, client := pair(t)
		gone, _ := watch(t, new(Watcher), server, mode)
		_, err := client.Write([]byte("pending"))
		require.NoError(t, err)
		requireNotGone(t, gone)
	}
}

func TestGoneBeforeWatchIsNoticedAtOnce(t *testing.T) {
	server, client := pair(t)
	require.NoError(t, client.SetLinger(0))
	require.NoError(t, client.Close())
	time.Sleep(10 * time.Millisecond) // let the RST arrive
	w := new(Watcher)
	called := false
	w.Watch(server, HangUp, func() { called = true })()
	assert.True(t, called)
	assert.Zero(t, w.Watching())

	// So is a connection closed on the server's side.
	server, _ = pair(t)
	server.Close()
	called = false
	w.Watch(server, HangUp, func() { called = true })()
	assert.True(t, called)
}

func TestStopEndsTheWatch(t *testing.T) {
	w := new(Watcher)
	var stops []func()
	var gones []<-chan struct{}
	var clients []*net.TCPConn
	for range 3 {
		server, client := pair(t)
		gone, stop := watch(t, w, server, ReadHangUp)
		stops, gones, clients = append(stops, stop), append(gones, gone), append(clients, client)
	}
	assert.Equal(t, 3, w.Watching())
	stops[0]()
	stops[0]()
	clients[0].Close()
	requireNotGone(t, gones[0])
	// One poll serves several connections.
	clients[1].Close()
	clients[2].Close()
	requireGone(t, gones[1])
	requireGone(t, gones[2])
	// Nothing left to watch: the goroutine ends (goleak checks it).
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return !w.running
	}, time.Second, time.Millisecond)
}

func TestUnwatchableConnections(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := new(Watcher)
	w.Watch(a, ReadHangUp, func() { t.Error("a pipe cannot be watched") })()
	assert.Zero(t, w.Watching())
}
