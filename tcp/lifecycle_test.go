package tcp_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
	"wscalc/tcp"
)

func TestIdleTimeout(t *testing.T) {
	ts := start(t, func(cfg *tcp.Config) { cfg.Session.IdleTimeout = 200 * time.Millisecond })
	c := dial(t, ts.addr)
	require.Equal(t, "2", c.ask("1 + 1"))
	c.expect("Error: idle timeout")
	c.expectEOF()
	end := endOf(t, ts.logs, c)
	assert.Equal(t, "idle timeout", end["reason"])
	assert.EqualValues(t, 1, end["requests"])
}

func TestIdleTimeoutDropsAPartialLine(t *testing.T) {
	ts := start(t, func(cfg *tcp.Config) { cfg.Session.IdleTimeout = 200 * time.Millisecond })
	c := dial(t, ts.addr)
	c.send("1 + ") // a line that never ends is no activity for ever
	c.expect("Error: idle timeout")
	c.expectEOF()
}

func TestMaxClients(t *testing.T) {
	ts := start(t, func(cfg *tcp.Config) { cfg.Session.MaxClients = 2 })
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	// Answers prove that both sessions have joined.
	require.Equal(t, "2", a.ask("1 + 1"))
	require.Equal(t, "3", b.ask("1 + 2"))

	over := dial(t, ts.addr)
	over.send("1 + 3\n") // sent before the refusal: discarded, not answered
	over.expect("Error: server busy (max 2 clients)")
	over.expectEOF()
	assert.Equal(t, "too busy", endOf(t, ts.logs, over)["reason"])

	// A slot frees when a session ends.
	a.conn.Close()
	require.Eventually(t, func() bool { return ts.presence.Counts().TCP == 1 }, patience, 5*time.Millisecond)
	c := dial(t, ts.addr)
	require.Equal(t, "5", c.ask("1 + 4"))
}

// unlimitedBudget lets a session send thousands of lines with long replies, which would
// exhaust the default session budget.
var unlimitedBudget = calc.Limits{Budget: 1 << 50}

// hogLines are lines with long replies (4001 digits each).
var hogLines = []byte(strings.Repeat("10 ** 4000\n", 100))

// stuff sends lines with long replies from a client that never reads, until its writes
// block: its replies have filled the socket buffers, the server is blocked writing to it
// and has stopped reading from it. The buffers are small on both sides (see
// startSmallBuffers), so the server is soon blocked rather than just busy.
func stuff(t *testing.T, hog *client) {
	t.Helper()
	require.NoError(t, hog.conn.SetReadBuffer(4096))
	require.NoError(t, hog.conn.SetWriteBuffer(4096))
	for i := 0; ; i++ {
		require.Less(t, i, 100_000, "the server kept reading from a client that never reads")
		hog.conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := hog.conn.Write(hogLines); err != nil {
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			return
		}
	}
}

// requireClosedUnder requires that the server closes the connection of a client whose
// writes are blocked: its next write fails with something other than a timeout.
func requireClosedUnder(t *testing.T, hog *client) {
	t.Helper()
	for range 100 {
		hog.conn.SetWriteDeadline(time.Now().Add(patience))
		if _, err := hog.conn.Write(hogLines); err != nil {
			require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server did not close the connection: %v", err)
			return
		}
	}
	t.Fatal("the server kept reading from a client that never reads")
}

func TestClientThatNeverReadsIsClosedAndBlocksNobody(t *testing.T) {
	ts := startSmallBuffers(t, func(cfg *tcp.Config) {
		cfg.Session.WriteTimeout = time.Second
		cfg.Session.Limits = unlimitedBudget
	})
	hog := dial(t, ts.addr)
	stuff(t, hog)

	// While the hog's session is blocked, another client is served as usual.
	other := dial(t, ts.addr)
	for i := range 20 {
		require.Equal(t, strconv.Itoa(i+100), other.ask(fmt.Sprintf("%d + 100", i)))
	}

	// The hog's session ends when a write times out.
	requireClosedUnder(t, hog)
	assert.Equal(t, "write timeout", endOf(t, ts.logs, hog)["reason"])
	require.Equal(t, "42", other.ask("6 * 7"))
	require.Eventually(t, func() bool { return ts.presence.Counts().TCP == 1 }, patience, 5*time.Millisecond)
}

