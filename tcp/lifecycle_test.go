package tcp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/tcp"
)

func TestIdleTimeout(t *testing.T) {
	ts := start(t, func(s *tcp.Server) { s.IdleTimeout = 200 * time.Millisecond })
	c := dial(t, ts.addr)
	require.Equal(t, "2", c.ask("1 + 1"))
	c.expect("Error: idle timeout")
	c.expectEOF()
	end := ts.logs.endOf(t, c)
	assert.Equal(t, "idle timeout", end["reason"])
	assert.EqualValues(t, 1, end["requests"])
}

func TestIdleTimeoutDropsAPartialLine(t *testing.T) {
	ts := start(t, func(s *tcp.Server) { s.IdleTimeout = 200 * time.Millisecond })
	c := dial(t, ts.addr)
	c.send("1 + ") // a line that never ends is no activity for ever
	c.expect("Error: idle timeout")
	c.expectEOF()
}

func TestMaxClients(t *testing.T) {
	ts := start(t, func(s *tcp.Server) { s.MaxClients = 2 })
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	// Answers prove that both sessions have joined.
	require.Equal(t, "2", a.ask("1 + 1"))
	require.Equal(t, "3", b.ask("1 + 2"))

	over := dial(t, ts.addr)
	over.send("1 + 3\n") // sent before the refusal: discarded, not answered
	over.expect("Error: server busy (max 2 clients)")
	over.expectEOF()
	assert.Equal(t, "too busy", ts.logs.endOf(t, over)["reason"])

	// A slot frees when a session ends.
	a.conn.Close()
	require.Eventually(t, func() bool { return ts.hub.Counts().TCP == 1 }, patience, 5*time.Millisecond)
	c := dial(t, ts.addr)
	require.Equal(t, "5", c.ask("1 + 4"))
}

func TestClientThatNeverReadsIsClosedAndBlocksNobody(t *testing.T) {
	ts := start(t, func(s *tcp.Server) { s.WriteTimeout = 300 * time.Millisecond })
	hog := dial(t, ts.addr)

	// The hog sends lines with long replies and never reads them. Its writes succeed
	// until the server stops reading (its replies have filled the socket buffers), then
	// fail once the server has given up on it.
	line := []byte(strings.Repeat("10 ** 4000\n", 100))
	hogDone := make(chan error, 1)
	go func() {
		for range 100_000 {
			hog.conn.SetWriteDeadline(time.Now().Add(patience))
			if _, err := hog.conn.Write(line); err != nil {
				hogDone <- err
				return
			}
		}
		hogDone <- errors.New("the server kept reading from a client that never reads")
	}()

	// Meanwhile another client is served as usual.
	other := dial(t, ts.addr)
	for i := range 20 {
		require.Equal(t, strconv.Itoa(i+100), other.ask(fmt.Sprintf("%d + 100", i)))
	}

	select {
	case err := <-hogDone:
		require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server should have closed the hog: %v", err)
	case <-time.After(patience):
		t.Fatal("the hog's session was not closed")
	}
	assert.Equal(t, "write timeout", ts.logs.endOf(t, hog)["reason"])
	require.Equal(t, "42", other.ask("6 * 7"))
	require.Eventually(t, func() bool { return ts.hub.Counts().TCP == 1 }, patience, 5*time.Millisecond)
}

func TestShutdownAnswersLinesInFlight(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	const n = 1000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d * 7\n", i)
	}
	c.send(b.String())
	require.Equal(t, "0", c.line()) // the session is at work

	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.srv.Shutdown(context.Background()) }()
	for i := 1; i < n; i++ {
		require.Equal(t, strconv.Itoa(i*7), c.line(), "reply %d", i)
	}
	c.expect("Error: server shutting down")
	c.expectEOF()
	require.NoError(t, <-shutdown)
	require.ErrorIs(t, ts.serveResult(t), tcp.ErrServerClosed)
	assert.Equal(t, "server shutting down", ts.logs.endOf(t, c)["reason"])
}

