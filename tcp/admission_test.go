package tcp_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/admission"
	"wscalc/tcp"
)

// startCounted serves on a listener whose connections are counted per address.
func startCounted(t *testing.T, limit int, configure func(*tcp.Config)) (*testServer, *admission.Counter) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	counter := admission.New(limit)
	return serve(t, counter.Listener(l, nil), configure), counter
}

func TestTooManyConnectionsFromOneAddress(t *testing.T) {
	ts, _ := startCounted(t, 2, nil)
	a, b := dialFrom(t, "127.0.0.1", ts.addr), dialFrom(t, "127.0.0.1", ts.addr)
	require.Equal(t, "2", a.ask("1 + 1"))
	require.Equal(t, "3", b.ask("1 + 2"))

	over := dialFrom(t, "127.0.0.1", ts.addr)
	over.send("1 + 3\n") // sent before the refusal: discarded, not answered
	over.expect("Error: too many connections from your address (limit 2)")
	over.expectEOF()
	assert.Equal(t, 1, ts.rejected(t, "per_ip"))
	assert.Equal(t, 2, ts.presence.Counts().TCP, "a refused connection never joins")
	assert.Empty(t, ts.logs.Records(t, "session start")[2:], "a refusal is no session")

	// Another address is served meanwhile.
	other := dialFrom(t, "127.0.0.2", ts.addr)
	require.Equal(t, "4", other.ask("2 + 2"))

	// A place frees when a connection closes.
	a.conn.Close()
	require.Eventually(t, func() bool { return ts.presence.Counts().TCP == 2 }, patience, 5*time.Millisecond)
	c := dialFrom(t, "127.0.0.1", ts.addr)
	require.Equal(t, "5", c.ask("1 + 4"))
}

// The counted connection still reads through its raw connection: at shutdown, every line
// already sent is answered (see TestShutdownAnswersLinesInFlight).
func TestCountedConnectionDrainsAtShutdown(t *testing.T) {
	ts, _ := startCounted(t, 10, func(cfg *tcp.Config) { cfg.Session.Limits = unlimitedBudget })
	c := dialFrom(t, "127.0.0.1", ts.addr)
	const lines = 2000
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "10 ** 4000 + %d\n", i)
	}
	c.send(b.String())
	first := c.line()
	require.True(t, strings.HasSuffix(first, "0000"), "%.30q", first)

	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.srv.Shutdown(context.Background()) }()
	c.conn.SetReadDeadline(time.Now().Add(patience))
	for i := 1; i < lines; i++ {
		got, err := c.r.ReadString('\n')
		require.NoError(t, err, "reply %d", i)
		require.True(t, strings.HasSuffix(got, fmt.Sprintf("%04d\n", i)), "reply %d: %.30q…", i, got)
	}
	c.expect("Error: server shutting down")
	c.expectEOF()
	require.NoError(t, <-shutdown)
}
