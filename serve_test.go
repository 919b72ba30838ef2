package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"wscalc/calc"
	"wscalc/cluster"
	"wscalc/internal/logtest"
	"wscalc/rooms"
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
		// -log-format json: {"msg":"playground","url":…}, {"msg":"line protocol","addr":…}
		var rec struct{ Msg, URL, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil {
			switch rec.Msg {
			case "playground":
				r.httpAddr = strings.TrimSuffix(strings.TrimPrefix(rec.URL, "http://"), "/")
			case "line protocol":
				r.tcpAddr = rec.Addr
			}
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
		{[]string{"-max-conns-per-ip", "0"}, "max-conns-per-ip"},
		{[]string{"-drain-delay", "-1s"}, "drain-delay"},
		{[]string{"-room-members", "0"}, "room-members"},
		{[]string{"-max-rooms", "0"}, "max-rooms"},
		{[]string{"-room-ttl", "-1s"}, "room-ttl"},
		{[]string{"-allow-host", "*"}, "every host"},
		{[]string{"-allow-host", "http://example.com"}, "not a URL"},
		{[]string{"-max-memory", "lots"}, "want a size such as"},
		{[]string{"-max-memory", "512MB"}, "write MiB"},
		{[]string{"-max-memory", "1MiB"}, "want at least 32 MiB"},
		{[]string{"-session-memory", "-4MiB"}, "want a size such as"},
		{[]string{"-session-memory", "10"}, "want at least 1 KiB"},
		{[]string{"-session-memory", "1GiB", "-max-memory", "512MiB"}, "more than -max-memory"},
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
		"allow-origin", "log-format", "log-level", "max-conns-per-ip", "drain-delay", "allow-host",
		"session-memory", "max-memory", "room-members", "max-rooms", "room-ttl"} {
		assert.Contains(t, usage, "-"+f+" ")
		assert.Contains(t, usage, envName(f))
	}
	assert.Contains(t, usage, "WSCALC_MAX_CLIENTS")
	for _, sub := range []string{"wscalc eval", "wscalc client", "wscalc bench"} {
		assert.Contains(t, usage, sub)
	}
	assert.Contains(t, usage, "$WSCALC_TCP (default 127.0.0.1:10000)")
	assert.Contains(t, usage, "$WSCALC_SESSION_MEMORY (default 4 MiB)")
	assert.Contains(t, usage, "$WSCALC_MAX_CONNS_PER_IP (default 256)")
	assert.Contains(t, usage, "default a quarter of the machine's memory")
}

