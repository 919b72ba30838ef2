package tcp_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRepliesAreTheCoreDisplayLines(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	// No greeting: the first line the client reads is the reply to its first line.
	for _, tc := range []struct{ in, want string }{
		{"2 + 3 * 4", "14"},
		{"1 / 0", "Error at column 3: division by zero"},
		{"1/3", "1/3 ≈ 0.33333333333333333333"},
		{"x = 7", "x = 7"},
		{"x * 6", "42"},
		{"2 +", "Error at column 4: unexpected end of input"},
	} {
		assert.Equal(t, tc.want, c.ask(tc.in), "reply to %q", tc.in)
	}
}

func TestBlankAndCommentLinesGetNoReply(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	c.send("\n   \n\r\n# a comment\n  # another\n6 * 7\n")
	// Had any of the first lines been answered, its reply would come first.
	c.expect("42")
}

func TestCRBeforeLFIsDropped(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	c.send("2 + 3\r\n4 * 5\r\n")
	c.expect("5", "20")
}

func TestPipelinedLinesAreAnsweredInOrder(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	const n = 1000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d * 3 + 1\n", i)
	}
	// One write; read concurrently so that neither side can wait on the other.
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		c.conn.Write([]byte(b.String()))
	}()
	for i := range n {
		require.Equal(t, strconv.Itoa(i*3+1), c.line(), "reply %d", i)
	}
	<-sent
}

func TestFinalLineWithoutNewlineIsAnswered(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	c.send("1 + 1\n6 * 7")
	require.NoError(t, c.conn.CloseWrite())
	c.expect("2", "42")
	c.expectEOF()
	assert.Equal(t, "eof", endOf(t, ts.logs, c)["reason"])
}

func TestEOFFlushesPendingReplies(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "%d + 1\n", i)
	}
	c.send(b.String())
	require.NoError(t, c.conn.CloseWrite())
	for i := range 100 {
		require.Equal(t, strconv.Itoa(i+1), c.line())
	}
	c.expectEOF()
}

func TestQuitAndExitCloseWithoutReply(t *testing.T) {
	for _, cmd := range []string{"quit", "exit"} {
		t.Run(cmd, func(t *testing.T) {
			ts := start(t, nil)
			c := dial(t, ts.addr)
			// The lines before it are answered, the ones after it are not.
			c.send("1 + 1\n" + cmd + "\n2 + 2\n")
			c.expect("2")
			c.expectEOF()
			end := endOf(t, ts.logs, c)
			assert.Equal(t, "quit", end["reason"])
			assert.EqualValues(t, 2, end["requests"], "the quit line is a request too")
		})
	}
}

func TestTwoClientsHaveSeparateSessions(t *testing.T) {
	ts := start(t, nil)
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	require.Equal(t, "x = 1", a.ask("x = 1"))
	require.Equal(t, "x = 2", b.ask("x = 2"))
	require.Equal(t, "1", a.ask("x"))
	require.Equal(t, "2", b.ask("x"))
}

func TestClientsPipelineConcurrently(t *testing.T) {
	ts := start(t, nil)
	const clients, lines = 4, 300
	var wg sync.WaitGroup
	for k := range clients {
		c := dial(t, ts.addr)
		wg.Go(func() {
			var b strings.Builder
			for i := range lines {
				fmt.Fprintf(&b, "%d * 1000 + %d\n", i, k)
			}
			go c.conn.Write([]byte(b.String()))
			for i := range lines {
				if got, want := c.line(), strconv.Itoa(i*1000+k); got != want {
					t.Errorf("client %d reply %d: got %q, want %q", k, i, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
