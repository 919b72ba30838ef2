package ws_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/internal/logtest"
	"wscalc/internal/metricstest"
	"wscalc/metrics"
	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
	"wscalc/wire"
	"wscalc/ws"
)

// ioTimeout bounds every read and dial of the tests, so a missing reply fails the test
// instead of hanging it.
const ioTimeout = 10 * time.Second

// env is one Handler behind an httptest server on 127.0.0.1:0.
type env struct {
	metrics  *metrics.Metrics
	presence *presence.Presence
	h        *ws.Handler
	srv      *httptest.Server
	url      string
	logs     *logtest.Buffer
	client   *http.Client
}

type envConfig struct {
	// perAddress > 0 counts the server's connections per address with that limit
	// (admission), as wscalc's HTTP server does.
	perAddress int
	opts       func(*ws.Config)
	setup      func(*ws.Handler)
	wrap       func(http.Handler) http.Handler
}

// newEnv starts a server. At the end of the test it closes the handler and the server and
// checks that no goroutine is left behind.
func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // registered first: runs last

	m := metrics.New()
	e := &env{metrics: m, presence: presence.New(m), logs: &logtest.Buffer{}}
	opts := ws.Config{
		Session: session.Config{
			Presence: e.presence,
			Sched:    sched.New(sched.Options{Metrics: m}),
			Logger:   slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
		Version: "test-version",
	}
	if cfg.opts != nil {
		cfg.opts(&opts)
	}
	var err error
	e.h, err = ws.New(opts)
	require.NoError(t, err)
	if cfg.setup != nil {
		cfg.setup(e.h)
	}
	var handler http.Handler = e.h
	if cfg.wrap != nil {
		handler = cfg.wrap(handler)
	}
	e.srv = httptest.NewUnstartedServer(handler)
	if cfg.perAddress > 0 {
		e.srv.Listener = admission.New(cfg.perAddress).Listener(e.srv.Listener, nil)
		e.srv.Config.ConnContext = admission.ConnContext
	}
	e.srv.Start()
	e.url = "ws" + strings.TrimPrefix(e.srv.URL, "http")
	transport := &http.Transport{}
	e.client = &http.Client{Transport: transport}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range e.logs.Records(t, "session panic") {
				t.Logf("server: session panic: %v\n%v", r["panic"], r["stack"])
			}
		}
		require.NoError(t, e.h.Close())
		e.srv.Close()
		transport.CloseIdleConnections()
	})
	return e
}

// from returns dial options for a text session from the loopback address local.
func (e *env) from(t *testing.T, local string) *websocket.DialOptions {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: ioTimeout}
	transport := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(transport.CloseIdleConnections)
	return &websocket.DialOptions{HTTPClient: &http.Client{Transport: transport}}
}

// dialOpts returns options for a text (json false) or JSON session.
func (e *env) dialOpts(json bool) *websocket.DialOptions {
	o := &websocket.DialOptions{HTTPClient: e.client}
	if json {
		o.Subprotocols = []string{wire.Subprotocol}
	}
	return o
}

// dial opens a session; a JSON session's hello and first presence message are checked
// and consumed.
// The connection is dropped when t ends.
func (e *env) dial(t *testing.T, json bool) *websocket.Conn {
	t.Helper()
	c, _ := e.dialWith(t, e.dialOpts(json))
	if json {
		require.Equal(t, wire.Subprotocol, c.Subprotocol())
		hello := readMsg(t, c)
		require.Equal(t, "hello", hello.Type)
		clients := readMsg(t, c)
		require.Equal(t, "clients", clients.Type)
	}
	return c
}

func (e *env) dialWith(t *testing.T, o *websocket.DialOptions) (*websocket.Conn, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.url, o)
	require.NoError(t, err)
	c.SetReadLimit(1 << 20) // a JSON reply carries up to 301 030 digits of a value
	t.Cleanup(func() { c.CloseNow() })
	return c, resp
}

// dialErr dials expecting the handshake to be refused and returns the HTTP status.
func (e *env) dialErr(t *testing.T, o *websocket.DialOptions) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.url, o)
	if c != nil {
		c.CloseNow()
	}
	require.Error(t, err)
	require.NotNil(t, resp, "dial error: %v", err)
	return resp.StatusCode
}

// rejected is the number of WebSocket connections refused for reason, from the metrics.
func (e *env) rejected(t *testing.T, reason string) int {
	return int(metricstest.Counter(t, e.metrics.Registry, "wscalc_rejected_sessions_total",
		map[string]string{"transport": "ws", "reason": reason}))
}

// wsCount is the number of live WebSocket sessions presence sees.
func (e *env) wsCount() int { return e.presence.Counts().WS }

// msg is any server message of the JSON protocol, decoded.
type msg struct {
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id"`
	Input   string          `json:"input"`
	Display string          `json:"display"`
	Kind    string          `json:"kind"`
	Value   string          `json:"value"`
	Decimal string          `json:"decimal"`
	Name    string          `json:"name"`
	Message string          `json:"message"`
	Column  int             `json:"column"`
	End     int             `json:"end"`
	Session string          `json:"session"`
	Version string          `json:"version"`
	Limits  calc.Limits     `json:"limits"`
	presence.Counts
}

func read(t *testing.T, c *websocket.Conn) (websocket.MessageType, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return c.Read(ctx)
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	typ, p, err := read(t, c)
	require.NoError(t, err)
	require.Equal(t, websocket.MessageText, typ)
	return string(p)
}

func readMsg(t *testing.T, c *websocket.Conn) msg {
	t.Helper()
	var m msg
	require.NoError(t, json.Unmarshal([]byte(readText(t, c)), &m))
	return m
}

// readReply returns the next result or error, skipping presence pushes.
func readReply(t *testing.T, c *websocket.Conn) msg {
	t.Helper()
	for {
		m := readMsg(t, c)
		if m.Type != "clients" {
			return m
		}
	}
}

// readClosed reads until the server closes the connection and returns the close status
// and reason; data messages before it are returned too (JSON presence pushes included).
func readClosed(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string, []string) {
	t.Helper()
	var data []string
	for range 1000 {
		_, p, err := read(t, c)
		if err != nil {
			var ce websocket.CloseError
			require.ErrorAs(t, err, &ce)
			return ce.Code, ce.Reason, data
		}
		data = append(data, string(p))
	}
	t.Fatal("no close after 1000 messages")
	return 0, "", nil
}

// requireClose reads until the close and checks its status and reason, and that no data
// message other than presence came first.
func requireClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	got, why, data := readClosed(t, c)
	for _, d := range data {
		require.Contains(t, d, `"type":"clients"`, "unexpected message before the close")
	}
	require.Equal(t, code, got)
	require.Equal(t, reason, why)
}

func write(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(s)))
}

// request sends a JSON request.
func request(t *testing.T, c *websocket.Conn, id any, expr string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"id": id, "expr": expr})
	require.NoError(t, err)
	write(t, c, string(b))
}

// withMsg returns the log records whose msg is m.
func withMsg(recs []map[string]any, m string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == m {
			out = append(out, r)
		}
	}
	return out
}