func TestConfigFromEnvironment(t *testing.T) {
	env := func(kv ...string) []string {
		var environ []string
		for i := 0; i < len(kv); i += 2 {
			environ = append(environ, kv[i]+"="+kv[i+1])
		}
		return environ
	}

	c, err := parseConfig(nil, env(), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{httpAddr: "127.0.0.1:8080", tcpAddr: "127.0.0.1:10000", maxClients: 10000,
		sessionBudget: 200_000, idleTimeout: 10 * time.Minute, shutdownTimeout: 10 * time.Second,
		maxConnsPerIP: 256, sessionMemory: 4 << 20, logFormat: "text", logLevel: slog.LevelInfo,
		rooms: rooms.Limits{MembersPerRoom: 1000, MaxRooms: 10000, RoomTTL: 10 * time.Minute}}, c)

	c, err = parseConfig(nil, env(
		"WSCALC_HTTP", "0.0.0.0:80", "WSCALC_TCP", "", "WSCALC_MAX_CLIENTS", "5", "WSCALC_SESSION_BUDGET", "1000000",
		"WSCALC_IDLE_TIMEOUT", "90s", "WSCALC_SHUTDOWN_TIMEOUT", "3s",
		"WSCALC_ALLOW_ORIGIN", "a.example, *.b.example,", "WSCALC_LOG_FORMAT", "json", "WSCALC_LOG_LEVEL", "DEBUG",
		"WSCALC_MAX_CONNS_PER_IP", "50", "WSCALC_DRAIN_DELAY", "5s", "WSCALC_ALLOW_HOST", "Calc.Example, *.dev.example",
		"WSCALC_SESSION_MEMORY", "512KiB", "WSCALC_MAX_MEMORY", "1.5GiB",
		"WSCALC_ROOM_MEMBERS", "20", "WSCALC_MAX_ROOMS", "30", "WSCALC_ROOM_TTL", "0",
	), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, rooms.Limits{MembersPerRoom: 20, MaxRooms: 30}, c.rooms)
	assert.Equal(t, "0.0.0.0:80", c.httpAddr)
	assert.Equal(t, "", c.tcpAddr, "an empty variable disables the listener")
	assert.Equal(t, 5, c.maxClients)
	assert.Equal(t, 1_000_000, c.sessionBudget)
	assert.Equal(t, 90*time.Second, c.idleTimeout)
	assert.Equal(t, 3*time.Second, c.shutdownTimeout)
	assert.Equal(t, []string{"a.example", "*.b.example"}, c.allowOrigins.patterns)
	assert.Equal(t, "json", c.logFormat)
	assert.Equal(t, slog.LevelDebug, c.logLevel)
	assert.Equal(t, 50, c.maxConnsPerIP)
	assert.Equal(t, 5*time.Second, c.drainDelay)
	assert.Equal(t, []string{"calc.example", "*.dev.example"}, c.allowHosts.hosts)
	assert.EqualValues(t, 512<<10, c.sessionMemory)
	assert.EqualValues(t, 1536<<20, c.maxMemory)

	// Flags win, and -allow-origin replaces the environment's list instead of adding to it.
	c, err = parseConfig([]string{"-max-clients", "7", "-allow-origin", "c.example", "-allow-origin", "d.example"},
		env("WSCALC_MAX_CLIENTS", "5", "WSCALC_ALLOW_ORIGIN", "a.example"), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 7, c.maxClients)
	assert.Equal(t, []string{"c.example", "d.example"}, c.allowOrigins.patterns)

	c, err = parseConfig([]string{"-allow-host", "c.example,d.example:8080", "-allow-host", "e.example"},
		env("WSCALC_ALLOW_HOST", "a.example"), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"c.example", "d.example:8080", "e.example"}, c.allowHosts.hosts)

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

	var entry map[string]any
	for line := range strings.Lines(logs.String()) {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		if e["msg"] == "wscalc serving" {
			entry = e
			break
		}
	}
	require.NotNil(t, entry, "no start-up line in\n%s", logs.String())
	assert.NotContains(t, entry, "line_protocol")
	assert.Equal(t, "embedded single", entry["cluster"], "the start-up line says the cluster mode")
	assert.NotEmpty(t, entry["instance"])
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
	cfg, err := parseConfig(nil, nil, io.Discard)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.cluster.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	node, err := cluster.Start(context.Background(), cfg.cluster)
	require.NoError(t, err)
	s, err := newServers(cfg, cfg.cluster.Logger, node, ln, nil)
	require.NoError(t, err) // serve closes the node
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

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0":         0,
		"4194304":   4 << 20,
		"4MiB":      4 << 20,
		"4 MiB":     4 << 20,
		"4mib":      4 << 20,
		"512MiB":    512 << 20,
		"1GiB":      1 << 30,
		"1.5GiB":    1536 << 20,
		"512KiB":    512 << 10,
		"100B":      100,
		"2TiB":      2 << 40,
		" 1 GiB ":   1 << 30,
		"0.5KiB":    512,
		"1.0001KiB": 1024, // a fraction of a byte is rounded down
	} {
		got, err := parseSize(in)
		if assert.NoError(t, err, "%q", in) {
			assert.Equal(t, want, got, "%q", in)
		}
	}
	for in, mention := range map[string]string{
		"":                    "want a size such as",
		"MiB":                 "want a size such as",
		"-1MiB":               "want a size such as",
		"1.2.3MiB":            "want a size such as",
		".5GiB":               "want a size such as",
		"5.GiB":               "want a size such as",
		"1e9":                 "want a size such as",
		"4 mebibytes":         "want a size such as",
		"512MB":               "write MiB",
		"1G":                  "write GiB",
		"2kb":                 "write KiB",
		"99999999TiB":         "too large",
		"9223372036854775807": "too large",
	} {
		_, err := parseSize(in)
		if assert.Error(t, err, "%q", in) {
			assert.Contains(t, err.Error(), mention, "%q", in)
		}
	}
	// What the usage prints parses back.
	for _, n := range []int64{4 << 20, 512 << 20, 1536 << 20, 1 << 30} {
		got, err := parseSize(sizeFlag{&n}.String())
		require.NoError(t, err)
		assert.Equal(t, n, got)
	}
}

func TestFitClients(t *testing.T) {
	cfg := config{httpAddr: "x", tcpAddr: "y", maxClients: 10000, maxConnsPerIP: 256}
	fixed := uint64(256 + 256 + fileMargin)
	n, need := fitClients(1<<20, cfg)
	assert.Equal(t, 10000, n)
	assert.Equal(t, 2*10000+fixed, need)

	n, need = fitClients(4096, cfg)
	assert.Equal(t, int((4096-fixed)/2), n, "both transports fit in what is left")
	assert.Equal(t, 2*10000+fixed, need)

	cfg.tcpAddr = ""
	n, _ = fitClients(4096, cfg)
	assert.Equal(t, int(4096-fixed), n, "WebSocket alone")

	n, _ = fitClients(fixed, cfg)
	assert.Equal(t, 0, n, "no room at all")
}