func TestShutdownAnswersLinesInFlight(t *testing.T) {
	ts := start(t, func(cfg *tcp.Config) { cfg.Session.Limits = unlimitedBudget })
	// Each reply has 4001 digits and the clients read nothing until Shutdown has begun,
	// so the sessions are blocked writing with most of their lines still unread, in
	// their read buffers and in the kernel's: all of them must be answered.
	const clients, lines = 2, 3000
	var big10 big.Int
	big10.Exp(big.NewInt(10), big.NewInt(4000), nil)
	want := func(i int) string { return new(big.Int).Add(&big10, big.NewInt(int64(i))).String() }

	var cs []*client
	for range clients {
		c := dial(t, ts.addr)
		var b strings.Builder
		for i := range lines {
			fmt.Fprintf(&b, "10 ** 4000 + %d\n", i)
		}
		c.send(b.String())
		require.Equal(t, want(0), c.line()) // the session is at work
		cs = append(cs, c)
	}

	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.srv.Shutdown(context.Background()) }()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			c.conn.SetReadDeadline(time.Now().Add(patience))
			for i := 1; i < lines; i++ {
				got, err := c.r.ReadString('\n')
				if err != nil || got != want(i)+"\n" {
					t.Errorf("reply %d: %.30q…, %v", i, got, err)
					return
				}
			}
			got, err := c.r.ReadString('\n')
			assert.NoError(t, err)
			assert.Equal(t, "Error: server shutting down\n", got)
		})
	}
	wg.Wait()
	for _, c := range cs {
		c.expectEOF()
		assert.Equal(t, "server shutting down", endOf(t, ts.logs, c)["reason"])
	}
	require.NoError(t, <-shutdown)
	require.ErrorIs(t, ts.serveResult(t), tcp.ErrServerClosed)
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
	ts := startSmallBuffers(t, func(cfg *tcp.Config) {
		cfg.Session.WriteTimeout = time.Minute
		cfg.Session.Limits = unlimitedBudget
	})
	hog := dial(t, ts.addr)
	stuff(t, hog) // its session is blocked in a write for up to a minute

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, ts.srv.Shutdown(ctx), context.DeadlineExceeded)
	require.ErrorIs(t, ts.serveResult(t), tcp.ErrServerClosed)
	require.NoError(t, ts.srv.Close()) // as with net/http: Shutdown waits, Close forces
	requireClosedUnder(t, hog)
	assert.Equal(t, "server closed", endOf(t, ts.logs, hog)["reason"])
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
	srv, err := tcp.New(tcp.Config{Session: session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{MaxMemory: -1})}})
	require.NoError(t, err)
	assert.Nil(t, srv.Addr(), "nil before Serve")
	ts := start(t, nil)
	require.Eventually(t, func() bool { return ts.srv.Addr() != nil }, patience, time.Millisecond)
	assert.Equal(t, ts.addr, ts.srv.Addr().String())
}

func TestNewWithoutADependencyFails(t *testing.T) {
	_, err := tcp.New(tcp.Config{Session: session.Config{Sched: sched.New(sched.Options{MaxMemory: -1})}})
	require.EqualError(t, err, "tcp: Config.Presence is nil")
	_, err = tcp.New(tcp.Config{Session: session.Config{Presence: presence.New(nil)}})
	require.EqualError(t, err, "tcp: Config.Sched is nil")
}

func TestSessionLogLines(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	c.send("40 + 2\n# nothing\n\n3 * 4\nquit\n")
	c.expect("42", "12")
	c.expectEOF()

	starts := ts.logs.Records(t, "session start")
	require.Len(t, starts, 1)
	end := endOf(t, ts.logs, c)
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
	for _, rec := range ts.logs.Records(t, "session end") {
		ids[rec["session"]] = true
	}
	assert.Len(t, ids, 3)
}

// connGoroutines returns the stacks of the goroutines that serve connections.
func connGoroutines() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "wscalc/tcp.(*conn).serve(") {
			out = append(out, g)
		}
	}
	return out
}

func TestLongWaitHandsOnToAFreshGoroutine(t *testing.T) {
	// The goroutine that evaluated a line (and grew its stack doing so) does not wait for
	// long: a fresh goroutine, which has done nothing but wait, takes the connection over,
	// with the session's state.
	ts := start(t, func(cfg *tcp.Config) { tcp.SetStackReset(cfg, 20*time.Millisecond) })
	c := dial(t, ts.addr)
	for i := range 3 {
		require.Equal(t, "x = "+strconv.Itoa(i), c.ask("x = "+strconv.Itoa(i)))
		require.Eventually(t, func() bool {
			gs := connGoroutines()
			return len(gs) == 1 && !strings.Contains(gs[0], "serveInput")
		}, patience, 5*time.Millisecond, "no fresh goroutine waits for the connection")
		require.Equal(t, strconv.Itoa(2*i), c.ask("x * 2"))
	}
	c.conn.Close()
	assert.EqualValues(t, 6, endOf(t, ts.logs, c)["requests"])
}

func TestIdleTimeoutSpansHandOns(t *testing.T) {
	const idle = 300 * time.Millisecond
	ts := start(t, func(cfg *tcp.Config) {
		cfg.Session.IdleTimeout = idle
		tcp.SetStackReset(cfg, 10*time.Millisecond)
	})
	c := dial(t, ts.addr)
	last := time.Now() // the server's idle wait starts after the line is sent
	require.Equal(t, "2", c.ask("1 + 1"))
	c.expect("Error: idle timeout")
	require.GreaterOrEqual(t, time.Since(last), idle, "closed before being idle")
	c.expectEOF()
}

func TestShutdownWakesAHandedOnWait(t *testing.T) {
	ts := start(t, func(cfg *tcp.Config) { tcp.SetStackReset(cfg, 10*time.Millisecond) })
	c := dial(t, ts.addr)
	require.Equal(t, "2", c.ask("1 + 1"))
	require.Eventually(t, func() bool {
		gs := connGoroutines()
		return len(gs) == 1 && !strings.Contains(gs[0], "serveInput")
	}, patience, 5*time.Millisecond)
	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.srv.Shutdown(context.Background()) }()
	c.expect("Error: server shutting down")
	c.expectEOF()
	require.NoError(t, <-shutdown)
}
