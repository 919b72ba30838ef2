package web_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/admission"
	"wscalc/internal/metricstest"
	"wscalc/metrics"
	"wscalc/web"
	"wscalc/wire"
)

// clientFrom is an HTTP client whose connections come from the loopback address local.
func clientFrom(t *testing.T, local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	transport := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: 10 * time.Second}
}

// rejected is the number of refusals of transport for reason, from the metrics.
func rejected(t *testing.T, m *metrics.Metrics, transport, reason string) int {
	return int(metricstest.Counter(t, m.Registry, "wscalc_rejected_sessions_total",
		map[string]string{"transport": transport, "reason": reason}))
}

func TestTooManyConnectionsFromOneAddressIs429(t *testing.T) {
	m := metrics.New()
	ts := httptest.NewUnstartedServer(newRouter(t, web.Config{HTTPMetrics: m}))
	ts.Listener = admission.New(2).Listener(ts.Listener, nil)
	ts.Config.ConnContext = admission.ConnContext
	ts.Start()
	defer ts.Close()

	// Two keep-alive connections from 127.0.0.1 take its two places.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		held = append(held, c)
	}
	// The server may not have accepted them yet: ask until the refusal comes.
	get := func(c *http.Client, path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(ts.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	over := clientFrom(t, "127.0.0.1")
	var resp *http.Response
	var body string
	require.Eventually(t, func() bool {
		resp, body = get(over, "/api/eval?expr=1%2B1")
		return resp.StatusCode == http.StatusTooManyRequests
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.True(t, resp.Close, "the refused connection is closed after the answer")
	var e wire.Error
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	assert.Equal(t, "error", e.Type)
	assert.Equal(t, "too many connections from your address (limit 2)", e.Message)
	assert.Equal(t, "Error: too many connections from your address (limit 2)", e.Display)
	assert.GreaterOrEqual(t, rejected(t, m, "http", "per_ip"), 1)
	// Answered before routing, the refusal is still counted under its route.
	assert.GreaterOrEqual(t, httpRequests(t, m, "/api/eval", "429"), 1.0)

	// Another address is served.
	resp, body = get(clientFrom(t, "127.0.0.2"), "/api/eval?expr=1%2B1")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)

	// Once a held connection closes, 127.0.0.1 is served again.
	held[0].Close()
	require.Eventually(t, func() bool {
		resp, _ := get(over, "/healthz")
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)
}

// httpRequests is the count of wscalc_http_requests_total for GET route with status code.
func httpRequests(t *testing.T, m *metrics.Metrics, route, code string) float64 {
	return metricstest.Counter(t, m.Registry, "wscalc_http_requests_total",
		map[string]string{"route": route, "code": code, "method": "get"})
}