// One count per client address across both listeners: with -max-conns-per-ip 2, a TCP
// session and a WebSocket session from 127.0.0.1 take its two places, and its next
// connection is refused on either listener, while 127.0.0.2 is served.
func TestRunCountsConnectionsPerAddressAcrossTransports(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	r := startRun(t, 2, "-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-max-conns-per-ip", "2")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	dialer := func(local string) *net.Dialer {
		return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	}
	httpFrom := func(local string) *http.Client {
		tr := &http.Transport{DialContext: dialer(local).DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	ask := func(c net.Conn, line string) string {
		t.Helper()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		_, err := io.WriteString(c, line+"\n")
		require.NoError(t, err)
		reply, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		return strings.TrimSuffix(reply, "\n")
	}

	tc, err := dialer("127.0.0.1").Dial("tcp", r.tcpAddr)
	require.NoError(t, err)
	defer tc.Close()
	require.Equal(t, "2", ask(tc, "1 + 1"))
	wc, _, err := websocket.Dial(ctx, "ws://"+r.httpAddr+"/ws", &websocket.DialOptions{HTTPClient: httpFrom("127.0.0.1")})
	require.NoError(t, err)
	defer wc.CloseNow()
	require.NoError(t, wc.Write(ctx, websocket.MessageText, []byte("2 + 2")))
	_, msg, err := wc.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, "4", string(msg))

	over, err := dialer("127.0.0.1").Dial("tcp", r.tcpAddr)
	require.NoError(t, err)
	defer over.Close()
	require.NoError(t, over.SetDeadline(time.Now().Add(10*time.Second)))
	refusal, err := io.ReadAll(over)
	require.NoError(t, err)
	assert.Equal(t, "Error: too many connections from your address (limit 2)\n", string(refusal))

	resp, err := httpFrom("127.0.0.1").Get("http://" + r.httpAddr + "/api/eval?expr=1")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	other := httpFrom("127.0.0.2")
	resp, err = other.Get("http://" + r.httpAddr + "/api/eval?expr=3")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	ot, err := dialer("127.0.0.2").Dial("tcp", r.tcpAddr)
	require.NoError(t, err)
	defer ot.Close()
	assert.Equal(t, "5", ask(ot, "2 + 3"))

	// From a third address: 127.0.0.2's two places are taken (its API connection may not
	// have been released yet, and the TCP session).
	resp, err = httpFrom("127.0.0.3").Get("http://" + r.httpAddr + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `wscalc_rejected_sessions_total{reason="per_ip",transport="tcp"} 1`)
	assert.Contains(t, string(body), `wscalc_rejected_sessions_total{reason="per_ip",transport="http"} 1`)
	wc.CloseNow()
	require.NoError(t, r.stop(t))
}

// With -drain-delay, /readyz answers 503 from the signal on while everything else is
// served as before, new connections included; then the server shuts down as usual.
func TestRunDrainDelay(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	logs := captureStderr(t)
	r := startRun(t, 2, "-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-drain-delay", "2s")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + r.httpAddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	require.Eventually(t, func() bool { code, _ := get("/readyz"); return code == http.StatusOK },
		10*time.Second, 5*time.Millisecond, "ready once the embedded NATS answers")

	signalled := time.Now()
	r.cancel()
	require.Eventually(t, func() bool { code, _ := get("/readyz"); return code == http.StatusServiceUnavailable },
		time.Second, 5*time.Millisecond, "readiness turns false at the signal")
	code, body := get("/api/eval?expr=6*7")
	assert.Equal(t, http.StatusOK, code, body)
	tc, err := net.DialTimeout("tcp", r.tcpAddr, time.Second)
	require.NoError(t, err, "the listeners stay open during the delay")
	defer tc.Close()
	require.NoError(t, tc.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(tc, "1 + 1\n")
	require.NoError(t, err)
	tr := bufio.NewReader(tc)
	line, err := tr.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "2\n", line)
	require.Less(t, time.Since(signalled), 2*time.Second, "the checks ran within the delay")

	require.NoError(t, r.stop(t))
	assert.GreaterOrEqual(t, time.Since(signalled), 2*time.Second)
	rest, err := io.ReadAll(tr)
	require.NoError(t, err)
	assert.Equal(t, "Error: server shutting down\n", string(rest))
	assert.Contains(t, logs.String(), "draining: /readyz answers 503")
}

// The HTTP listener is on loopback: the API refuses a foreign Host (DNS rebinding) unless
// -allow-host names it.
func TestRunRefusesForeignHostOnLoopback(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	r := startRun(t, 1, "-http", "127.0.0.1:0", "-tcp", "", "-allow-host", "calc.example")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	for host, want := range map[string]int{
		"evil.example":   http.StatusForbidden,
		"calc.example":   http.StatusOK,
		"localhost:8080": http.StatusOK,
		r.httpAddr:       http.StatusOK,
	} {
		req, err := http.NewRequest(http.MethodGet, "http://"+r.httpAddr+"/api/eval?expr=1", nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, host)
	}
	require.NoError(t, r.stop(t))
}

// SIGTERM loses nothing on WebSocket: the messages sent before it are all answered, in
// both modes, before the 1001 close (through the per-address counting of the listener).
func TestRunShutdownAnswersEveryWebSocketMessage(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	r := startRun(t, 1, "-http", "127.0.0.1:0", "-tcp", "", "-session-budget", "1000000000")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const messages = 250
	type result struct {
		answered int
		code     websocket.StatusCode
	}
	results := make(chan result, 2)
	var conns []*websocket.Conn
	for _, mode := range []string{"", wire.Subprotocol} {
		opts := &websocket.DialOptions{}
		if mode != "" {
			opts.Subprotocols = []string{mode}
		}
		c, _, err := websocket.Dial(ctx, "ws://"+r.httpAddr+"/ws", opts)
		require.NoError(t, err)
		defer c.CloseNow()
		conns = append(conns, c)
		for i := range messages {
			line := fmt.Sprintf("10 ** 3000 + %d", i)
			if mode != "" {
				line = fmt.Sprintf(`{"id":%d,"expr":"%s"}`, i, line)
			}
			require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(line)))
		}
		go func() {
			var res result
			for {
				_, msg, err := c.Read(ctx)
				if err != nil {
					res.code = websocket.CloseStatus(err)
					results <- res
					return
				}
				if bytes.Contains(msg, []byte(`"type":"result"`)) || mode == "" {
					res.answered++
				}
			}
		}()
	}
	r.cancel()
	for range conns {
		res := <-results
		assert.Equal(t, messages, res.answered)
		assert.Equal(t, websocket.StatusGoingAway, res.code)
	}
	require.NoError(t, r.stop(t))
}

func TestDefaultSessionMemoryIsCalcs(t *testing.T) {
	assert.EqualValues(t, calc.DefaultLimits().MaxSessionMemory, defaultSessionMemory)
}

