package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"wscalc/internal/logtest"
	"wscalc/metrics"
	"wscalc/presence"
	"wscalc/sched"
	"wscalc/web"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const indexHTML = `<!doctype html><title>wscalc</title><script src="app.js"></script>`

var testAssets = fstest.MapFS{
	"index.html":       {Data: []byte(indexHTML)},
	"app.js":           {Data: []byte(`console.log("hi")`)},
	"style.css":        {Data: []byte(`body{}`)},
	"favicon.ico":      {Data: []byte{0, 0, 1, 0}},
	"img/logo.svg":     {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	"site.webmanifest": {Data: []byte(`{}`)},
}

// newRouter is web.New(cfg) with a presence and a scheduler of its own where cfg has none.
func newRouter(t *testing.T, cfg web.Config) http.Handler {
	t.Helper()
	if cfg.Presence == nil {
		cfg.Presence = presence.New(cfg.HTTPMetrics)
	}
	if cfg.Sched == nil {
		cfg.Sched = sched.New(sched.Options{Metrics: cfg.HTTPMetrics, MaxMemory: -1})
	}
	h, err := web.New(cfg)
	require.NoError(t, err)
	return h
}

func TestNewWithoutADependencyFails(t *testing.T) {
	_, err := web.New(web.Config{Sched: sched.New(sched.Options{MaxMemory: -1})})
	require.EqualError(t, err, "web: Config.Presence is nil")
	_, err = web.New(web.Config{Presence: presence.New(nil)})
	require.EqualError(t, err, "web: Config.Sched is nil")
}

// testEnv is a router behind a real loopback server, with the pieces a test inspects.
type testEnv struct {
	ts       *httptest.Server
	ready    *atomic.Bool
	draining *atomic.Bool
	log      *logtest.Buffer
	presence *presence.Presence
	metrics  *metrics.Metrics
	client   *http.Client // for do; nil: the server's own client
}

func newEnv(t *testing.T, configure func(*web.Config)) *testEnv {
	t.Helper()
	e := &testEnv{ready: new(atomic.Bool), draining: new(atomic.Bool), log: new(logtest.Buffer), metrics: metrics.New()}
	e.ready.Store(true)
	e.presence = presence.New(e.metrics)
	cfg := web.Config{
		Assets:      testAssets,
		Presence:    e.presence,
		Sched:       sched.New(sched.Options{Metrics: e.metrics}),
		Metrics:     promhttp.HandlerFor(e.metrics.Registry, promhttp.HandlerOpts{}),
		HTTPMetrics: e.metrics,
		Ready:       e.ready.Load,
		Draining:    e.draining.Load,
		Logger:      slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if configure != nil {
		configure(&cfg)
	}
	e.ts = httptest.NewServer(newRouter(t, cfg))
	t.Cleanup(e.ts.Close)
	return e
}

// do sends a request and returns the response with its body read.
func (e *testEnv) do(t *testing.T, method, path string, header http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	client := e.ts.Client()
	if e.client != nil {
		client = e.client
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func (e *testEnv) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	return e.do(t, http.MethodGet, path, nil, "")
}

func assertSecurityHeaders(t *testing.T, resp *http.Response, host string) {
	t.Helper()
	want := "default-src 'self'; connect-src 'self' ws://" + host + " wss://" + host +
		"; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
	assert.Equal(t, want, resp.Header.Get("Content-Security-Policy"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
}

func TestPlaygroundIndex(t *testing.T) {
	e := newEnv(t, nil)
	host := strings.TrimPrefix(e.ts.URL, "http://")
	for _, path := range []string{"/", "/index.html"} {
		resp, body := e.get(t, path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, indexHTML, body, path)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), path)
		assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), path)
		assert.NotEmpty(t, resp.Header.Get("ETag"), path)
		assertSecurityHeaders(t, resp, host)
	}
}

func TestAssetsContentTypes(t *testing.T) {
	e := newEnv(t, nil)
	for path, want := range map[string]string{
		"/app.js":           "text/javascript; charset=utf-8",
		"/style.css":        "text/css; charset=utf-8",
		"/favicon.ico":      "image/x-icon",
		"/img/logo.svg":     "image/svg+xml",
		"/site.webmanifest": "application/manifest+json",
	} {
		resp, body := e.get(t, path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, want, resp.Header.Get("Content-Type"), path)
		assert.Equal(t, string(testAssets[strings.TrimPrefix(path, "/")].Data), body, path)
	}
}

func TestAssetsRevalidateWithETag(t *testing.T) {
	e := newEnv(t, nil)
	resp, _ := e.get(t, "/app.js")
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)

	resp, body := e.do(t, http.MethodGet, "/app.js", http.Header{"If-None-Match": {etag}}, "")
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)

	// Another file has another tag, so a stale one fetches the new content.
	other, _ := e.get(t, "/style.css")
	assert.NotEqual(t, etag, other.Header.Get("ETag"))
	resp, body = e.do(t, http.MethodGet, "/app.js", http.Header{"If-None-Match": {other.Header.Get("ETag")}}, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `console.log("hi")`, body)
}

