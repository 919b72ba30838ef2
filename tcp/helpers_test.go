package tcp_test

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"wscalc/internal/logtest"
	"wscalc/internal/metricstest"
	"wscalc/metrics"
	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
	"wscalc/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// patience bounds every wait of the tests so that a bug shows as a failure, not a hang.
// It is a guard, not a speed assertion.
const patience = 10 * time.Second

const httpAddr = "127.0.0.1:8080"

// testServer is a tcp.Server serving on a loopback port.
type testServer struct {
	srv      *tcp.Server
	presence *presence.Presence
	metrics  *metrics.Metrics
	addr     string
	logs     *logtest.Buffer

	serveOnce sync.Once
	served    chan error
	serveErr  error
}

// start serves a new tcp.Server on 127.0.0.1:0; configure may change its fields first.
// The server is closed when the test ends.
func start(t testing.TB, configure func(*tcp.Config)) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return serve(t, l, configure)
}

// startSmallBuffers is start with small kernel socket buffers on the server's side, so
// that a client that does not read blocks the server's writes after a few replies
// instead of megabytes of them.
func startSmallBuffers(t testing.TB, configure func(*tcp.Config)) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return serve(t, smallBufferListener{l}, configure)
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
		tc.SetReadBuffer(4096)
	}
	return c, err
}

func serve(t testing.TB, l net.Listener, configure func(*tcp.Config)) *testServer {
	t.Helper()
	logs := &logtest.Buffer{}
	m := metrics.New()
	p := presence.New(m)
	cfg := tcp.Config{
		Session: session.Config{
			Presence: p,
			Sched:    sched.New(sched.Options{Metrics: m}),
			Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
		},
		HTTPAddr: httpAddr,
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := tcp.New(cfg)
	require.NoError(t, err)
	ts := &testServer{srv: srv, presence: p, metrics: m, addr: l.Addr().String(), logs: logs, served: make(chan error, 1)}
	go func() { ts.served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		require.ErrorIs(t, ts.serveResult(t), tcp.ErrServerClosed)
	})
	return ts
}

// serveResult waits for Serve to return and gives its error.
func (ts *testServer) serveResult(t testing.TB) error {
	t.Helper()
	ts.serveOnce.Do(func() {
		select {
		case ts.serveErr = <-ts.served:
		case <-time.After(patience):
			ts.serveErr = errors.New("Serve did not return")
		}
	})
	return ts.serveErr
}

// client is a line-protocol client.
type client struct {
	t    testing.TB
	conn *net.TCPConn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, patience)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn.(*net.TCPConn), r: bufio.NewReader(conn)}
}

// send writes s as is.
func (c *client) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(patience))
	_, err := io.WriteString(c.conn, s)
	require.NoError(c.t, err)
}

// line reads one reply line, without its newline.
func (c *client) line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(patience))
	s, err := c.r.ReadString('\n')
	require.NoError(c.t, err, "after %q", s)
	return strings.TrimSuffix(s, "\n")
}

// ask sends one line and returns its reply.
func (c *client) ask(line string) string {
	c.t.Helper()
	c.send(line + "\n")
	return c.line()
}

// expect reads len(want) lines and compares them with want.
func (c *client) expect(want ...string) {
	c.t.Helper()
	got := make([]string, 0, len(want))
	for range want {
		got = append(got, c.line())
	}
	require.Equal(c.t, want, got)
}

// expectEOF requires the server to have closed the connection cleanly, with nothing
// more to read; then the client closes its side too, as nc does.
func (c *client) expectEOF() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(patience))
	rest, err := io.ReadAll(c.r)
	require.NoError(c.t, err, "want a clean close")
	require.Empty(c.t, string(rest), "unexpected data before the close")
	c.conn.Close()
}

// endOf returns the "session end" record of the session whose remote address is the
// client's local address. It waits for it: a session closed by Close may log after its
// client has noticed.
func endOf(t *testing.T, b *logtest.Buffer, c *client) map[string]any {
	t.Helper()
	local := c.conn.LocalAddr().String()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, rec := range b.Records(t, "session end") {
			if rec["remote"] == local {
				return rec
			}
		}
	}
	t.Fatalf("no session end logged for %s in:\n%s", local, b.String())
	return nil
}

// rejected is the number of TCP connections refused for reason, from the metrics.
func (ts *testServer) rejected(t *testing.T, reason string) int {
	return int(metricstest.Counter(t, ts.metrics.Registry, "wscalc_rejected_sessions_total",
		map[string]string{"transport": "tcp", "reason": reason}))
}

// dialFrom connects to addr from the loopback address local, as another client machine
// would (127.0.0.0/8 is all loopback on Linux).
func dialFrom(t testing.TB, local, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: patience}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn.(*net.TCPConn), r: bufio.NewReader(conn)}
}