// -session-memory reaches the sessions and -max-memory the scheduler (logged as a figure).
func TestRunMemoryFlags(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	oldLimit := debug.SetMemoryLimit(-1) // the scheduler sets the process's soft limit
	t.Cleanup(func() { debug.SetMemoryLimit(oldLimit) })
	logs := captureStderr(t)
	r := startRun(t, 2, "-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-session-memory", "1KiB", "-max-memory", "64MiB")
	tc, err := net.Dial("tcp", r.tcpAddr)
	require.NoError(t, err)
	defer tc.Close()
	require.NoError(t, tc.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(tc, "x = 10 ** 100\ny = 10 ** 10000\n")
	require.NoError(t, err)
	tr := bufio.NewReader(tc)
	line, err := tr.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "x = 10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\n", line)
	line, err = tr.ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, line, "session memory limit reached (limit 1 KiB)")
	require.NoError(t, r.stop(t))
	assert.Contains(t, logs.String(), `max_memory="64 MiB"`)
	assert.Contains(t, logs.String(), `session_memory="1 KiB"`)
}

// TestMain lets a test run this test binary as the wscalc command itself (main), to see
// its real exit status and everything it writes to stdout and stderr.
func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// asMainEnv, set to 1, makes the test binary run main (not a WSCALC_ variable, which the
// server would warn about).
const asMainEnv = "GO_TEST_AS_WSCALC_MAIN"

// wscalcCommand is this test binary run as `wscalc args…`, with env added to the test's
// environment.
func wscalcCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1"), env...)
	return cmd
}

// badValues are mistakes for each kind of flag, each of which must exit 2.
var badValues = map[string][]string{
	"http":             {"nonsense", "127.0.0.1:99999", "127.0.0.1", "local host:80", ":nosuchservice"},
	"tcp":              {"nonsense", ":-1", "[::1:10000"},
	"max-clients":      {"many", "1.5", "99999999999999999999", "0"},
	"session-budget":   {"lots", "0"},
	"idle-timeout":     {"30", "soon", "0"},
	"shutdown-timeout": {"10", "-1s"},
	"drain-delay":      {"5", "-1s"},
	"allow-origin":     {"*", "https://*"},
	"allow-host":       {"*", "http://example.com"},
	"max-conns-per-ip": {"many", "0"},
	"room-members":     {"many", "0"},
	"max-rooms":        {"many", "0"},
	"room-ttl":         {"10", "-1s"},
	"session-memory":   {"lots", "10", "4MB"},
	"max-memory":       {"lots", "1MiB"},
	"log-format":       {"xml"},
	"log-level":        {"loud"},
	"version":          {"maybe"},
	"instance":         {"calc 1", "ü", strings.Repeat("x", 65)},
	"cluster-listen":   {"nonsense", "10.0.0.1:99999"},
	"cluster-peers":    {"nonsense", ":6222", "10.0.0.1:0"},
	"nats-listen":      {"nonsense"},
	"nats-url":         {"http://10.0.0.9:4222", "nats://", "nats://a:4222,,nats://b:4222"},
}

// anyValue are the flags every value of which is valid alone: whether -data-dir is a
// usable directory is known when the server starts (exit 1), and what it contradicts is
// tested with the combinations (TestClusterFlagContradictionsExit2).
var anyValue = map[string]bool{"data-dir": true}

// A bad value of any flag, on the command line or in its environment variable, exits
// with status 2 and says which flag; every flag of the server has cases here.
func TestBadValueOfEveryFlagExits2(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := newFlagSet(new(config))
	fs.VisitAll(func(f *flag.Flag) {
		if !anyValue[f.Name] {
			assert.NotEmpty(t, badValues[f.Name], "no bad values tested for -%s", f.Name)
		}
	})
	for name, values := range badValues {
		require.NotNil(t, fs.Lookup(name), name)
		for _, v := range values {
			errOut := captureStderr(t)
			code := serveMain(context.Background(), []string{"-" + name + "=" + v}, io.Discard)
			assert.Equal(t, 2, code, "-%s=%s: %s", name, v, errOut)
			assert.Contains(t, errOut.String(), name, "-%s=%s", name, v)
			if noEnv[name] {
				continue
			}
			errOut = captureStderr(t)
			t.Setenv(envName(name), v)
			code = serveMain(context.Background(), nil, io.Discard)
			assert.Equal(t, 2, code, "%s=%s: %s", envName(name), v, errOut)
			assert.Contains(t, errOut.String(), envName(name))
			os.Unsetenv(envName(name))
		}
	}
}

// The real binary: -http nonsense exits 2 before listening, and says why in words.
func TestMainBadAddressExits2(t *testing.T) {
	cmd := wscalcCommand(t, nil, "-http", "nonsense")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Equal(t, `wscalc: invalid value "nonsense" for flag -http: missing port in address; `+addrSyntax+" (see wscalc -h)\n", errOut.String())
}

