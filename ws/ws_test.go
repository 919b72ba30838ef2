package ws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/presence"
	"wscalc/wire"
	"wscalc/ws"
)

func TestTextModeOneReplyPerLine(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dial(t, false)
	require.Empty(t, c.Subprotocol())

	write(t, c, "2 + 3 * 4")
	require.Equal(t, "14", readText(t, c))
	write(t, c, "1 / 0")
	require.Equal(t, "Error at column 3: division by zero", readText(t, c))
	// Blank and comment lines get no reply: the next reply is the next line's.
	write(t, c, "")
	write(t, c, "   ")
	write(t, c, "# just a note")
	write(t, c, "1/3")
	require.Equal(t, "1/3 ≈ 0.33333333333333333333", readText(t, c))
	// The session keeps state between lines.
	write(t, c, "x = 6 * 7")
	require.Equal(t, "x = 42", readText(t, c))
	write(t, c, "x + 1")
	require.Equal(t, "43", readText(t, c))

	write(t, c, "quit")
	requireClose(t, c, websocket.StatusNormalClosure, "quit")
}

func TestTextModeExit(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dial(t, false)
	write(t, c, "# nothing")
	write(t, c, "exit")
	requireClose(t, c, websocket.StatusNormalClosure, "quit")
}

func TestJSONModeHelloAndReplies(t *testing.T) {
	e := newEnv(t, envConfig{opts: func(o *ws.Config) { o.Session.Limits = calc.Limits{MaxVars: 7} }})
	c, _ := e.dialWith(t, e.dialOpts(true))
	require.Equal(t, "wscalc.v1.json", c.Subprotocol())

	hello := readMsg(t, c)
	require.Equal(t, "hello", hello.Type)
	require.Regexp(t, `^[0-9a-f]{16}$`, hello.Session)
	require.Equal(t, "test-version", hello.Version)
	want := calc.DefaultLimits()
	want.MaxVars = 7
	require.Equal(t, want, hello.Limits)
	clients := readMsg(t, c)
	require.Equal(t, "clients", clients.Type)
	require.Equal(t, presence.Counts{Total: 1, WS: 1}, clients.Counts)

	request(t, c, 1, "2 + 3 * 4")
	r := readReply(t, c)
	assert.Equal(t, msg{Type: "result", ID: json.RawMessage(`1`), Input: "2 + 3 * 4", Display: "14",
		Kind: "integer", Value: "14", Decimal: "14"}, r)

	request(t, c, "a", "1 / 0")
	r = readReply(t, c)
	assert.Equal(t, msg{Type: "error", ID: json.RawMessage(`"a"`), Input: "1 / 0",
		Display: "Error at column 3: division by zero", Message: "division by zero", Column: 3, End: 3}, r)

	request(t, c, 3, "x = 10/3")
	r = readReply(t, c)
	assert.Equal(t, "result", r.Type)
	assert.Equal(t, "rational", r.Kind)
	assert.Equal(t, "x", r.Name)
	assert.Equal(t, "10/3", r.Value)
	assert.Equal(t, "3.3333333333333333333", r.Decimal)
	assert.Equal(t, "x = 10/3 ≈ 3.3333333333333333333", r.Display)

	for i, blank := range []string{"", "  ", "# comment"} {
		request(t, c, 10+i, blank)
		r = readReply(t, c)
		assert.Equal(t, msg{Type: "result", ID: json.RawMessage(strconv.Itoa(10 + i)), Input: blank, Kind: "none"}, r)
	}
	for i, cmd := range []string{"help", "vars"} {
		request(t, c, 20+i, cmd)
		r = readReply(t, c)
		assert.Equal(t, "result", r.Type)
		assert.Equal(t, "text", r.Kind, cmd)
		assert.NotEmpty(t, r.Display, cmd)
	}

	request(t, c, 30, "quit")
	requireClose(t, c, websocket.StatusNormalClosure, "quit")
}

