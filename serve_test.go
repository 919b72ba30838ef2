package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"wscalc/internal/logtest"
	"wscalc/wire"
)

// captureStderr sends the usage and the logs to a buffer for the test's duration.
func captureStderr(t *testing.T) *logtest.Buffer {
	t.Helper()
	buf := new(logtest.Buffer)
	old := stderr
	stderr = buf
	t.Cleanup(func() { stderr = old })
	return buf
}

// running is a run() in progress: the addresses it printed and its result.
type running struct {
	httpAddr, tcpAddr string
	lines             []string
	cancel            context.CancelFunc
	done              chan error
}

// startRun calls run with args and reads the startup lines it prints (want of them).
func startRun(t *testing.T, want int, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, pw)
		pw.CloseWithError(errors.New("run returned"))
		r.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	br := bufio.NewReader(pr)
	for range want {
		line, err := br.ReadString('\n')
		require.NoError(t, err, "startup line %d (got %q)", len(r.lines)+1, r.lines)
		line = strings.TrimSuffix(line, "\n")
		r.lines = append(r.lines, line)
		if rest, ok := strings.CutPrefix(line, "wscalc: playground http://"); ok {
			r.httpAddr = strings.TrimSuffix(rest, "/")
		}
		if rest, ok := strings.CutPrefix(line, "wscalc: line protocol on "); ok {
			r.tcpAddr, _, _ = strings.Cut(rest, " ")
		}
	}
	// Nothing else is printed; the pipe must not block run when it returns.
	go io.Copy(io.Discard, pr)
	return r
}

// stop cancels run and returns its result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return within 20s of cancel")
		return nil
	}
}

func TestRunServesEveryTransportAndShutsDownCleanly(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	logs := captureStderr(t)
	r := startRun(t, 2, "-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0")
	require.NotEmpty(t, r.httpAddr, r.lines)
	require.NotEmpty(t, r.tcpAddr, r.lines)
	_, port, err := net.SplitHostPort(r.tcpAddr)
	require.NoError(t, err)
	assert.Equal(t, "wscalc: line protocol on "+r.tcpAddr+" (try: nc 127.0.0.1 "+port+")", r.lines[1])

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// TCP: one line, one reply; the session stays open through the shutdown.
	tc, err := net.Dial("tcp", r.tcpAddr)
	require.NoError(t, err)
	defer tc.Close()
	require.NoError(t, tc.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = io.WriteString(tc, "2 + 3 * 4\n")
	require.NoError(t, err)
	tr := bufio.NewReader(tc)
	line, err := tr.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "14\n", line)

	// HTTP: the playground with its policy, and the API.
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + r.httpAddr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "ws://"+r.httpAddr)

	resp, err = client.Get("http://" + r.httpAddr + "/api/eval?expr=" + url.QueryEscape("6 * 7"))
	require.NoError(t, err)
	var res wire.Result
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "42", res.Display)

	// WebSocket, JSON mode: hello, then one evaluation; the session stays open too.
	wc, _, err := websocket.Dial(ctx, "ws://"+r.httpAddr+"/ws",
		&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	require.NoError(t, err)
	defer wc.CloseNow()
	var hello wire.Hello
	_, msg, err := wc.Read(ctx)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(msg, &hello), string(msg))
	assert.Equal(t, "hello", hello.Type)
	assert.Equal(t, "dev", hello.Version)
	require.NoError(t, wc.Write(ctx, websocket.MessageText, []byte(`{"id":1,"expr":"1/4"}`)))
	for {
		_, msg, err = wc.Read(ctx)
		require.NoError(t, err)
		if !bytes.Contains(msg, []byte(`"type":"clients"`)) {
			break // presence pushes may come first
		}
	}
	require.NoError(t, json.Unmarshal(msg, &res), string(msg))
	assert.Equal(t, "0.25", res.Display)

	// Shut down with both sessions open; read concurrently, as the close handshake needs.
	wsClosed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := wc.Read(ctx); err != nil {
				wsClosed <- err
				return
			}
		}
	}()
	require.NoError(t, r.stop(t))

	rest, err := io.ReadAll(tr)
	require.NoError(t, err)
	assert.Equal(t, "Error: server shutting down\n", string(rest))
	werr := <-wsClosed
	assert.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(werr), "%v", werr)
	var ce websocket.CloseError
	if assert.ErrorAs(t, werr, &ce) {
		assert.Equal(t, "server shutting down", ce.Reason)
	}

	// The listeners are gone.
	_, err = net.DialTimeout("tcp", r.httpAddr, time.Second)
	assert.Error(t, err)
	_, err = net.DialTimeout("tcp", r.tcpAddr, time.Second)
	assert.Error(t, err)

	out := logs.String()
	assert.Contains(t, out, "wscalc serving")
	assert.Contains(t, out, "playground=http://"+r.httpAddr+"/")
	assert.Contains(t, out, `try="nc 127.0.0.1 `+port+`"`)
	assert.Contains(t, out, "shut down cleanly")
	assert.NotContains(t, out, "6 * 7", "logs never carry expressions")
}