func TestHeadServesHeadersOnly(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.do(t, http.MethodHead, "/", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Empty(t, body)
}

func TestNotFoundHasNoListingAndKeepsHeaders(t *testing.T) {
	e := newEnv(t, nil)
	host := strings.TrimPrefix(e.ts.URL, "http://")
	for _, path := range []string{"/nope", "/img/", "/img", "/api", "/../web.go"} {
		resp, body := e.get(t, path)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		assert.NotContains(t, body, "logo.svg", path)
		assertSecurityHeaders(t, resp, host)
	}
}

// errorObject decodes a reply that must be the API's error object, and returns its message.
func errorObject(t *testing.T, resp *http.Response, body string) string {
	t.Helper()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), body)
	var r struct {
		Type, Input, Display, Message string
		Column, End                   int
	}
	require.NoError(t, json.Unmarshal([]byte(body), &r), body)
	assert.Equal(t, "error", r.Type, body)
	assert.NotEmpty(t, r.Message, body)
	assert.Equal(t, "Error: "+r.Message, r.Display, body)
	return r.Message
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct {
		method, path string
		allow        []string
	}{
		{http.MethodPost, "/", []string{"GET", "HEAD"}},
		{http.MethodPost, "/app.js", []string{"GET", "HEAD"}},
		{http.MethodPut, "/api/eval", []string{"GET", "HEAD", "POST"}},
		{http.MethodDelete, "/api/eval", []string{"GET", "HEAD", "POST"}},
		{"BREW", "/api/eval", []string{"GET", "HEAD", "POST"}},
		{http.MethodPost, "/healthz", []string{"GET", "HEAD"}},
		{http.MethodPost, "/readyz", []string{"GET", "HEAD"}},
		{http.MethodPost, "/metrics", []string{"GET", "HEAD"}},
	} {
		resp, body := e.do(t, c.method, c.path, nil, "")
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s", c.method, c.path)
		assert.Equal(t, c.allow, resp.Header.Values("Allow"), "%s %s", c.method, c.path)
		assert.Equal(t, "method "+c.method+" is not allowed here; use "+strings.Join(c.allow, ", "),
			errorObject(t, resp, body), "%s %s", c.method, c.path)
	}
}