func TestJSONModeMalformedRequestIsAnErrorReply(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dial(t, true)
	cases := []struct {
		in     string
		wantID string // the id echoed, "" for none
	}{
		{`not json`, ""},
		{`{"id": 1`, ""},
		{`[1, 2]`, ""},
		{`"2 + 3"`, ""},
		{`{"id": 1}`, "1"},
		{`{"id": "x", "expr": null}`, `"x"`},
		{`{"id": 2, "expr": 5}`, ""},
		{`{"id": {}, "expr": "1"}`, ""},
		{`{"id": null, "expr": "1"}`, ""},
		{`{"id": true, "expr": "1"}`, ""},
		{`{"id": [1], "expr": "1"}`, ""},
	}
	for _, tc := range cases {
		write(t, c, tc.in)
		r := readReply(t, c)
		assert.Equal(t, "error", r.Type, tc.in)
		assert.Equal(t, ws.InvalidRequest, r.Message, tc.in)
		assert.Equal(t, "Error: "+ws.InvalidRequest, r.Display, tc.in)
		assert.Zero(t, r.Column, tc.in)
		assert.Zero(t, r.End, tc.in)
		assert.Equal(t, tc.wantID, string(r.ID), tc.in)
	}
	// Still connected and serving.
	request(t, c, 99, "6 * 7")
	r := readReply(t, c)
	assert.Equal(t, "42", r.Display)
	assert.Equal(t, "99", string(r.ID))
}

func TestPipelinedRepliesKeepOrder(t *testing.T) {
	const n = 300
	e := newEnv(t, envConfig{})
	for _, jsonMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", jsonMode), func(t *testing.T) {
			c := e.dial(t, jsonMode)
			// Send everything before reading anything.
			for i := range n {
				expr := fmt.Sprintf("%d * 7 + 1", i)
				if jsonMode {
					request(t, c, i, expr)
				} else {
					write(t, c, expr)
				}
			}
			for i := range n {
				want := strconv.Itoa(i*7 + 1)
				if jsonMode {
					r := readReply(t, c)
					require.Equal(t, strconv.Itoa(i), string(r.ID))
					require.Equal(t, want, r.Display)
				} else {
					require.Equal(t, want, readText(t, c))
				}
			}
			require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
		})
	}
}

func TestReplyIsNotHeldBehindASlowEvaluation(t *testing.T) {
	// Replies to requests that arrive together are written together, but never held
	// while a later request of the batch takes its time.
	release := make(chan struct{})
	e := newEnv(t, envConfig{setup: func(h *ws.Handler) {
		ws.SetEvalHook(h, func(line string) {
			if line == "slow" {
				<-release
			}
		})
	}})
	var once sync.Once
	releaseOnce := func() { once.Do(func() { close(release) }) }
	t.Cleanup(releaseOnce) // runs before the env's cleanup, even if the test fails
	c, r, err := handshake(strings.TrimPrefix(e.url, "ws://"), "")
	require.NoError(t, err)
	defer c.Close()
	// Both requests in one write, so that the session reads them together.
	_, err = c.Write(append(clientFrame("1 + 1"), clientFrame("slow")...))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	require.Equal(t, "2", serverFrame(t, r), "the first reply waited for the slow evaluation")
	releaseOnce()
	require.Contains(t, serverFrame(t, r), "Error")
}

func waitReturned(t *testing.T, returned <-chan struct{}) {
	t.Helper()
	select {
	case <-returned:
	case <-time.After(ioTimeout):
		t.Fatal("ServeHTTP did not return while its session is live")
	}
}

// clientFrame is a masked text frame (mask key 0) of a short message.
func clientFrame(s string) []byte {
	return append([]byte{0x81, 0x80 | byte(len(s)), 0, 0, 0, 0}, s...)
}

// serverFrame reads one unfragmented text frame.
func serverFrame(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	p, err := readFrame(r)
	require.NoError(t, err)
	return string(p)
}