func TestRunBadCommandLine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{"-no-such-flag"}, "no-such-flag"},
		{[]string{"-max-clients", "many"}, "max-clients"},
		{[]string{"-max-clients", "0"}, "max-clients"},
		{[]string{"-idle-timeout", "soon"}, "idle-timeout"},
		{[]string{"-shutdown-timeout", "-1s"}, "shutdown-timeout"},
		{[]string{"-log-format", "xml"}, "text or json"},
		{[]string{"-log-level", "loud"}, "debug, info, warn or error"},
		{[]string{"-allow-origin", "*"}, "every origin"},
		{[]string{"-allow-origin", "https://*"}, "every origin"},
		{[]string{"-http", "", "-tcp", ""}, "nothing to serve"},
		{[]string{"serve"}, `unexpected argument "serve"`},
	} {
		err := run(context.Background(), c.args, io.Discard)
		var ue usageError
		if assert.ErrorAs(t, err, &ue, "%q", c.args) {
			assert.Contains(t, err.Error(), c.mention, "%q", c.args)
		}
	}
}

func TestRunHelpListsFlagsEnvAndSubcommands(t *testing.T) {
	out := captureStderr(t)
	err := run(context.Background(), []string{"-h"}, io.Discard)
	require.ErrorIs(t, err, flag.ErrHelp)
	usage := out.String()
	for _, f := range []string{"http", "tcp", "max-clients", "idle-timeout", "shutdown-timeout",
		"allow-origin", "log-format", "log-level"} {
		assert.Contains(t, usage, "-"+f+" ")
		assert.Contains(t, usage, envName(f))
	}
	assert.Contains(t, usage, "WSCALC_MAX_CLIENTS")
	for _, sub := range []string{"wscalc eval", "wscalc client", "wscalc bench"} {
		assert.Contains(t, usage, sub)
	}
	assert.Contains(t, usage, "$WSCALC_TCP (default 127.0.0.1:10000)")
}

func TestConfigFromEnvironment(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}

	c, err := parseConfig(nil, env(), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{httpAddr: "127.0.0.1:8080", tcpAddr: "127.0.0.1:10000", maxClients: 10000,
		sessionBudget: 200_000, idleTimeout: 10 * time.Minute, shutdownTimeout: 10 * time.Second, logFormat: "text", logLevel: slog.LevelInfo}, c)

	c, err = parseConfig(nil, env(
		"WSCALC_HTTP", "0.0.0.0:80", "WSCALC_TCP", "", "WSCALC_MAX_CLIENTS", "5", "WSCALC_SESSION_BUDGET", "1000000",
		"WSCALC_IDLE_TIMEOUT", "90s", "WSCALC_SHUTDOWN_TIMEOUT", "3s",
		"WSCALC_ALLOW_ORIGIN", "a.example, *.b.example,", "WSCALC_LOG_FORMAT", "json", "WSCALC_LOG_LEVEL", "DEBUG",
	), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:80", c.httpAddr)
	assert.Equal(t, "", c.tcpAddr, "an empty variable disables the listener")
	assert.Equal(t, 5, c.maxClients)
	assert.Equal(t, 1_000_000, c.sessionBudget)
	assert.Equal(t, 90*time.Second, c.idleTimeout)
	assert.Equal(t, 3*time.Second, c.shutdownTimeout)
	assert.Equal(t, []string{"a.example", "*.b.example"}, c.allowOrigins.patterns)
	assert.Equal(t, "json", c.logFormat)
	assert.Equal(t, slog.LevelDebug, c.logLevel)

	// Flags win, and -allow-origin replaces the environment's list instead of adding to it.
	c, err = parseConfig([]string{"-max-clients", "7", "-allow-origin", "c.example", "-allow-origin", "d.example"},
		env("WSCALC_MAX_CLIENTS", "5", "WSCALC_ALLOW_ORIGIN", "a.example"), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 7, c.maxClients)
	assert.Equal(t, []string{"c.example", "d.example"}, c.allowOrigins.patterns)

	_, err = parseConfig(nil, env("WSCALC_IDLE_TIMEOUT", "soon"), io.Discard)
	var ue usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "WSCALC_IDLE_TIMEOUT")
	assert.Contains(t, err.Error(), `"soon"`)
}