func TestFlagMessagesSayWhatToWrite(t *testing.T) {
	for _, c := range []struct {
		args    []string
		env     []string
		mention string
	}{
		{args: []string{"-idle-timeout", "30"}, mention: `invalid value "30" for flag -idle-timeout: missing unit in duration (e.g. 30s)`},
		{args: []string{"-drain-delay", "1.5"}, mention: "missing unit in duration (e.g. 1.5s)"},
		{env: []string{"WSCALC_SHUTDOWN_TIMEOUT=10"}, mention: `invalid value "10" for WSCALC_SHUTDOWN_TIMEOUT (flag -shutdown-timeout): missing unit in duration (e.g. 10s)`},
		{args: []string{"-idle-timeout", "soon"}, mention: "want a duration such as 30s"},
		{args: []string{"-max-clients", "many"}, mention: "want a whole number"},
		{args: []string{"-max-clients", "99999999999999999999"}, mention: "too large"},
		{args: []string{"-http", "nonsense"}, mention: "missing port in address"},
		{args: []string{"-http", ":99999"}, mention: "port 99999 is out of range"},
		{args: []string{"-tcp", "bad host:1"}, mention: `"bad host" is neither an IP address nor a host name`},
		{args: []string{"-tcp", ":nosuchservice"}, mention: `unknown port "nosuchservice"`},
	} {
		_, err := parseConfig(c.args, c.env, io.Discard)
		var ue usageError
		if assert.ErrorAs(t, err, &ue, "%q %q", c.args, c.env) {
			assert.Contains(t, err.Error(), c.mention)
			assert.NotContains(t, err.Error(), "parse error")
		}
	}
	for _, addr := range []string{"", ":0", "127.0.0.1:8080", "[::1]:10000", "localhost:8080", "0.0.0.0:80", "[fe80::1%eth0]:80", ":http", "calc.example.com:443"} {
		_, err := parseConfig([]string{"-http", addr, "-tcp", "127.0.0.1:0"}, nil, io.Discard)
		assert.NoError(t, err, "%q", addr)
	}
}

// Every enumerated value is accepted in any case, from a flag or the environment.
func TestEnumValuesAnyCase(t *testing.T) {
	c, err := parseConfig(nil, []string{"WSCALC_LOG_FORMAT=JSON", "WSCALC_LOG_LEVEL=INFO"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "json", c.logFormat)
	assert.Equal(t, slog.LevelInfo, c.logLevel)
	c, err = parseConfig([]string{"-log-format", "Text", "-log-level", "Warn"}, []string{"WSCALC_LOG_FORMAT=json"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "text", c.logFormat)
	assert.Equal(t, slog.LevelWarn, c.logLevel)
}

// The usage shows durations as they are typed.
func TestDurationDefaults(t *testing.T) {
	fs := newFlagSet(new(config))
	assert.Equal(t, "10m", fs.Lookup("idle-timeout").DefValue)
	assert.Equal(t, "10s", fs.Lookup("shutdown-timeout").DefValue)
	assert.Equal(t, "0s", fs.Lookup("drain-delay").DefValue)
	for d, want := range map[time.Duration]string{time.Hour: "1h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", 1500 * time.Millisecond: "1.5s"} {
		assert.Equal(t, want, formatDuration(d))
	}
}

// A WSCALC_* variable that no flag reads is warned about at start (with the likely
// intended one); the known ones are exactly the flags' variables.
func TestUnknownEnvironmentVariableIsWarnedAbout(t *testing.T) {
	c, err := parseConfig(nil, []string{"WSCALC_MAX_CLIENT=5", "WSCALC_HTTP=127.0.0.1:0", "WSCALC_LOGFORMAT=json",
		"WSCALC_FROBNICATE=1", "WSCALC_VERSION=1", "HOME=/root", "XWSCALC_HTTP=1"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"WSCALC_FROBNICATE", "WSCALC_LOGFORMAT", "WSCALC_MAX_CLIENT", "WSCALC_VERSION"}, c.unknownEnv)
	known := envVars(newFlagSet(new(config)))
	assert.Equal(t, "WSCALC_MAX_CLIENTS", closestEnv("WSCALC_MAX_CLIENT", known))
	assert.Equal(t, "WSCALC_LOG_FORMAT", closestEnv("WSCALC_LOGFORMAT", known))
	assert.Equal(t, "", closestEnv("WSCALC_FROBNICATE", known))
	assert.NotContains(t, known, "WSCALC_VERSION", "-version is not configuration")
	assert.Len(t, known, 23)

	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	logs := captureStderr(t)
	t.Setenv("WSCALC_LOG_FORMAT", "json")
	t.Setenv("WSCALC_MAX_CLIENT", "5")
	r := startRun(t, 1, "-http", "127.0.0.1:0", "-tcp", "")
	require.NoError(t, r.stop(t))
	warnings := logs.Records(t, "unknown environment variable, ignored (wscalc -h lists the WSCALC_* variables)")
	require.Len(t, warnings, 1, logs.String())
	assert.Equal(t, "WARN", warnings[0]["level"])
	assert.Equal(t, "WSCALC_MAX_CLIENT", warnings[0]["name"])
	assert.Equal(t, "WSCALC_MAX_CLIENTS", warnings[0]["did_you_mean"])
}

func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "wscalc", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "1b9a7c2e0000000000000000000000000000abcd"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	b := buildInfoOf(bi)
	platform := runtime.GOOS + "/" + runtime.GOARCH
	assert.Equal(t, buildInfo{Version: "v1.2.3", Revision: "1b9a7c2e0000000000000000000000000000abcd",
		Time: "2026-01-02T03:04:05Z", Modified: true, GoVersion: "go1.26.8", Platform: platform}, b)
	var out bytes.Buffer
	require.NoError(t, writeVersion(&out, "text", b))
	assert.Equal(t, "wscalc v1.2.3\n"+
		"  revision 1b9a7c2e0000000000000000000000000000abcd (modified)\n"+
		"  time     2026-01-02T03:04:05Z\n"+
		"  go       go1.26.8 "+platform+"\n", out.String())
	out.Reset()
	require.NoError(t, writeVersion(&out, "json", b))
	assert.JSONEq(t, `{"version":"v1.2.3","revision":"1b9a7c2e0000000000000000000000000000abcd",
		"time":"2026-01-02T03:04:05Z","modified":true,"go":"go1.26.8","platform":"`+platform+`"}`, out.String())

	// A build without VCS information or a module version (go run, tests).
	b = buildInfoOf(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}})
	out.Reset()
	require.NoError(t, writeVersion(&out, "text", b))
	assert.Equal(t, "wscalc dev\n  go       go1.26.8 "+platform+"\n", out.String())
	assert.Equal(t, "dev", buildInfoOf(nil).Version)
	assert.Equal(t, runtime.Version(), buildInfoOf(nil).GoVersion)

	// wscalc version, wscalc -version: this binary's, on stdout, without serving.
	for _, args := range [][]string{{"version"}, {"-version"}, {"-http", "127.0.0.1:0", "-version"}} {
		got, err := wscalcCommand(t, nil, args...).Output()
		require.NoError(t, err, "%q", args)
		assert.Regexp(t, `^wscalc dev\n(  revision .*\n)?(  time .*\n)?  go       go1\.\S+ `+platform+"\n$", string(got), "%q", args)
	}
	for _, args := range [][]string{{"version"}, {"-version"}} {
		got, err := wscalcCommand(t, []string{"WSCALC_LOG_FORMAT=JSON"}, args...).Output()
		require.NoError(t, err)
		var v buildInfo
		require.NoError(t, json.Unmarshal(got, &v), string(got))
		assert.Equal(t, "dev", v.Version)
		assert.Equal(t, runtime.Version(), v.GoVersion)
	}
	var exit *exec.ExitError
	require.ErrorAs(t, wscalcCommand(t, nil, "version", "now").Run(), &exit)
	assert.Equal(t, 2, exit.ExitCode())
}