func TestIdleSessionIsOneGoroutine(t *testing.T) {
	// An idle session costs one parked goroutine: ServeHTTP has returned (net/http has
	// freed the request and ended its connection goroutine), and the idle timeout, pings
	// and presence run on timers. JSON sessions share one presence goroutine.
	const n = 20
	returned := make(chan struct{}, 2*n)
	e := newEnv(t, envConfig{wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			returned <- struct{}{}
		})
	}})
	addr := strings.TrimPrefix(e.url, "ws://")
	settled := func(want int) {
		t.Helper()
		have := 0
		for range 200 {
			if have = runtime.NumGoroutine(); have == want {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: want %d, have %d\n%s", want, have, buf[:runtime.Stack(buf, true)])
	}
	// The first JSON session starts the presence goroutine; count from there.
	first, r, err := handshake(addr, wire.Subprotocol)
	require.NoError(t, err)
	defer first.Close()
	require.NoError(t, first.SetReadDeadline(time.Now().Add(ioTimeout)))
	require.Contains(t, serverFrame(t, r), `"type":"hello"`)
	waitReturned(t, returned)
	require.Eventually(t, func() bool { return e.wsCount() == 1 }, ioTimeout, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond) // let net/http's connection goroutine exit
	base := runtime.NumGoroutine()

	for i := range 2 * n {
		proto := ""
		if i%2 == 1 {
			proto = wire.Subprotocol
		}
		c, _, err := handshake(addr, proto)
		require.NoError(t, err)
		defer c.Close()
		waitReturned(t, returned) // ServeHTTP returned while the session lives on
	}
	require.Eventually(t, func() bool { return e.wsCount() == 2*n+1 }, ioTimeout, 5*time.Millisecond)
	settled(base + 2*n)

	// They still work.
	c, r, err := handshake(addr, "")
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(clientFrame("6 * 7"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	require.Equal(t, "42", serverFrame(t, r))
}

func TestCompressionIsOff(t *testing.T) {
	e := newEnv(t, envConfig{})
	for _, mode := range []websocket.CompressionMode{websocket.CompressionContextTakeover, websocket.CompressionNoContextTakeover} {
		o := e.dialOpts(false)
		o.CompressionMode = mode
		c, resp := e.dialWith(t, o)
		require.Empty(t, resp.Header.Get("Sec-WebSocket-Extensions"), "the server must not accept permessage-deflate")
		write(t, c, strings.Repeat("1 + ", 200)+"1")
		require.Equal(t, "201", readText(t, c))
	}
}

func TestOriginCheck(t *testing.T) {
	withOrigin := func(e *env, origin string) *websocket.DialOptions {
		o := e.dialOpts(false)
		o.HTTPHeader = http.Header{"Origin": {origin}}
		return o
	}
	t.Run("same origin only by default", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		require.Equal(t, http.StatusForbidden, e.dialErr(t, withOrigin(e, "http://evil.example")))
		require.Equal(t, http.StatusForbidden, e.dialErr(t, withOrigin(e, "http://127.0.0.1.evil.example")))
		e.dialWith(t, withOrigin(e, e.srv.URL)) // the page served by this host
		e.dialWith(t, e.dialOpts(false))        // no Origin: not a browser
		require.Equal(t, 2, e.rejected(t, "origin"))
	})
	t.Run("patterns add origins, never every origin", func(t *testing.T) {
		e := newEnv(t, envConfig{opts: func(o *ws.Config) {
			o.OriginPatterns = []string{"*", "https://*", "*.*", "good.example", "https://*.trusted.example", "[bad"}
		}})
		e.dialWith(t, withOrigin(e, "http://good.example"))
		e.dialWith(t, withOrigin(e, "https://app.trusted.example"))
		e.dialWith(t, withOrigin(e, e.srv.URL))
		require.Equal(t, http.StatusForbidden, e.dialErr(t, withOrigin(e, "http://evil.example")))
		require.Equal(t, http.StatusForbidden, e.dialErr(t, withOrigin(e, "https://evil.example")))
		require.Equal(t, http.StatusForbidden, e.dialErr(t, withOrigin(e, "http://app.trusted.example")))
		require.Equal(t, 3, e.rejected(t, "origin"))

		dropped := e.logs.Records(t, "ws: ignoring an origin pattern that allows every origin; list the origins to allow")
		var patterns []any
		for _, r := range dropped {
			patterns = append(patterns, r["pattern"])
		}
		require.ElementsMatch(t, []any{"*", "https://*", "*.*"}, patterns)
		require.Len(t, e.logs.Records(t, "ws: ignoring a malformed origin pattern"), 1)
	})
}

func TestReadLimit(t *testing.T) {
	limit := ws.ReadLimit(calc.Limits{})
	require.Equal(t, int64(4096*6+256), limit)
	e := newEnv(t, envConfig{})

	t.Run("a long text line reaches the core", func(t *testing.T) {
		c := e.dial(t, false)
		write(t, c, strings.Repeat("1", 5000))
		require.Equal(t, "Error: expression too long (limit 4096 bytes)", readText(t, c))
	})
	t.Run("a fully escaped JSON line fits", func(t *testing.T) {
		c := e.dial(t, true)
		expr := strings.Repeat("\x01", 4096) // each byte is \u0001 in JSON
		b, err := json.Marshal(map[string]any{"id": "a-fairly-long-request-identifier-0123456789", "expr": expr})
		require.NoError(t, err)
		require.Greater(t, len(b), 6*4096)
		write(t, c, string(b))
		r := readReply(t, c)
		require.Equal(t, "error", r.Type)
		require.Equal(t, expr, r.Input)
	})
	for _, jsonMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("over the limit closes with 1009 json=%v", jsonMode), func(t *testing.T) {
			c := e.dial(t, jsonMode)
			// The write may fail once the server has closed; the close status is what counts.
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			_ = c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("1", int(limit)+1)))
			code, _, _ := readClosed(t, c)
			require.Equal(t, websocket.StatusMessageTooBig, code)
		})
	}
	require.Eventually(t, func() bool { return e.wsCount() == 0 }, ioTimeout, 5*time.Millisecond)
}

