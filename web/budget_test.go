package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/web"
)

// The API's sessions are fresh per request, so its budget is the client address's: one
// address's requests share it; another address has its own.
func TestEvalBudgetIsPerClientAddress(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.Limits = calc.Limits{Budget: 1500} }) // a power costs 1000
	get := func(local string) (int, string) {
		t.Helper()
		e.client = clientFrom(t, local)
		resp, body := e.get(t, "/api/eval?expr="+url.QueryEscape("2 ** 2"))
		return resp.StatusCode, body
	}
	code, body := get("127.0.0.1")
	require.Equal(t, http.StatusOK, code, body)
	code, body = get("127.0.0.1") // a new connection, the same address
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, body, "session budget exhausted")
	code, body = get("127.0.0.2")
	assert.Equal(t, http.StatusOK, code, body)
}

// A request whose client goes away stops its evaluation.
func TestEvalStopsWhenTheRequestIsCancelled(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.Limits = calc.Limits{MaxTime: 60 * time.Second, Budget: 1 << 50} })
	line := strings.TrimSuffix(strings.Repeat("gcd(3**600000, 5**400000) + ", 8), " + ")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/api/eval?expr="+url.QueryEscape(line), nil)
	require.NoError(t, err)
	start := time.Now()
	_, err = e.ts.Client().Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool { return strings.Contains(e.log.String(), "status=499") },
		5*time.Second, 5*time.Millisecond, "the evaluation ran on after the client left:\n%s", e.log.String())
	assert.Less(t, time.Since(start), 3*time.Second)
}