// jsonLines decodes every line of out as a JSON object, failing the test on any other.
func jsonLines(t *testing.T, what, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" && out == "" {
			break
		}
		var rec map[string]any
		if !assert.NoError(t, json.Unmarshal([]byte(line), &rec), "%s line is not JSON: %q", what, line) {
			continue
		}
		recs = append(recs, rec)
	}
	return recs
}

// With -log-format json, every line the server writes, on stdout (the addresses) and on
// stderr (the logs, warnings included), is a JSON object; durations are seconds; the
// playground's files are logged at debug level; the metrics carry the build and the
// HTTP routes.
func TestMainJSONLogsOnly(t *testing.T) {
	cmd := wscalcCommand(t, []string{"WSCALC_LOG_FORMAT=json", "WSCALC_FROBNICATE=1"},
		"-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-log-level", "debug")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var errOut logtest.Buffer
	cmd.Stderr = &errOut
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()

	var out bytes.Buffer
	br := bufio.NewReader(io.TeeReader(stdout, &out))
	var httpAddr, tcpAddr string
	for range 2 {
		line, err := br.ReadString('\n')
		require.NoError(t, err, "stdout so far: %q; stderr: %s", out.String(), errOut.String())
		var rec struct{ Level, Msg, URL, Addr, Try string }
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		assert.Equal(t, "INFO", rec.Level)
		switch rec.Msg {
		case "playground":
			httpAddr = strings.TrimSuffix(strings.TrimPrefix(rec.URL, "http://"), "/")
		case "line protocol":
			tcpAddr = rec.Addr
			assert.Equal(t, "nc "+strings.Replace(tcpAddr, ":", " ", 1), rec.Try)
		}
	}
	require.NotEmpty(t, httpAddr, out.String())
	require.NotEmpty(t, tcpAddr, out.String())

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get("http://" + httpAddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	get("/")
	get("/style.css")
	get("/api/eval?expr=6*7")
	tc, err := net.Dial("tcp", tcpAddr)
	require.NoError(t, err)
	require.NoError(t, tc.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(tc, "1 + 1\nquit\n")
	require.NoError(t, err)
	_, err = io.ReadAll(tc)
	require.NoError(t, err)
	tc.Close()

	m := get("/metrics")
	assert.Contains(t, m, `wscalc_build_info{goversion="`+runtime.Version()+`",revision="",version="dev"} 1`)
	assert.Contains(t, m, `wscalc_http_requests_total{code="200",method="get",route="/api/eval"} 1`)
	assert.Contains(t, m, `wscalc_http_requests_total{code="200",method="get",route="/style.css"} 1`)
	for _, tr := range []string{"tcp", "ws", "http"} {
		for _, reason := range []string{"busy", "per_ip", "origin", "host", "shutdown"} {
			assert.Contains(t, m, `wscalc_rejected_sessions_total{reason="`+reason+`",transport="`+tr+`"} 0`)
		}
		assert.Contains(t, m, `wscalc_expressions_total{outcome="refused",transport="`+tr+`"} 0`)
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.NoError(t, cmd.Wait(), "stderr: %s", errOut.String())
	assert.Empty(t, rest, "nothing but the two address lines on stdout")
	jsonLines(t, "stdout", out.String())

	byMsg := map[string][]map[string]any{}
	for _, rec := range jsonLines(t, "stderr", errOut.String()) {
		byMsg[rec["msg"].(string)] = append(byMsg[rec["msg"].(string)], rec)
		for k, v := range rec {
			if strings.Contains(k, "duration") || strings.Contains(k, "timeout") || strings.Contains(k, "delay") {
				d, ok := v.(float64)
				if assert.True(t, ok, "%s is a number of seconds: %v", k, rec) {
					assert.Less(t, d, 3600.0, "%s is in seconds, not nanoseconds: %v", k, rec)
				}
			}
		}
	}
	warn := byMsg["unknown environment variable, ignored (wscalc -h lists the WSCALC_* variables)"]
	if assert.Len(t, warn, 1, errOut.String()) {
		assert.Equal(t, "WSCALC_FROBNICATE", warn[0]["name"])
	}
	assert.NotEmpty(t, byMsg["wscalc serving"])
	if shutting := byMsg["shutting down"]; assert.Len(t, shutting, 1) {
		assert.Equal(t, 10.0, shutting[0]["timeout"], "the default -shutdown-timeout, 10 s")
	}
	levels := map[string]string{}
	for _, rec := range byMsg["http request"] {
		levels[rec["path"].(string)] = rec["level"].(string)
		assert.IsType(t, 0.0, rec["duration"])
	}
	assert.Equal(t, map[string]string{"/": "DEBUG", "/style.css": "DEBUG", "/api/eval": "INFO", "/metrics": "DEBUG"}, levels)
	if ends := byMsg["session end"]; assert.NotEmpty(t, ends, errOut.String()) {
		assert.IsType(t, 0.0, ends[0]["duration"])
	}
}

// With -log-format json a failure to start is a JSON record on stderr too, with its exit
// status: 2 for a bad value (the format comes from the flags or the environment, even
// when another flag is wrong), 1 for a port in use.
func TestMainJSONErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	for _, c := range []struct {
		env  []string
		args []string
		code int
		err  string
	}{
		{nil, []string{"-log-format", "json", "-tcp", "nonsense"}, 2, `invalid value "nonsense" for flag -tcp`},
		{nil, []string{"-tcp", "nonsense", "-log-format=JSON"}, 2, `invalid value "nonsense" for flag -tcp`},
		{[]string{"WSCALC_LOG_FORMAT=json"}, []string{"-idle-timeout", "30"}, 2, "missing unit in duration (e.g. 30s)"},
		{[]string{"WSCALC_LOG_FORMAT=json", "WSCALC_MAX_CLIENTS=0"}, nil, 2, "WSCALC_MAX_CLIENTS=0: want at least 1"},
		{[]string{"WSCALC_LOG_FORMAT=json"}, []string{"-tcp", "", "-http", busy.Addr().String()}, 1, "cannot listen for HTTP"},
	} {
		cmd := wscalcCommand(t, c.env, c.args...)
		var stdout, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &errOut
		var exit *exec.ExitError
		require.ErrorAs(t, cmd.Run(), &exit, "%q %q", c.env, c.args)
		assert.Equal(t, c.code, exit.ExitCode(), "%q %q", c.env, c.args)
		assert.Empty(t, stdout.String())
		recs := jsonLines(t, "stderr", errOut.String())
		if assert.NotEmpty(t, recs, "%q %q", c.env, c.args) {
			last := recs[len(recs)-1]
			assert.Equal(t, "ERROR", last["level"])
			assert.Contains(t, last["err"], c.err)
			assert.EqualValues(t, c.code, last["exit_status"])
		}
	}
}

func TestLogFormatOf(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	jsonEnv := func(k string) (string, bool) { return "JSON", k == "WSCALC_LOG_FORMAT" }
	for _, c := range []struct {
		args []string
		env  func(string) (string, bool)
		want string
	}{
		{nil, none, ""},
		{nil, jsonEnv, "json"},
		{[]string{"-log-format", "json"}, none, "json"},
		{[]string{"--log-format=Json"}, none, "json"},
		{[]string{"-tcp", "nonsense", "-log-format", "json"}, none, "json"},
		{[]string{"-version", "-log-format", "json"}, none, "json"},
		{[]string{"-log-format", "text"}, jsonEnv, "text"},
		{[]string{"-no-such", "-log-format", "json"}, none, "json"},
		{[]string{"serve", "-log-format", "json"}, none, ""},
		{[]string{"--", "-log-format", "json"}, none, ""},
	} {
		assert.Equal(t, c.want, logFormatOf(c.args, c.env), "%q", c.args)
	}
}

// Contradictory cluster flags (rooms.md §9), on the command line or in the environment,
// exit with status 2 before anything listens, and the message names both flags.
func TestClusterFlagContradictionsExit2(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	for _, c := range []struct {
		args  []string
		names []string
	}{
		{[]string{"-cluster-listen", "127.0.0.1:6222"}, []string{"-cluster-listen", "-cluster-peers"}},
		{[]string{"-cluster-peers", "127.0.0.1:6222,127.0.0.1:6223"}, []string{"-cluster-peers", "-cluster-listen"}},
		{[]string{"-nats-url", "nats://127.0.0.1:4222", "-data-dir", dir}, []string{"-nats-url", "-data-dir"}},
		{[]string{"-nats-url", "nats://127.0.0.1:4222", "-cluster-listen", "127.0.0.1:6222", "-cluster-peers", "127.0.0.1:6222"},
			[]string{"-nats-url", "-cluster-listen"}},
		{[]string{"-nats-url", "nats://127.0.0.1:4222", "-nats-listen", "127.0.0.1:4223"}, []string{"-nats-url", "-nats-listen"}},
		{[]string{"-cluster-listen", "127.0.0.1:6222", "-cluster-peers", "127.0.0.1:6223,127.0.0.1:6224"},
			[]string{"-cluster-peers", "this one included"}},
	} {
		errOut := captureStderr(t)
		code := serveMain(context.Background(), append([]string{"-http", "127.0.0.1:0", "-tcp", ""}, c.args...), io.Discard)
		assert.Equal(t, 2, code, "%q: %s", c.args, errOut)
		for _, name := range c.names {
			assert.Contains(t, errOut.String(), name, "%q", c.args)
		}

		errOut = captureStderr(t)
		for i := 0; i < len(c.args); i += 2 {
			t.Setenv(envName(strings.TrimPrefix(c.args[i], "-")), c.args[i+1])
		}
		code = serveMain(context.Background(), []string{"-http", "127.0.0.1:0", "-tcp", ""}, io.Discard)
		assert.Equal(t, 2, code, "%q in the environment: %s", c.args, errOut)
		for i := 0; i < len(c.args); i += 2 {
			os.Unsetenv(envName(strings.TrimPrefix(c.args[i], "-")))
		}
	}
}

// Two servers in this process, one embedding NATS with -nats-listen and one using it
// with -nats-url, are one service: each one's WebSocket clients are shown the sum over
// both (a change on the other instance is pushed too), /metrics counts both instances,
// and when one stops the other drops it at once (its goodbye). Nothing is left running.
func TestRunTwoInstancesShareCounts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	natsAddr := freePort(t)
	a := startRun(t, 1, "-http", "127.0.0.1:0", "-tcp", "", "-instance", "a", "-nats-listen", natsAddr)
	b := startRun(t, 1, "-http", "127.0.0.1:0", "-tcp", "", "-instance", "b", "-nats-url", "nats://"+natsAddr)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	for _, r := range []*running{a, b} {
		require.Eventually(t, func() bool { return httpStatus(t, client, "http://"+r.httpAddr+"/readyz") == http.StatusOK },
			10*time.Second, 10*time.Millisecond, "%s ready", r.httpAddr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wa := dialClients(ctx, t, a.httpAddr)
	defer wa.CloseNow()
	wb := dialClients(ctx, t, b.httpAddr)
	defer wb.CloseNow()
	waitClients(ctx, t, wa, 2) // b's client reached a through presence
	waitClients(ctx, t, wb, 2)
	for _, r := range []*running{a, b} {
		require.Eventually(t, func() bool {
			m := scrape(t, client, "http://"+r.httpAddr+"/metrics")
			return strings.Contains(m, "\nwscalc_cluster_instances 2\n") &&
				strings.Contains(m, "\nwscalc_cluster_clients{transport=\"ws\"} 2\n")
		}, 10*time.Second, 20*time.Millisecond, "/metrics of %s", r.httpAddr)
	}

	wb.Close(websocket.StatusNormalClosure, "")
	waitClients(ctx, t, wa, 1)
	require.NoError(t, b.stop(t))
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(t, client, "http://"+a.httpAddr+"/metrics"), "\nwscalc_cluster_instances 1\n")
	}, 5*time.Second, 20*time.Millisecond, "b said goodbye")
	wa.Close(websocket.StatusNormalClosure, "")
	require.NoError(t, a.stop(t))
}