func TestBinaryMessageCloses1003(t *testing.T) {
	e := newEnv(t, envConfig{})
	for _, jsonMode := range []bool{false, true} {
		c := e.dial(t, jsonMode)
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		require.NoError(t, c.Write(ctx, websocket.MessageBinary, []byte("1 + 1")))
		cancel()
		requireClose(t, c, websocket.StatusUnsupportedData, "binary messages are not supported")
	}
}

func TestIdleTimeoutCloses1008(t *testing.T) {
	const idle = 300 * time.Millisecond
	e := newEnv(t, envConfig{opts: func(o *ws.Config) { o.Session.IdleTimeout = idle }})
	c := e.dial(t, true)
	// Messages keep the session alive well past one idle period.
	var lastSent time.Time
	for i := range 5 {
		time.Sleep(idle / 3)
		lastSent = time.Now()
		request(t, c, i, "1 + 1")
		require.Equal(t, "2", readReply(t, c).Display)
	}
	requireClose(t, c, websocket.StatusPolicyViolation, "idle timeout")
	require.GreaterOrEqual(t, time.Since(lastSent), idle, "closed before being idle")

	text := e.dial(t, false)
	requireClose(t, text, websocket.StatusPolicyViolation, "idle timeout")
}

func TestTooManyConnectionsFromOneAddressCloses1013(t *testing.T) {
	e := newEnv(t, envConfig{perAddress: 2})
	a, _ := e.dialWith(t, e.from(t, "127.0.0.1"))
	b, _ := e.dialWith(t, e.from(t, "127.0.0.1"))
	write(t, a, "1 + 1")
	require.Equal(t, "2", readText(t, a))
	write(t, b, "1 + 2")
	require.Equal(t, "3", readText(t, b))

	// The third from the same address is accepted, then told why it cannot stay.
	over, _ := e.dialWith(t, e.from(t, "127.0.0.1"))
	requireClose(t, over, websocket.StatusTryAgainLater, "too many connections from your address (limit 2)")
	require.Equal(t, 1, e.rejected(t, "per_ip"))
	require.Equal(t, 2, e.wsCount(), "a refused connection never joins")

	// Another address is served meanwhile; a place freed is a place taken.
	other, _ := e.dialWith(t, e.from(t, "127.0.0.2"))
	write(t, other, "2 + 2")
	require.Equal(t, "4", readText(t, other))
	require.NoError(t, a.Close(websocket.StatusNormalClosure, ""))
	require.Eventually(t, func() bool { return e.wsCount() == 2 }, ioTimeout, 5*time.Millisecond)
	c, _ := e.dialWith(t, e.from(t, "127.0.0.1"))
	write(t, c, "2 + 3")
	require.Equal(t, "5", readText(t, c))
}

