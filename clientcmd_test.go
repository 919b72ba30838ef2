package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.Contains(t, errOut, "unexpected argument")

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
