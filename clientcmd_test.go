package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/client"
	"wscalc/client/ptytest"
)

// realServer runs the wscalc server in-process (run, as `wscalc -http 127.0.0.1:0 -tcp
// 127.0.0.1:0`) for the client and bench commands to talk to, and stops it at the end.
func realServer(t *testing.T) (tcpAddr, httpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-log-level", "error"}, pw)
		pw.CloseWithError(errors.New("run returned"))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the server did not stop")
		}
	})
	br := bufio.NewReader(pr)
	for tcpAddr == "" || httpAddr == "" {
		line, err := br.ReadString('\n')
		require.NoError(t, err, "reading the server's addresses")
		if rest, ok := strings.CutPrefix(line, "wscalc: playground http://"); ok {
			httpAddr, _, _ = strings.Cut(strings.TrimSpace(rest), "/")
		}
		if rest, ok := strings.CutPrefix(line, "wscalc: line protocol on "); ok {
			tcpAddr, _, _ = strings.Cut(rest, " ")
		}
	}
	go io.Copy(io.Discard, br)
	return tcpAddr, httpAddr
}

func clientCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code = runClient(ctx, args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestClientPipesThroughBothTransports(t *testing.T) {
	tcpAddr, httpAddr := realServer(t)
	in := "2 + 3 * 4\n\n# note\nx = 1/3\n1 / 0\nx * 3\n"
	want := "14\nx = 1/3 ≈ 0.33333333333333333333\nError at column 3: division by zero\n1\n"
	for name, args := range map[string][]string{
		"tcp":      {"-tcp", tcpAddr},
		"ws":       {"-ws", "ws://" + httpAddr + "/ws"},
		"ws short": {"-ws", httpAddr},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := clientCmd(t, in, args...)
			assert.Equal(t, 0, code, errOut)
			assert.Equal(t, want, out)
			assert.Empty(t, errOut)
		})
	}
}

func TestClientQuitEndsTheSession(t *testing.T) {
	tcpAddr, httpAddr := realServer(t)
	for name, args := range map[string][]string{"tcp": {"-tcp", tcpAddr}, "ws": {"-ws", httpAddr}} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := clientCmd(t, "6 * 7\nexit\n1 + 1\n", args...)
			assert.Equal(t, 0, code, errOut)
			assert.Equal(t, "42\n", out)
		})
	}
}

func TestClientCommandLineErrors(t *testing.T) {
	code, _, errOut := clientCmd(t, "", "-tcp", "127.0.0.1:1", "-ws", "127.0.0.1:2")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "not both")

	code, _, errOut = clientCmd(t, "", "1+1")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "unexpected argument \"1+1\" (send lines with -e LINE, or on stdin)")

	code, _, _ = clientCmd(t, "", "-nope")
	assert.Equal(t, 2, code)

	code, _, errOut = clientCmd(t, "", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "usage: wscalc client")
}

func TestClientReportsUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	code, _, errOut := clientCmd(t, "1\n", "-tcp", addr)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "refused")
}

// -e sends its lines in one session and exits; 1 if any reply is an error.
func TestClientOneShot(t *testing.T) {
	tcpAddr, httpAddr := realServer(t)
	for name, args := range map[string][]string{"tcp": {"-tcp", tcpAddr}, "ws": {"-ws", httpAddr}} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := clientCmd(t, "ignored\n", append(args, "-e", "x = 6", "-e", "x * 7", "-e", "help sqrt")...)
			assert.Equal(t, 0, code, errOut)
			assert.Equal(t, "x = 6\n42\nsqrt(x): square root; exact on perfect squares of rationals (sqrt(2.25) = 1.5), approximate otherwise\n", out)
			assert.Empty(t, errOut)

			code, out, errOut = clientCmd(t, "", append(args, "-e", "1 / 0", "-e", "2 + 2")...)
			assert.Equal(t, 1, code, "an error reply")
			assert.Equal(t, "Error at column 3: division by zero\n4\n", out)
			assert.Empty(t, errOut)
		})
	}
}

// Pointed at the HTTP port, the client says so and exits 1, in every mode.
func TestClientRefusesTheHTTPPort(t *testing.T) {
	_, httpAddr := realServer(t)
	want := "wscalc client: " + httpAddr + " answered in HTTP (HTTP/1.1 400 Bad Request): it is an HTTP port, " +
		"not the line protocol; try -ws " + httpAddr + ", or -tcp with the line-protocol port\n"
	code, out, errOut := clientCmd(t, "", "-tcp", httpAddr, "-e", "1 + 1")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, want, errOut)

	code, out, errOut = clientCmd(t, "1 + 1\n", "-tcp", httpAddr)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, want, errOut)

	p := ptytest.Open(t, 80, 24)
	done := make(chan int, 1)
	go func() { done <- clientOnTTY(t, p, "-tcp", httpAddr, "-history", "") }()
	p.Expect(t, client.Prompt)
	p.Type(t, "1 + 1\r")
	assert.Equal(t, 1, waitCode(t, done, p))
	p.Expect(t, want[:len(want)-1]) // stderr is the terminal too
}

// clientOnTTY runs `wscalc client args…` in-process on the pty and returns its exit status.
func clientOnTTY(t *testing.T, p *ptytest.Term, args ...string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return runClient(ctx, args, p.TTY, p.TTY, p.TTY)
}

func waitCode(t *testing.T, done chan int, p *ptytest.Term) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("the command did not exit; the screen shows:\n%s", p.Screen())
		return -1
	}
}