func TestMaxClientsCloses1013(t *testing.T) {
	e := newEnv(t, envConfig{opts: func(o *ws.Config) { o.Session.MaxClients = 2 }})
	a, b := e.dial(t, true), e.dial(t, false)
	// The third is accepted, then told why it cannot stay.
	over, _ := e.dialWith(t, e.dialOpts(true))
	requireClose(t, over, websocket.StatusTryAgainLater, "server busy")
	require.Equal(t, 2, e.wsCount())
	require.Equal(t, 1, e.rejected(t, "busy"))

	// The first two still work, and a place freed is a place taken.
	write(t, b, "2 ** 10")
	require.Equal(t, "1024", readText(t, b))
	require.NoError(t, a.Close(websocket.StatusNormalClosure, ""))
	require.Eventually(t, func() bool { return e.wsCount() == 1 }, ioTimeout, 5*time.Millisecond)
	d := e.dial(t, false)
	write(t, d, "1 + 2")
	require.Equal(t, "3", readText(t, d))
}

func TestPings(t *testing.T) {
	e := newEnv(t, envConfig{opts: func(o *ws.Config) { o.PingInterval = 10 * time.Millisecond }})
	var pings atomic.Int32
	o := e.dialOpts(false)
	o.OnPingReceived = func(context.Context, []byte) bool { pings.Add(1); return true }
	c, _ := e.dialWith(t, o)
	// The client reads (and so answers pings) while waiting for its reply.
	done := make(chan string)
	go func() {
		_, p, _ := read(t, c)
		done <- string(p)
	}()
	require.Eventually(t, func() bool { return pings.Load() >= 3 }, ioTimeout, 5*time.Millisecond)
	write(t, c, "2 + 2")
	require.Equal(t, "4", <-done)
	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
}

func TestPanicIsRecoveredAndCloses1011(t *testing.T) {
	e := newEnv(t, envConfig{setup: func(h *ws.Handler) {
		ws.SetEvalHook(h, func(line string) {
			if line == "boom" {
				panic("injected failure")
			}
		})
	}})
	for _, jsonMode := range []bool{false, true} {
		c := e.dial(t, jsonMode)
		if jsonMode {
			request(t, c, 0, "1 + 1")
			require.Equal(t, "2", readReply(t, c).Display)
			request(t, c, 1, "boom")
		} else {
			write(t, c, "1 + 1")
			require.Equal(t, "2", readText(t, c))
			write(t, c, "boom")
		}
		requireClose(t, c, websocket.StatusInternalError, "internal error")
	}
	// The server is still serving.
	c := e.dial(t, false)
	write(t, c, "3 * 3")
	require.Equal(t, "9", readText(t, c))
	require.Eventually(t, func() bool { return e.wsCount() == 1 }, ioTimeout, 5*time.Millisecond)

	panics := e.logs.Records(t, "session panic")
	require.Len(t, panics, 2)
	for _, p := range panics {
		require.Equal(t, "injected failure", p["panic"])
		require.Contains(t, p["stack"], "goroutine ")
		require.Contains(t, p["stack"], "ws.(*conn).handle")
	}
}

func TestSessionOutlivesRequestContext(t *testing.T) {
	// A middleware like chi's Timeout cancels the request context; the session lives on.
	e := newEnv(t, envConfig{wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}})
	c := e.dial(t, false)
	write(t, c, "5 - 7")
	require.Equal(t, "-2", readText(t, c))
}