// A path that no route serves is a 404 with the error object; under /api/ it names the API.
func TestNotFoundIsAnErrorObject(t *testing.T) {
	e := newEnv(t, nil)
	for path, want := range map[string]string{
		"/nope":          "not found",
		"/api":           "not found: the API is /api/eval (GET /api/eval?expr=1%2B2, or POST)",
		"/api/":          "not found: the API is /api/eval (GET /api/eval?expr=1%2B2, or POST)",
		"/api/evaluate":  "not found: the API is /api/eval (GET /api/eval?expr=1%2B2, or POST)",
		"/api/eval/more": "not found: the API is /api/eval (GET /api/eval?expr=1%2B2, or POST)",
	} {
		resp, body := e.get(t, path)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		assert.Equal(t, want, errorObject(t, resp, body), path)
	}
	resp, body := e.do(t, http.MethodPost, "/api/nope", nil, "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	errorObject(t, resp, body)
}

func TestCSPIgnoresHostileHost(t *testing.T) {
	h := newRouter(t, web.Config{})
	for _, host := range []string{"evil.example; script-src *", "a b", `x"y`, ""} {
		r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		csp := w.Header().Get("Content-Security-Policy")
		assert.Contains(t, csp, "connect-src 'self'; ", "host %q", host)
		assert.NotContains(t, csp, "ws://", "host %q", host)
		assert.NotContains(t, csp, "*", "host %q", host)
	}
	r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	r.Host = "[::1]:8080"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "connect-src 'self' ws://[::1]:8080 wss://[::1]:8080;")
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.get(t, "/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok\n", body)
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

func TestReadyzTurnsUnavailableWhenDraining(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.get(t, "/readyz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ready\n", body)

	e.draining.Store(true)
	resp, body = e.get(t, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "draining\n", body)
	e.ready.Store(false) // draining says more than not ready
	resp, body = e.get(t, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "draining\n", body)
	assert.NotContains(t, e.log.String(), "level=WARN", "draining is no failure to warn about")

	// Liveness is not readiness: a draining server is still alive.
	resp, _ = e.get(t, "/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// Not ready (not joined to the cluster yet, or it lost quorum) is a 503 of its own, and
// turns back to ready.
func TestReadyzNotReady(t *testing.T) {
	e := newEnv(t, nil)
	e.ready.Store(false)
	resp, body := e.get(t, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "not ready\n", body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	resp, _ = e.get(t, "/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "alive while not ready")

	e.ready.Store(true)
	resp, body = e.get(t, "/readyz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ready\n", body)
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, nil)
	leave, err := e.presence.Join(presence.WS, 0)
	require.NoError(t, err)
	defer leave()
	resp, _ := e.get(t, "/api/eval?expr=2%2B3")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = e.get(t, "/api/eval?expr=1%2F0")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

	resp, body := e.get(t, "/metrics")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
	for _, want := range []string{
		`wscalc_active_sessions{transport="ws"} 1`,
		`wscalc_sessions_total{transport="ws"} 1`,
		`wscalc_expressions_total{outcome="ok",transport="http"} 1`,
		`wscalc_expressions_total{outcome="error",transport="http"} 1`,
		`wscalc_eval_duration_seconds_count 2`,
		`go_goroutines`,
	} {
		assert.Contains(t, body, want)
	}
}

func TestOptionalRoutesAreAbsentWhenNil(t *testing.T) {
	h := newRouter(t, web.Config{})
	for _, path := range []string{"/", "/metrics", "/ws"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, http.StatusNotFound, w.Code, path)
	}
}

// The WebSocket handler is reached through the middleware, and the upgrade and the hijacked
// connection survive it (the logging wrapper must pass Hijack through).
func TestWebSocketUpgradeThroughRouter(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if c.Write(ctx, typ, append([]byte("echo "), msg...)) == nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
	})
	e := newEnv(t, func(c *web.Config) { c.WS = echo })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte("2+3")))
	_, msg, err := c.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "echo 2+3", string(msg))
	_, _, err = c.Read(ctx)
	assert.Equal(t, websocket.StatusNormalClosure, websocket.CloseStatus(err))
}

