package loadgen

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func run(t *testing.T, cfg Config) *Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	s, err := Run(ctx, cfg)
	require.NoError(t, err)
	return s
}

func addrOf(s *tableServer, proto string) string {
	if proto == "ws" {
		return s.WS
	}
	return s.TCP
}

func TestCleanRunAnswersAndChecksEverything(t *testing.T) {
	srv := startTableServer(t, nil)
	for _, proto := range []string{"tcp", "ws"} {
		t.Run(proto, func(t *testing.T) {
			s := run(t, Config{Proto: proto, Addr: addrOf(srv, proto), Conns: 8, Pipeline: 16,
				Requests: 5003, Check: true})
			assert.True(t, s.OK(), "%+v", s)
			assert.Equal(t, 8, s.Held)
			assert.Equal(t, int64(5003), s.Sent)
			assert.Equal(t, int64(5003), s.Answered)
			assert.Equal(t, uint64(5003), s.Latency.Count)
			assert.Zero(t, s.Unanswered)
			assert.Zero(t, s.Mismatches)
			assert.Positive(t, s.RPS)
			assert.LessOrEqual(t, s.Latency.P50, s.Latency.P99)
			assert.LessOrEqual(t, s.Latency.P99, s.Latency.Max)
		})
	}
}

func TestDroppedRepliesAreReportedAsNeverAnswered(t *testing.T) {
	srv := startTableServer(t, func(s *tableServer) { s.dropEvery = 1000 })
	s := run(t, Config{Proto: "tcp", Addr: srv.TCP, Conns: 4, Pipeline: 8, Requests: 10_000,
		Check: true, Timeout: 500 * time.Millisecond})
	require.Equal(t, int64(10), srv.dropped.Load())
	assert.False(t, s.OK())
	// Each connection whose reply was dropped waits for it until the timeout, so the
	// requests it had in flight then are counted, and at least the dropped ones.
	assert.GreaterOrEqual(t, s.Unanswered, int64(10))
	assert.Equal(t, s.Sent-s.Answered, s.Unanswered)
	// A dropped reply shifts the ones after it on that connection: they are wrong.
	assert.Positive(t, s.Mismatches)
	var out bytes.Buffer
	s.WriteText(&out)
	assert.Contains(t, out.String(), "never answered")
	assert.Contains(t, out.String(), "FAILED")
}

func TestWrongRepliesAreMismatches(t *testing.T) {
	exprs := Builtin()
	srv := startTableServer(t, func(s *tableServer) { s.wrong = exprs[0].Line })
	s := run(t, Config{Proto: "ws", Addr: srv.WS, Conns: 2, Pipeline: 4,
		Requests: int64(10 * len(exprs)), Check: true})
	assert.Equal(t, int64(10), s.Mismatches)
	assert.Zero(t, s.Unanswered)
	require.NotEmpty(t, s.MismatchSamples)
	assert.Equal(t, Mismatch{Expr: exprs[0].Line, Want: exprs[0].Want, Got: "wrong"}, s.MismatchSamples[0])
	assert.False(t, s.OK())

	// Unchecked, the same replies are not counted.
	s = run(t, Config{Proto: "ws", Addr: srv.WS, Conns: 2, Pipeline: 4, Requests: 100})
	assert.Zero(t, s.Mismatches)
	assert.True(t, s.OK())
}

func TestServerClosingIsAnError(t *testing.T) {
	srv := startTableServer(t, func(s *tableServer) { s.closeAfter = 5 })
	for _, proto := range []string{"tcp", "ws"} {
		t.Run(proto, func(t *testing.T) {
			s := run(t, Config{Proto: proto, Addr: addrOf(srv, proto), Conns: 3, Pipeline: 1,
				Requests: 30})
			assert.Equal(t, 3, s.Errors)
			assert.Equal(t, int64(15), s.Answered)
			assert.Equal(t, s.Sent-s.Answered, s.Unanswered)
			assert.False(t, s.OK())
			require.NotEmpty(t, s.ErrorSamples)
			assert.Contains(t, s.ErrorSamples[0], "closed by the server")
		})
	}
}

func TestTimedRunStopsAndDrains(t *testing.T) {
	srv := startTableServer(t, nil)
	var progress bytes.Buffer
	s := run(t, Config{Proto: "tcp", Addr: srv.TCP, Conns: 4, Pipeline: 4,
		Duration: 1500 * time.Millisecond, Check: true, Progress: &progress})
	assert.True(t, s.OK(), "%+v", s)
	assert.Positive(t, s.Sent)
	assert.Equal(t, s.Sent, s.Answered)
	assert.Contains(t, progress.String(), "req/s")
	assert.Contains(t, progress.String(), "req/s successful  0 error replies/s")
}

