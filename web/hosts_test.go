package web_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/metrics"
	"wscalc/web"
	"wscalc/wire"
)

// A page that rebinds its own name to 127.0.0.1 still sends its name as the Host: /ws and
// /api/eval refuse it with 403 on a loopback listener; the rest of the site is served.
func TestForeignHostIsRefusedOnLoopback(t *testing.T) {
	m := metrics.New()
	ws := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ws") })
	ts := httptest.NewUnstartedServer(nil)
	ts.Config.Handler = newRouter(t, web.Config{
		Assets:      testAssets,
		WS:          ws,
		HTTPMetrics: m,
		ListenAddr:  ts.Listener.Addr(),
		AllowHosts:  []string{"calc.example"},
	})
	ts.Start()
	defer ts.Close()

	do := func(path, host string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}

	_, port, err := net.SplitHostPort(ts.Listener.Addr().String())
	require.NoError(t, err)
	for _, host := range []string{"evil.example", "evil.example:" + port} {
		resp, body := do("/api/eval?expr=1%2B1", host)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, host)
		var e wire.Error
		require.NoError(t, json.Unmarshal([]byte(body), &e), body)
		assert.Equal(t, "error", e.Type)
		assert.Contains(t, e.Message, "DNS rebinding")
		assert.Contains(t, e.Message, "-allow-host")

		resp, _ = do("/ws", host)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, host)

		for _, path := range []string{"/", "/healthz", "/app.js"} {
			resp, _ = do(path, host)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", host, path)
		}
	}
	assert.Equal(t, 2, rejected(t, m, "http", "host"))
	assert.Equal(t, 2, rejected(t, m, "ws", "host"))

	for _, host := range []string{"localhost", "localhost:8080", "127.0.0.1", ts.Listener.Addr().String(),
		"[::1]:8080", "calc.example", "calc.example:443"} {
		resp, body := do("/api/eval?expr=1%2B1", host)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", host, body)
		resp, body = do("/ws", host)
		assert.Equal(t, "ws", body, host)
	}
}