// The WebSocket endpoint's handshake failures, which the library and the handler answer
// in plain text, reach the client as the API's error object; the upgrade passes.
func TestWebSocketRefusalsAreErrorObjects(t *testing.T) {
	ws := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("shutdown") {
			http.Error(w, "server shutting down", http.StatusServiceUnavailable)
			return
		}
		c, err := websocket.Accept(w, r, nil) // same-origin only
		if err == nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
	})
	e := newEnv(t, func(c *web.Config) { c.WS = ws })
	upgrade := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
	for _, c := range []struct {
		path   string
		header http.Header
		status int
		msg    string
	}{
		{"/ws", nil, http.StatusUpgradeRequired, "/ws is the WebSocket endpoint: connect with a WebSocket client (WebSocket protocol violation: "},
		{"/ws?shutdown", nil, http.StatusServiceUnavailable, "server shutting down"},
		{"/ws", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden, `request Origin "evil.example" is not authorized for Host `},
	} {
		h := c.header
		if h != nil {
			for k, v := range upgrade {
				h[k] = v
			}
		}
		resp, body := e.do(t, http.MethodGet, c.path, h, "")
		assert.Equal(t, c.status, resp.StatusCode, body)
		msg := errorObject(t, resp, body)
		assert.True(t, strings.HasPrefix(msg, c.msg), "%q", msg)
		assertSecurityHeaders(t, resp, strings.TrimPrefix(e.ts.URL, "http://"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	defer conn.CloseNow()
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
}

func TestPanicIsRecoveredAndLogged(t *testing.T) {
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	e := newEnv(t, func(c *web.Config) { c.WS = boom })
	resp, body := e.get(t, "/ws")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, "internal error", errorObject(t, resp, body))
	logs := e.log.String()
	assert.Contains(t, logs, "http handler panic")
	assert.Contains(t, logs, "panic=boom")
	assert.Contains(t, logs, "goroutine") // the stack

	// The server keeps serving.
	resp, _ = e.get(t, "/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestRequestLogOmitsQueryString(t *testing.T) {
	e := newEnv(t, nil)
	resp, _ := e.get(t, "/api/eval?expr=secret_name_42")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	resp, _ = e.get(t, "/app.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	logs := e.log.String()
	assert.NotContains(t, logs, "secret_name_42")
	assert.Contains(t, logs, "level=INFO msg=\"http request\" method=GET path=/api/eval status=422")
	assert.Contains(t, logs, "level=DEBUG msg=\"http request\" method=GET path=/app.js status=200")
	assert.Contains(t, logs, "duration=")
}

// The playground's files are logged at debug level, as the probes are; the API, a missing
// file and a 405 at info.
func TestStaticFilesLoggedAtDebug(t *testing.T) {
	e := newEnv(t, nil)
	e.get(t, "/")
	e.get(t, "/style.css")
	resp, _ := e.get(t, "/app.js")
	e.do(t, http.MethodGet, "/app.js", http.Header{"If-None-Match": {resp.Header.Get("ETag")}}, "")
	e.get(t, "/api/eval?expr=1")
	e.get(t, "/missing.js")
	e.do(t, http.MethodPost, "/app.js", nil, "")

	levels := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(e.log.String()), "\n") {
		if !strings.Contains(line, `msg="http request"`) {
			continue
		}
		level := strings.Fields(strings.SplitN(line, "level=", 2)[1])[0]
		path := strings.Fields(strings.SplitN(line, "path=", 2)[1])[0]
		status := strings.Fields(strings.SplitN(line, "status=", 2)[1])[0]
		levels[path+" "+status] = append(levels[path+" "+status], level)
	}
	assert.Equal(t, map[string][]string{
		"/ 200":           {"DEBUG"},
		"/style.css 200":  {"DEBUG"},
		"/app.js 200":     {"DEBUG"},
		"/app.js 304":     {"DEBUG"},
		"/api/eval 200":   {"INFO"},
		"/missing.js 404": {"INFO"},
		"/app.js 405":     {"INFO"},
	}, levels)
}

// HTTP requests are counted by route pattern (never the raw path: the series stay few),
// method and status, through promhttp's middleware; /ws is counted but not timed.
func TestHTTPRequestMetricsByRoute(t *testing.T) {
	ws := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	e := newEnv(t, func(c *web.Config) { c.WS = ws })
	e.get(t, "/api/eval?expr=1")
	e.get(t, "/api/eval?expr=2")
	e.do(t, http.MethodPost, "/api/eval", http.Header{"Content-Type": {"text/plain"}}, "1/0")
	e.do(t, http.MethodPut, "/api/eval", nil, "")
	e.get(t, "/app.js")
	e.get(t, "/img/logo.svg")
	e.do(t, http.MethodHead, "/", nil, "")
	e.get(t, "/no/such/path/1")
	e.get(t, "/no/such/path/2")
	e.get(t, "/ws")
	e.get(t, "/healthz")

	want := `
# HELP wscalc_http_requests_total HTTP requests answered, by route pattern ("unmatched" for a path no route serves), method and status code.
# TYPE wscalc_http_requests_total counter
wscalc_http_requests_total{code="200",method="get",route="/api/eval"} 2
wscalc_http_requests_total{code="200",method="get",route="/app.js"} 1
wscalc_http_requests_total{code="200",method="get",route="/healthz"} 1
wscalc_http_requests_total{code="200",method="get",route="/img/logo.svg"} 1
wscalc_http_requests_total{code="200",method="head",route="/"} 1
wscalc_http_requests_total{code="403",method="get",route="/ws"} 1
wscalc_http_requests_total{code="404",method="get",route="unmatched"} 2
wscalc_http_requests_total{code="405",method="put",route="/api/eval"} 1
wscalc_http_requests_total{code="422",method="post",route="/api/eval"} 1
`
	require.NoError(t, testutil.GatherAndCompare(e.metrics.Registry, strings.NewReader(want), "wscalc_http_requests_total"))
	families, err := e.metrics.Registry.Gather()
	require.NoError(t, err)
	timed := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "wscalc_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" {
					timed[l.GetValue()] += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	assert.Equal(t, map[string]uint64{"/api/eval": 4, "/app.js": 1, "/img/logo.svg": 1, "/": 1,
		"unmatched": 2, "/healthz": 1}, timed, "every request but /ws")
}