func TestOpenLoopSendsOnSchedule(t *testing.T) {
	srv := startTableServer(t, nil)
	s := run(t, Config{Proto: "tcp", Addr: srv.TCP, Conns: 4, Pipeline: 2, Rate: 2000,
		Requests: 400, Check: true})
	assert.True(t, s.OK(), "%+v", s)
	assert.Equal(t, int64(400), s.Answered)
	assert.Equal(t, 2000.0, s.Rate)
}

func TestHoldKeepsIdleConnectionsThenOneRequestEach(t *testing.T) {
	srv := startTableServer(t, nil)
	var log bytes.Buffer
	s := run(t, Config{Proto: "tcp", Addr: srv.TCP, Conns: 200, Pipeline: 1, Requests: 200,
		Hold: 100 * time.Millisecond, Check: true, Log: &log})
	assert.True(t, s.OK(), "%+v", s)
	assert.Equal(t, 200, s.Held)
	assert.Equal(t, int64(200), srv.replies.Load(), "one request per connection")
	assert.Contains(t, log.String(), "200 of 200 connections open")
	assert.Contains(t, log.String(), "holding 200 idle connections")
}

func TestDialFailuresAreCounted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	l.Close() // nothing listens there now: every dial is refused
	s := run(t, Config{Proto: "tcp", Addr: closed, Conns: 3, Pipeline: 1, Requests: 3})
	assert.Equal(t, 3, s.DialErrors)
	assert.Equal(t, 3, s.Errors)
	assert.Zero(t, s.Held)
	assert.Zero(t, s.Sent)
	assert.False(t, s.OK())
	require.NotEmpty(t, s.ErrorSamples)
	assert.Contains(t, s.ErrorSamples[0], "refused")
}

func TestLongLinesAndReplies(t *testing.T) {
	srv := startTableServer(t, nil)
	var exprs []Expr
	for _, n := range []int{125, 126, 4000, 5000, 65535, 65536, 100_000} {
		line := "echo:" + strings.Repeat("x", n)
		exprs = append(exprs, Expr{Line: line, Want: line[len("echo:"):], Checked: true})
	}
	for _, proto := range []string{"tcp", "ws"} {
		t.Run(proto, func(t *testing.T) {
			s := run(t, Config{Proto: proto, Addr: addrOf(srv, proto), Conns: 2, Pipeline: 3,
				Requests: int64(4 * len(exprs)), Exprs: exprs, Check: true})
			assert.True(t, s.OK(), "%+v", s)
			assert.Equal(t, int64(4*len(exprs)), s.Answered)
		})
	}
}

func TestWebSocketPingsAreAnswered(t *testing.T) {
	srv := startTableServer(t, func(s *tableServer) { s.pingEvery = 20 * time.Millisecond })
	s := run(t, Config{Proto: "ws", Addr: srv.WS, Conns: 2, Pipeline: 2,
		Duration: 500 * time.Millisecond, Rate: 200, Check: true})
	assert.True(t, s.OK(), "%+v", s)
	assert.Positive(t, srv.pongs.Load(), "the server's pings got pongs")
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"proto":    {Proto: "udp", Conns: 1, Pipeline: 1},
		"conns":    {Proto: "tcp", Conns: 0, Pipeline: 1},
		"pipeline": {Proto: "tcp", Conns: 1, Pipeline: 0},
		"negative": {Proto: "tcp", Conns: 1, Pipeline: 1, Rate: -1},
		"no want":  {Proto: "tcp", Conns: 1, Pipeline: 1, Check: true, Exprs: []Expr{{Line: "1"}}},
	} {
		_, err := Run(context.Background(), cfg)
		assert.Error(t, err, name)
	}
}

func TestParseExprs(t *testing.T) {
	exprs, err := ParseExprs(strings.NewReader("# header\n\n1 + 1\t2\r\nsqrt(2)\n  # indented comment\t x\n"))
	require.NoError(t, err)
	assert.Equal(t, []Expr{{Line: "1 + 1", Want: "2", Checked: true}, {Line: "sqrt(2)"}}, exprs)

	_, err = ParseExprs(strings.NewReader("1\nquit\n"))
	assert.ErrorContains(t, err, "line 2")
	_, err = ParseExprs(strings.NewReader("# nothing\n"))
	assert.Error(t, err)
}
