package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wscalc/client/ptytest"
)

// wscalc -h prints the usage with every flag and the environment variable that also sets
// it, and exits 0.
func TestHelpListsFlags(t *testing.T) {
	stdout, stderr, code := runBinary(t, "", "-h")
	if code != 0 {
		t.Errorf("wscalc -h: exit status %d, want 0", code)
	}
	usage := stdout + stderr
	for _, flag := range []string{"http", "tcp", "max-clients", "idle-timeout",
		"shutdown-timeout", "allow-origin", "log-format", "log-level"} {
		env := "WSCALC_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
		if !strings.Contains(usage, "-"+flag+" ") || !strings.Contains(usage, env) {
			t.Errorf("wscalc -h does not mention -%s and %s:\n%s", flag, env, usage)
		}
	}
}

// Configuration from the environment, as in a container, and a flag overriding it:
// -max-clients is enforced on the line protocol with its documented refusal.
func TestEnvironmentConfiguresServer(t *testing.T) {
	t.Run("environment", func(t *testing.T) {
		s := startServerEnv(t, []string{"WSCALC_MAX_CLIENTS=1"}, "127.0.0.1:0", "127.0.0.1:0")
		assertTCPCapacity(t, s, 1)
	})
	t.Run("flag wins", func(t *testing.T) {
		s := startServerEnv(t, []string{"WSCALC_MAX_CLIENTS=1"}, "127.0.0.1:0", "127.0.0.1:0", "-max-clients", "2")
		assertTCPCapacity(t, s, 2)
	})
}

// assertTCPCapacity opens n live TCP sessions, then checks that one more is refused with
// "Error: server busy (max n clients)" and closed.
func assertTCPCapacity(t *testing.T, s *server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range n {
		c := openTCPSession(ctx, t, s.TCPAddr)
		defer c.Close()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.TCPAddr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	got, err := io.ReadAll(c)
	want := fmt.Sprintf("Error: server busy (max %d clients)\n", n)
	if err != nil || string(got) != want {
		t.Errorf("client %d read %q (error %v), want %q then EOF", n+1, got, err, want)
	}
}

// A bad command line says what is wrong and exits 2 without serving.
func TestBadCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"-no-such-flag"}, "no-such-flag"},
		{[]string{"-max-clients", "many"}, "max-clients"},
		{[]string{"-idle-timeout", "soon"}, "idle-timeout"},
	} {
		_, stderr, code := runBinary(t, "", tc.args...)
		if code != 2 {
			t.Errorf("wscalc %s: exit status %d, want 2\n%s", strings.Join(tc.args, " "), code, stderr)
		}
		if !strings.Contains(stderr, tc.mention) {
			t.Errorf("wscalc %s: stderr does not mention %q:\n%s", strings.Join(tc.args, " "), tc.mention, stderr)
		}
	}
}

// wscalc eval reads lines from stdin (or takes arguments) in one session, prints one reply
// per line, and exits 1 if any line was an error.
func TestEvalSubcommand(t *testing.T) {
	t.Run("stdin", func(t *testing.T) {
		stdout, stderr, code := runBinary(t, "0.1+0.2\n1/3\n", "eval")
		if code != 0 || stdout != "0.3\n1/3 ≈ 0.33333333333333333333\n" {
			t.Errorf("exit %d, stdout %q (stderr %q); want 0 and %q", code, stdout, stderr,
				"0.3\n1/3 ≈ 0.33333333333333333333\n")
		}
	})
	t.Run("session keeps variables", func(t *testing.T) {
		stdout, stderr, code := runBinary(t, "x = 6\n# nothing\nx * 7\n", "eval")
		if code != 0 || stdout != "x = 6\n42\n" {
			t.Errorf("exit %d, stdout %q (stderr %q); want 0 and %q", code, stdout, stderr, "x = 6\n42\n")
		}
	})
	t.Run("arguments", func(t *testing.T) {
		stdout, stderr, code := runBinary(t, "", "eval", "2 + 3 * 4")
		if code != 0 || stdout != "14\n" {
			t.Errorf("exit %d, stdout %q (stderr %q); want 0 and %q", code, stdout, stderr, "14\n")
		}
	})
	t.Run("arguments are one line", func(t *testing.T) {
		stdout, stderr, code := runBinary(t, "", "eval", "2", "+", "3")
		if code != 0 || stdout != "5\n" {
			t.Errorf("wscalc eval 2 + 3: exit %d, stdout %q (stderr %q); want 0 and %q", code, stdout, stderr, "5\n")
		}
	})
	t.Run("-e lines", func(t *testing.T) {
		stdout, stderr, code := runBinary(t, "", "eval", "-e", "x = 6", "-e", "x * 7", "-e", "help sqrt")
		want := "x = 6\n42\nsqrt(x): square root; exact on perfect squares of rationals (sqrt(2.25) = 1.5), approximate otherwise\n"
		if code != 0 || stdout != want {
			t.Errorf("exit %d, stdout %q (stderr %q); want 0 and %q", code, stdout, stderr, want)
		}
	})
	t.Run("error line", func(t *testing.T) {
		stdout, stderr, code := runBinary(t, "1 / 0\n", "eval")
		if code != 1 {
			t.Errorf("exit status %d, want 1 (stdout %q, stderr %q)", code, stdout, stderr)
		}
		if msg := "Error at column 3: division by zero"; !strings.Contains(stdout+stderr, msg) {
			t.Errorf("output does not contain %q: stdout %q, stderr %q", msg, stdout, stderr)
		}
	})
}

