package ws_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/ws"
)

// A WebSocket client that goes away while its line runs (it closes its connection: a FIN
// suffices, WebSocket clients never half-close) stops the evaluation.
func TestHeavyLineStopsWhenTheClientLeaves(t *testing.T) {
	for _, json := range []bool{false, true} {
		e := newEnv(t, envConfig{opts: func(o *ws.Config) {
			o.Session.Limits = calc.Limits{MaxTime: 60 * time.Second, Budget: 1 << 50}
		}})
		c := e.dial(t, json)
		line := strings.TrimSuffix(strings.Repeat("gcd(3**600000, 5**400000) + ", 8), " + ")
		if json {
			request(t, c, 1, line)
		} else {
			write(t, c, line)
		}
		time.Sleep(300 * time.Millisecond) // the line is running
		start := time.Now()
		require.NoError(t, c.CloseNow())
		require.Eventually(t, func() bool { return e.wsCount() == 0 }, ioTimeout, 5*time.Millisecond)
		assert.Less(t, time.Since(start), 3*time.Second, "the evaluation ran on after the client left")
		ends := e.logs.Records(t, "session end")
		require.Len(t, ends, 1)
		assert.Equal(t, "client gone", ends[0]["reason"])
	}
}