func TestWriteTimeoutDropsAClientThatNeverReads(t *testing.T) {
	e := newEnv(t, envConfig{opts: func(c *ws.Config) { c.Session.WriteTimeout = 200 * time.Millisecond }})
	healthy := e.dial(t, false)
	stalled := e.dial(t, true)

	// The stalled client sends requests whose replies echo their 4 KB input and never reads,
	// until the server gives up on it (its writes then fail).
	expr := "# " + strings.Repeat("x", 4000)
	b, err := json.Marshal(map[string]any{"id": 1, "expr": expr})
	require.NoError(t, err)
	writerDone := make(chan int)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		n := 0
		for ; n < 20000; n++ {
			if stalled.Write(ctx, websocket.MessageText, b) != nil {
				break
			}
		}
		writerDone <- n
	}()
	// Meanwhile the healthy session is served.
	for i := range 20 {
		write(t, healthy, fmt.Sprintf("%d + 1", i))
		require.Equal(t, strconv.Itoa(i+1), readText(t, healthy))
	}
	require.Eventually(t, func() bool { return e.wsCount() == 1 }, 20*time.Second, 10*time.Millisecond)
	n := <-writerDone
	require.Less(t, n, 20000, "the server never stopped the client")
	write(t, healthy, "2 * 21")
	require.Equal(t, "42", readText(t, healthy))

	ends := e.logs.Records(t, "session end")
	require.Len(t, ends, 1)
	require.Equal(t, "write timeout", ends[0]["reason"])
}

func TestShutdownAnswersInFlightThenCloses1001(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan string, 10)
	e := newEnv(t, envConfig{setup: func(h *ws.Handler) {
		ws.SetEvalHook(h, func(line string) {
			if strings.HasPrefix(line, "slow") {
				entered <- line
				<-release
			}
		})
	}})
	idleText, idleJSON := e.dial(t, false), e.dial(t, true)
	var busy []*websocket.Conn
	for i := range 4 {
		c := e.dial(t, i%2 == 1)
		if i%2 == 1 {
			request(t, c, i, fmt.Sprintf("slow_%d = %d", i, i))
		} else {
			write(t, c, fmt.Sprintf("slow_%d = %d", i, i))
		}
		busy = append(busy, c)
	}
	for range busy {
		<-entered
	}

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shutdown <- e.h.Shutdown(ctx)
	}()
	// Idle sessions close at once; new sessions are refused.
	requireClose(t, idleText, websocket.StatusGoingAway, "server shutting down")
	requireClose(t, idleJSON, websocket.StatusGoingAway, "server shutting down")
	require.Equal(t, http.StatusServiceUnavailable, e.dialErr(t, e.dialOpts(true)))
	require.Equal(t, 1, e.rejected(t, "shutdown"))
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v with evaluations in flight", err)
	default:
	}

	close(release)
	for i, c := range busy {
		want := fmt.Sprintf("slow_%d = %d", i, i)
		if i%2 == 1 {
			r := readReply(t, c)
			require.Equal(t, want, r.Display)
			require.Equal(t, strconv.Itoa(i), string(r.ID))
		} else {
			require.Equal(t, want, readText(t, c))
		}
		requireClose(t, c, websocket.StatusGoingAway, "server shutting down")
	}
	require.NoError(t, <-shutdown)
	require.Zero(t, e.wsCount())

	reasons := map[any]int{}
	for _, r := range e.logs.Records(t, "session end") {
		reasons[r["reason"]]++
	}
	require.Equal(t, map[any]int{"server shutting down": 6}, reasons)
}

func TestShutdownDeadlineForcesClose(t *testing.T) {
	e := newEnv(t, envConfig{})
	// This client never reads, so it never answers the close handshake.
	e.dial(t, false)
	e.dial(t, false)
	require.Eventually(t, func() bool { return e.wsCount() == 2 }, ioTimeout, 5*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, e.h.Shutdown(ctx), context.DeadlineExceeded)
	require.NoError(t, e.h.Close()) // as with net/http: Shutdown waits, Close forces
	require.Zero(t, e.wsCount(), "Close returned before its sessions ended")
}

func TestCloseIsImmediate(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dial(t, true)
	require.NoError(t, e.h.Close())
	require.Zero(t, e.wsCount())
	_, _, err := read(t, c)
	require.Error(t, err)
	require.Equal(t, websocket.StatusCode(-1), websocket.CloseStatus(err), "no close frame expected")
	// Closed for good.
	require.Equal(t, http.StatusServiceUnavailable, e.dialErr(t, e.dialOpts(false)))
}