// onTerminal is a wscalc process whose stdin, stdout and stderr are a pseudo-terminal.
type onTerminal struct {
	*ptytest.Term
	exited chan int // its exit status
}

// startOnTerminal runs wscalc with args on an 80-column pty, with HOME set to home.
func startOnTerminal(t *testing.T, home string, args ...string) *onTerminal {
	t.Helper()
	p := ptytest.Open(t, 80, 24)
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(childEnv(), "HOME="+home)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.TTY, p.TTY, p.TTY
	configureChild(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting wscalc %s: %v", strings.Join(args, " "), err)
	}
	o := &onTerminal{Term: p, exited: make(chan int, 1)}
	go func() {
		cmd.Wait()
		o.exited <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-o.exited
	})
	return o
}

// exitCode waits for the process to exit.
func (o *onTerminal) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case code := <-o.exited:
		o.exited <- code
		return code
	case <-time.After(runTimeout):
		t.Fatalf("wscalc did not exit; the screen shows:\n%s", o.Screen())
		return -1
	}
}

// wscalc eval on a terminal: a prompt with line editing (the arrow keys edit instead of
// sending escape sequences into the calculator), history kept in ~/.wscalc_history, Tab
// completion, and Ctrl-D leaving on a fresh line.
func TestEvalOnATerminal(t *testing.T) {
	home := t.TempDir()
	o := startOnTerminal(t, home, "eval")
	o.Expect(t, "wscalc> ")
	o.Type(t, "6 * 7\r")
	o.Expect(t, "42\r\n")
	o.Type(t, "\x1b[A\x1b[D8\r") // ↑, ←, 8: 6 * 87
	o.Expect(t, "522\r\n")
	o.Type(t, "fact\t5)\r")
	o.Expect(t, "120\r\n")
	o.Type(t, "\x04")
	if code := o.exitCode(t); code != 0 {
		t.Errorf("exit status %d after Ctrl-D, want 0", code)
	}
	o.Expect(t, "^D\r\n")
	if rest := o.Rest(); strings.Contains(rest, "wscalc> ") {
		t.Errorf("a prompt after Ctrl-D: %q", rest)
	}
	data, err := os.ReadFile(filepath.Join(home, ".wscalc_history"))
	if want := "6 * 7\n6 * 87\nfactorial(5)\n"; err != nil || string(data) != want {
		t.Errorf("history file: %q (%v), want %q", data, err, want)
	}
}

// wscalc client -e: one-shot lines in one session; exit 1 if a reply is an error, and
// when pointed at the HTTP port.
func TestClientOneShot(t *testing.T) {
	s := startServer(t)
	stdout, stderr, code := runBinary(t, "", "client", "-tcp", s.TCPAddr, "-e", "x = 6", "-e", "x * 7")
	if code != 0 || stdout != "x = 6\n42\n" {
		t.Errorf("exit %d, stdout %q (stderr %q); want 0 and %q", code, stdout, stderr, "x = 6\n42\n")
	}
	stdout, stderr, code = runBinary(t, "", "client", "-ws", s.HTTPAddr, "-e", "1 / 0")
	if code != 1 || stdout != "Error at column 3: division by zero\n" {
		t.Errorf("exit %d, stdout %q (stderr %q); want 1 and the error", code, stdout, stderr)
	}
	stdout, stderr, code = runBinary(t, "", "client", "-tcp", s.HTTPAddr, "-e", "1 + 1")
	if want := s.HTTPAddr + " answered in HTTP"; code != 1 || stdout != "" || !strings.Contains(stderr, want) {
		t.Errorf("at the HTTP port: exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, want)
	}
}

// wscalc client on a terminal, as redis-cli does: when the server restarts, the client
// says so, and the next line reconnects (in a new session) and is answered.
func TestClientReconnectsAfterARestart(t *testing.T) {
	s := startServer(t)
	o := startOnTerminal(t, t.TempDir(), "client", "-tcp", s.TCPAddr)
	o.Expect(t, "connected to tcp "+s.TCPAddr)
	o.Expect(t, "wscalc> ")
	o.Type(t, "x = 2\r")
	o.Expect(t, "x = 2\r\n")
	if code := s.Stop(t); code != 0 {
		t.Fatalf("server exit status %d", code)
	}
	o.Expect(t, "Error: server shutting down\r\n")
	o.Expect(t, "wscalc: connection closed by the server; the next line reconnects\r\n")
	o.Expect(t, "wscalc (disconnected)> ")
	again := startServerOn(t, s.HTTPAddr, s.TCPAddr)
	o.Type(t, "1 + 2\r")
	o.Expect(t, "wscalc: reconnected to tcp "+again.TCPAddr+": a new session, so variables and ans start afresh\r\n")
	o.Expect(t, "3\r\n")
	o.Type(t, "x\r")
	o.Expect(t, "Error at column 1: unknown name 'x'\r\n")
	o.Type(t, "quit\r")
	if code := o.exitCode(t); code != 0 {
		t.Errorf("exit status %d after quit, want 0", code)
	}
}