// A cluster whose other peers never came up has no JetStream leader: /readyz answers 503
// "not ready" (the server serves meanwhile: /healthz, the API), and "draining" once it
// shuts down.
func TestRunNotReadyUntilClusterJoined(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	routes := []string{freePort(t), freePort(t), freePort(t)}
	r := startRun(t, 1, "-http", "127.0.0.1:0", "-tcp", "", "-instance", "lonely",
		"-cluster-listen", routes[0], "-cluster-peers", strings.Join(routes, ","), "-drain-delay", "2s")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get("http://" + r.httpAddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for range 3 { // over a few readiness checks
		code, body := get("/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "not ready\n", body)
		time.Sleep(500 * time.Millisecond)
	}
	code, _ := get("/api/eval?expr=1%2B1")
	assert.Equal(t, http.StatusOK, code, "private evaluation needs no cluster")
	r.cancel()
	require.Eventually(t, func() bool { _, body := get("/readyz"); return body == "draining\n" },
		time.Second, 5*time.Millisecond)
	require.NoError(t, r.stop(t))
}

// freePort is 127.0.0.1:port, free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func httpStatus(t *testing.T, client *http.Client, url string) int {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func scrape(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// dialClients opens a JSON-mode WebSocket session and reads its hello.
func dialClients(ctx context.Context, t *testing.T, httpAddr string) *websocket.Conn {
	t.Helper()
	wc, _, err := websocket.Dial(ctx, "ws://"+httpAddr+"/ws", &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	require.NoError(t, err)
	_, msg, err := wc.Read(ctx)
	require.NoError(t, err)
	require.Contains(t, string(msg), `"type":"hello"`)
	return wc
}

// waitClients reads wc's clients messages until one shows total clients.
func waitClients(ctx context.Context, t *testing.T, wc *websocket.Conn, total int) {
	t.Helper()
	var last string
	for {
		_, msg, err := wc.Read(ctx)
		require.NoError(t, err, "waiting for clients total %d; last %s", total, last)
		var c wire.Clients
		if json.Unmarshal(msg, &c) == nil && c.Type == "clients" {
			last = string(msg)
			if c.Total == total {
				return
			}
		}
	}
}