// The environment reaches run: WSCALC_TCP= disables the line protocol and
// WSCALC_LOG_FORMAT=json makes the logs JSON; WSCALC_SESSION_BUDGET reaches the sessions.
func TestRunReadsEnvironment(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	logs := captureStderr(t)
	t.Setenv("WSCALC_HTTP", "127.0.0.1:0")
	t.Setenv("WSCALC_TCP", "")
	t.Setenv("WSCALC_LOG_FORMAT", "json")
	t.Setenv("WSCALC_SESSION_BUDGET", "999")
	r := startRun(t, 1)
	require.NotEmpty(t, r.httpAddr, r.lines)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + r.httpAddr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	// A power costs 1000 units: more than this server's whole session budget.
	resp, err = client.Get("http://" + r.httpAddr + "/api/eval?expr=2**2")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(body), "limit 999 units")
	require.NoError(t, r.stop(t))
	http.DefaultClient.CloseIdleConnections()

	first, _, _ := strings.Cut(logs.String(), "\n")
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(first), &entry), first)
	assert.Equal(t, "wscalc serving", entry["msg"])
	assert.NotContains(t, entry, "line_protocol")
}

func TestRunPortInUse(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	for _, args := range [][]string{
		{"-http", busy.Addr().String(), "-tcp", "127.0.0.1:0"},
		{"-http", "127.0.0.1:0", "-tcp", busy.Addr().String()},
	} {
		err := run(context.Background(), args, io.Discard)
		require.Error(t, err, "%q", args)
		assert.False(t, errors.As(err, new(usageError)), "a busy port is not a usage error (exit 1)")
		assert.Contains(t, err.Error(), "cannot listen")
		assert.Contains(t, err.Error(), busy.Addr().String())
	}
}

// The HTTP server's WriteTimeout bounds replies, not WebSocket sessions: net/http clears
// the deadlines of a hijacked connection. Shorten it and use a session for longer.
func TestWriteTimeoutDoesNotCutWebSockets(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg, err := parseConfig(nil, func(string) (string, bool) { return "", false }, io.Discard)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := newServers(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, nil)
	s.http.WriteTimeout = 200 * time.Millisecond
	s.http.ReadTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln, nil, 10*time.Second) }()
	defer func() {
		cancel()
		assert.NoError(t, <-done)
	}()

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	wc, _, err := websocket.Dial(dctx, "ws://"+ln.Addr().String()+"/ws", nil)
	require.NoError(t, err)
	defer wc.CloseNow()
	time.Sleep(3 * s.http.WriteTimeout)
	require.NoError(t, wc.Write(dctx, websocket.MessageText, []byte("1000 + 24")))
	_, msg, err := wc.Read(dctx)
	require.NoError(t, err)
	assert.Equal(t, "1024", string(msg))
	wc.Close(websocket.StatusNormalClosure, "")
}

func TestDisplayAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080",
		"0.0.0.0:8080":   "localhost:8080",
		"[::]:10000":     "localhost:10000",
		"[::1]:10000":    "[::1]:10000",
	} {
		addr, err := net.ResolveTCPAddr("tcp", in)
		require.NoError(t, err)
		assert.Equal(t, want, displayAddr(addr), in)
	}
}
