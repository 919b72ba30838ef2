package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
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
