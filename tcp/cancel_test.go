package tcp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/tcp"
)

// slowLimits let a line run for many seconds, so that a test can tell a line stopped early
// from one that ran to its limit.
var slowLimits = calc.Limits{MaxTime: 60 * time.Second, Budget: 1 << 50}

// slowLine takes about a second per gcd on a fast machine: several seconds in all, with a
// checkpoint between the gcds.
var slowLine = strings.TrimSuffix(strings.Repeat("gcd(3**600000, 5**400000) + ", 8), " + ")

// A client that resets its connection while its line runs stops the evaluation: the
// session ends long before the line could have finished.
func TestHeavyLineStopsWhenTheClientResets(t *testing.T) {
	ts := start(t, func(cfg *tcp.Config) { cfg.Session.Limits = slowLimits })
	c := dial(t, ts.addr)
	require.Equal(t, "2", c.ask("1 + 1"))
	c.send(slowLine + "\n")
	time.Sleep(300 * time.Millisecond) // the line is running
	require.NoError(t, c.conn.SetLinger(0))
	start := time.Now()
	require.NoError(t, c.conn.Close()) // RST
	end := endOf(t, ts.logs, c)
	assert.Equal(t, "client gone", end["reason"])
	// One gcd may still finish after the reset (math/big has no checkpoint inside).
	assert.Less(t, time.Since(start), 3*time.Second, "the evaluation ran on after the client left")
	require.Eventually(t, func() bool { return ts.presence.Counts().TCP == 0 }, patience, 5*time.Millisecond)
}

// `nc -N` half-closes after its line and still reads the reply: a heavy line of a
// half-closed connection runs to the end and is answered.
func TestHeavyLineOfAHalfClosedClientIsAnswered(t *testing.T) {
	ts := start(t, func(cfg *tcp.Config) { cfg.Session.Limits = slowLimits })
	c := dial(t, ts.addr)
	c.send("gcd(3**300000, 5**200000)\n")
	require.NoError(t, c.conn.CloseWrite())
	c.expect("1")
	c.expectEOF()
	assert.Equal(t, "eof", endOf(t, ts.logs, c)["reason"])
}

// Close stops an evaluation in progress too.
func TestCloseStopsAnEvaluation(t *testing.T) {
	ts := start(t, func(cfg *tcp.Config) { cfg.Session.Limits = slowLimits })
	c := dial(t, ts.addr)
	c.send(slowLine + "\n")
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	require.NoError(t, ts.srv.Close())
	end := endOf(t, ts.logs, c)
	assert.Equal(t, "server closed", end["reason"])
	assert.Less(t, time.Since(start), 3*time.Second)
}