func TestShutdownSaysGoodbyeToEverySession(t *testing.T) {
	ts := start(t, nil)
	idle := dial(t, ts.addr)
	partial := dial(t, ts.addr)
	require.Equal(t, "2", idle.ask("1 + 1"))
	require.Equal(t, "3", partial.ask("1 + 2"))
	partial.send("2 + ") // not a request until its newline arrives

	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.srv.Shutdown(context.Background()) }()
	for _, c := range []*client{idle, partial} {
		c.expect("Error: server shutting down")
		c.expectEOF()
	}
	require.NoError(t, <-shutdown)
	require.ErrorIs(t, ts.serveResult(t), tcp.ErrServerClosed)
	_, err := net.DialTimeout("tcp", ts.addr, patience)
	require.Error(t, err, "the listener is closed")
}

func TestShutdownGivesUpWhenTheContextExpires(t *testing.T) {
	ts := start(t, func(s *tcp.Server) { s.WriteTimeout = time.Minute })
	hog := dial(t, ts.addr)
	// Send until the writes block: the server has stopped reading because it is blocked
	// writing replies that the hog does not read, for up to a minute.
	line := []byte(strings.Repeat("10 ** 4000\n", 100))
	for i := 0; ; i++ {
		require.Less(t, i, 100_000, "the server kept reading")
		hog.conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := hog.conn.Write(line); err != nil {
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			break
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, ts.srv.Shutdown(ctx), context.DeadlineExceeded)
	require.ErrorIs(t, ts.serveResult(t), tcp.ErrServerClosed)
	// The connection was closed under the blocked write.
	hog.conn.SetWriteDeadline(time.Now().Add(patience))
	require.Eventually(t, func() bool {
		_, err := hog.conn.Write(line)
		return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	}, patience, 10*time.Millisecond)
}

func TestCloseClosesEverythingAtOnce(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	require.Equal(t, "2", c.ask("1 + 1"))
	require.NoError(t, ts.srv.Close())
	require.ErrorIs(t, ts.serveResult(t), tcp.ErrServerClosed)

	c.conn.SetReadDeadline(time.Now().Add(patience))
	buf := make([]byte, 100)
	n, err := c.r.Read(buf)
	assert.Zero(t, n, "no goodbye after Close: %q", buf[:n])
	require.Error(t, err)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the connection was closed")
}

func TestServeAfterShutdownReturnsErrServerClosed(t *testing.T) {
	ts := start(t, nil)
	require.NoError(t, ts.srv.Shutdown(context.Background()))
	require.ErrorIs(t, ts.serveResult(t), tcp.ErrServerClosed)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.ErrorIs(t, ts.srv.Serve(l), tcp.ErrServerClosed)
	_, err = l.Accept()
	require.ErrorIs(t, err, net.ErrClosed, "Serve closes the listener it was given")
}

func TestAddr(t *testing.T) {
	srv := &tcp.Server{}
	assert.Nil(t, srv.Addr(), "nil before Serve")
	ts := start(t, nil)
	require.Eventually(t, func() bool { return ts.srv.Addr() != nil }, patience, time.Millisecond)
	assert.Equal(t, ts.addr, ts.srv.Addr().String())
}

func TestServeWithoutHubFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	require.Error(t, (&tcp.Server{}).Serve(l))
}

func TestSessionLogLines(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	c.send("40 + 2\n# nothing\n\n3 * 4\nquit\n")
	c.expect("42", "12")
	c.expectEOF()

	starts := ts.logs.records(t, "session start")
	require.Len(t, starts, 1)
	end := ts.logs.endOf(t, c)
	for _, rec := range []map[string]any{starts[0], end} {
		assert.Regexp(t, `^[0-9a-f]{16}$`, rec["session"])
		assert.Equal(t, "tcp", rec["transport"])
		assert.Equal(t, c.conn.LocalAddr().String(), rec["remote"])
	}
	assert.Equal(t, starts[0]["session"], end["session"])
	assert.EqualValues(t, 3, end["requests"], "two expressions and quit; blank lines are not requests")
	assert.Equal(t, "quit", end["reason"])
	assert.Contains(t, end, "duration")
	logs := ts.logs.String()
	for _, secret := range []string{"40 + 2", "3 * 4", "nothing"} {
		assert.NotContains(t, logs, secret, "expressions are never logged")
	}
}

func TestSessionIDsDiffer(t *testing.T) {
	ts := start(t, nil)
	for range 3 {
		c := dial(t, ts.addr)
		c.send("quit\n")
		c.expectEOF()
	}
	ids := map[any]bool{}
	for _, rec := range ts.logs.records(t, "session end") {
		ids[rec["session"]] = true
	}
	assert.Len(t, ids, 3)
}