// On a terminal: line editing with ↑, Tab completion, Ctrl-D leaving on a fresh line, and
// the history file in $HOME unless -history says otherwise.
func TestClientOnATerminal(t *testing.T) {
	tcpAddr, _ := realServer(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	p := ptytest.Open(t, 80, 24)
	done := make(chan int, 1)
	go func() { done <- clientOnTTY(t, p, "-tcp", tcpAddr) }()
	p.Expect(t, "connected to tcp "+tcpAddr)
	p.Expect(t, client.Prompt)
	p.Type(t, "rate = 3/2\r")
	p.Expect(t, "rate = 1.5\r\n")
	p.Type(t, "ra\t * fac\t4)\r") // rate * factorial(4)
	p.Expect(t, "36\r\n")
	p.Type(t, "\x1b[A\x1b[A\r") // rate = 3/2 again
	p.Expect(t, "rate = 1.5\r\n")
	p.Type(t, "\x04")
	assert.Equal(t, 0, waitCode(t, done, p))
	p.Expect(t, "^D\r\n")
	data, err := os.ReadFile(filepath.Join(home, ".wscalc_history"))
	require.NoError(t, err)
	assert.Equal(t, "rate = 3/2\nrate * factorial(4)\nrate = 3/2\n", string(data))

	// -history "" keeps none; -history FILE keeps it there.
	other := filepath.Join(t.TempDir(), "calc_history")
	for _, hist := range []string{"", other} {
		p := ptytest.Open(t, 80, 24)
		go func() { done <- clientOnTTY(t, p, "-tcp", tcpAddr, "-history", hist) }()
		p.Expect(t, client.Prompt)
		p.Type(t, "7 * 6\r")
		p.Expect(t, "42\r\n")
		p.Type(t, "quit\r")
		assert.Equal(t, 0, waitCode(t, done, p))
	}
	data, err = os.ReadFile(filepath.Join(home, ".wscalc_history"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "7 * 6")
	data, err = os.ReadFile(other)
	require.NoError(t, err)
	assert.Equal(t, "7 * 6\nquit\n", string(data))
}

// awaitRooms waits until the in-process server can use its room log: GET /api/rooms/NAME
// answers 404 for a room nobody joined, not 503. (/readyz answers 200 a moment before the
// room log is open, so it cannot tell.)
func awaitRooms(t *testing.T, httpAddr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + httpAddr + "/api/rooms/nobody-here")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNotFound
	}, 20*time.Second, 20*time.Millisecond, "rooms never became available")
}

// -room joins on connect over TCP (join) and WebSocket (URL join); the joined line, the
// history and the other members' lines come before and between the replies.
func TestClientRoom(t *testing.T) {
	tcpAddr, httpAddr := realServer(t)
	awaitRooms(t, httpAddr)
	code, out, errOut := clientCmd(t, "x = 5\n", "-tcp", tcpAddr, "-room", "lab", "-nick", "bob")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "joined lab as bob (1 member, seq 0)\nx = 5\n", out)

	code, out, errOut = clientCmd(t, "", "-ws", httpAddr, "-room", "LAB", "-e", "x * 2")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^joined lab as guest-[0-9a-f]{4} \(1 member, seq 1\)\n# 1 bob: x = 5 → x = 5\n10\n$`, out)
	assert.Empty(t, errOut)
}

func TestClientRoomCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-room", "a b"}, "wscalc client: invalid room name 'a b' (use 1-32 letters, digits, '-' or '_')\n"},
		{[]string{"-room", ""}, "wscalc client: invalid room name '' (use 1-32 letters, digits, '-' or '_')\n"},
		{[]string{"-room", "lab", "-nick", "bob!"}, "wscalc client: invalid nick 'bob!' (use 1-24 letters, digits, '-' or '_')\n"},
		{[]string{"-nick", "bob"}, "wscalc client: -nick needs -room\n"},
	} {
		code, out, errOut := clientCmd(t, "1\n", append([]string{"-tcp", "127.0.0.1:1"}, c.args...)...)
		assert.Equal(t, 2, code, c.args)
		assert.Empty(t, out)
		assert.Equal(t, c.want, errOut)
	}
}

// On a terminal in a room, another member's line is printed above the prompt, the line
// being typed is drawn again below it, and the variable it assigned is offered on Tab.
func TestClientRoomOnATerminal(t *testing.T) {
	tcpAddr, httpAddr := realServer(t)
	awaitRooms(t, httpAddr)
	t.Setenv("HOME", t.TempDir())
	p := ptytest.Open(t, 80, 24)
	done := make(chan int, 1)
	go func() { done <- clientOnTTY(t, p, "-tcp", tcpAddr, "-room", "lab", "-nick", "alice") }()
	p.Expect(t, "joined lab as alice (1 member, seq 0)")
	p.Expect(t, client.Prompt)
	p.Type(t, "1 +")
	code, _, errOut := clientCmd(t, "", "-ws", httpAddr, "-room", "lab", "-nick", "bob", "-e", "yield = 2")
	require.Equal(t, 0, code, errOut)
	p.Expect(t, "# 1 bob: yield = 2 → yield = 2\r\n")
	p.Expect(t, client.Prompt+"1 +")
	p.Type(t, " yie\t\r") // Tab completes the room's variable, which bob assigned
	p.Expect(t, "3\r\n")
	p.Type(t, "quit\r")
	assert.Equal(t, 0, waitCode(t, done, p))
}