// waitCounts reads presence pushes until one equals want, returning how many it read.
func waitCounts(t *testing.T, c *websocket.Conn, want presence.Counts) int {
	t.Helper()
	for n := 1; n <= 1000; n++ {
		m := readMsg(t, c)
		require.Equal(t, "clients", m.Type)
		if m.Counts == want {
			return n
		}
	}
	t.Fatalf("no presence push with %+v", want)
	return 0
}

func TestPresencePushes(t *testing.T) {
	e := newEnv(t, envConfig{})
	a := e.dial(t, true)
	b, _ := e.dialWith(t, e.dialOpts(true))
	readMsg(t, b) // hello
	require.Equal(t, presence.Counts{Total: 2, WS: 2}, readMsg(t, b).Counts)
	waitCounts(t, a, presence.Counts{Total: 2, WS: 2})

	text := e.dial(t, false)
	waitCounts(t, a, presence.Counts{Total: 3, WS: 3})
	waitCounts(t, b, presence.Counts{Total: 3, WS: 3})

	leave, err := e.presence.Join(presence.TCP, 0) // a TCP session elsewhere in the server
	require.NoError(t, err)
	waitCounts(t, a, presence.Counts{Total: 4, WS: 3, TCP: 1})
	leave()
	waitCounts(t, a, presence.Counts{Total: 3, WS: 3})

	require.NoError(t, b.Close(websocket.StatusNormalClosure, ""))
	require.NoError(t, text.Close(websocket.StatusNormalClosure, ""))
	waitCounts(t, a, presence.Counts{Total: 1, WS: 1})

	// Text sessions never get presence: their first message is their reply.
	text2 := e.dial(t, false)
	write(t, text2, "7 * 6")
	require.Equal(t, "42", readText(t, text2))
	waitCounts(t, a, presence.Counts{Total: 2, WS: 2})
}

func TestPresenceIsCoalesced(t *testing.T) {
	const joiners = 50
	e := newEnv(t, envConfig{})
	observer := e.dial(t, true)

	start := time.Now()
	conns := make([]*websocket.Conn, joiners)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			c, _, err := websocket.Dial(ctx, e.url, e.dialOpts(true))
			if assert.NoError(t, err) {
				conns[i] = c
			}
		})
	}
	wg.Wait()
	pushes := waitCounts(t, observer, presence.Counts{Total: joiners + 1, WS: joiners + 1})
	elapsed := time.Since(start)
	t.Logf("%d joins in %v gave the observer %d presence pushes", joiners, elapsed, pushes)
	require.Less(t, pushes, joiners/2)
	// At most one push per quarter second, plus the one that may start at once.
	require.LessOrEqual(t, pushes, 2+int(elapsed/(time.Second/4)))

	for _, c := range conns {
		if c != nil {
			wg.Go(func() { c.CloseNow() })
		}
	}
	wg.Wait()
	waitCounts(t, observer, presence.Counts{Total: 1, WS: 1})
}

func TestSessionLogs(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dial(t, true)
	request(t, c, 1, "123456789 + 987654321")
	require.Equal(t, "1111111110", readReply(t, c).Display)
	request(t, c, 2, "# secret-comment")
	readReply(t, c)
	require.NoError(t, c.Close(websocket.StatusNormalClosure, "bye"))
	require.Eventually(t, func() bool { return len(e.logs.Records(t, "session end")) == 1 },
		ioTimeout, 5*time.Millisecond)

	recs := e.logs.Records(t, "")
	starts, ends := withMsg(recs, "session start"), withMsg(recs, "session end")
	require.Len(t, starts, 1)
	require.Len(t, ends, 1)
	id := starts[0]["session"]
	require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{16}$`), id)
	for _, r := range []map[string]any{starts[0], ends[0]} {
		require.Equal(t, id, r["session"])
		require.Equal(t, "ws", r["transport"])
		require.Contains(t, r["remote"], "127.0.0.1:")
	}
	require.Equal(t, float64(2), ends[0]["requests"])
	require.Equal(t, "client closed (1000)", ends[0]["reason"])
	require.Contains(t, ends[0], "duration")

	logs := e.logs.String()
	for _, secret := range []string{"123456789", "987654321", "1111111110", "secret-comment"} {
		require.NotContains(t, logs, secret, "logs must never contain expressions or results")
	}
}
