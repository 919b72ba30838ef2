package e2e

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ncTimeout bounds one nc session; -w also makes nc itself give up on a silent server.
const ncTimeout = 15 * time.Second

// A session with Debian's OpenBSD nc, the tool the README tells newcomers to use: lines
// pipelined on stdin, one reply per line in order, comments get none, the session keeps
// its variables, and -N (shut down the socket after stdin EOF) makes the server flush the
// pending replies and close, so nc exits by itself.
func TestNetcatSession(t *testing.T) {
	nc := requireTool(t, "nc")
	s := startServer(t)

	input := strings.Join([]string{
		"2 + 3 * 4",
		"1/3",
		"1 / 0",
		"# a comment line gets no reply",
		"x = 7/2",
		"x * 2   # a trailing comment",
		"",
		"ans + 1",
		"2 ** 100",
	}, "\n") + "\n"
	want := []string{
		"14",
		"1/3 ≈ 0.33333333333333333333",
		"Error at column 3: division by zero",
		"x = 3.5",
		"7",
		"8",
		"1267650600228229401496703205376",
	}
	for _, crlf := range []bool{false, true} {
		name, in, flags := "LF", input, []string{"-N"}
		if crlf {
			// -C sends CRLF line endings, as telnet-like clients do: the CR is dropped.
			name, in, flags = "CRLF", strings.ReplaceAll(input, "\n", "\r\n"), []string{"-N", "-C"}
		}
		t.Run(name, func(t *testing.T) {
			got := runNetcat(t, nc, s.TCPAddr, in, flags...)
			assertLines(t, got, want)
		})
	}

	// A last line without a newline is still answered, and quit ends the session with no
	// reply even when more lines follow it.
	t.Run("quit and final line", func(t *testing.T) {
		assertLines(t, runNetcat(t, nc, s.TCPAddr, "6 * 7\nquit\n1 + 1\n", "-N"), []string{"42"})
		assertLines(t, runNetcat(t, nc, s.TCPAddr, "10 // 3", "-N"), []string{"3"})
	})
}

// runNetcat pipes input to `nc FLAGS HOST PORT` and returns its stdout.
func runNetcat(t *testing.T, nc, addr, input string, flags ...string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("bad TCP address %q: %v", addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ncTimeout)
	defer cancel()
	args := append(append([]string{}, flags...), "-w", "10", host, port)
	cmd := exec.CommandContext(ctx, nc, args...)
	cmd.Stdin = strings.NewReader(input)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatalf("nc %v did not exit within %v; output so far:\n%s", args, ncTimeout, out)
	}
	if err != nil {
		t.Fatalf("nc %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, stderr.String())
	}
	return string(out)
}

// assertLines compares newline-terminated output with the wanted lines, exactly.
func assertLines(t *testing.T, got string, want []string) {
	t.Helper()
	wantText := strings.Join(want, "\n") + "\n"
	if got != wantText {
		t.Errorf("output mismatch\n got:\n%s\nwant:\n%s", got, wantText)
	}
}
