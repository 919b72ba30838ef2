package client

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/client/ptytest"
)

// session is Interactive running on a pseudo-terminal.
type session struct {
	pty  *ptytest.Term
	term *Terminal
	done chan error
}

// runInteractive starts Interactive on a fresh 80-column pty with the given history file
// ("" for none); the terminal is closed when the test ends.
func runInteractive(t *testing.T, dial Redial, history string) *session {
	return runInteractiveCols(t, dial, history, 80)
}

func runInteractiveCols(t *testing.T, dial Redial, history string, cols int) *session {
	t.Helper()
	ctx := testCtx(t)
	c, err := dial(ctx)
	require.NoError(t, err)
	p := ptytest.Open(t, cols, 24)
	term, err := NewTerminal(TerminalConfig{In: p.TTY, Out: p.TTY, HistoryFile: history})
	require.NoError(t, err)
	t.Cleanup(func() { term.Close() }) // runs before the pty closes
	s := &session{pty: p, term: term, done: make(chan error, 1)}
	go func() { s.done <- Interactive(ctx, c, dial, term) }()
	p.Expect(t, Prompt)
	return s
}

// result waits for Interactive to return.
func (s *session) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Interactive did not return; the screen shows:\n%s", s.pty.Screen())
		return nil
	}
}

func redials(s *testServer) map[string]Redial {
	return map[string]Redial{
		"tcp": func(ctx context.Context) (Conn, error) { return DialTCP(ctx, s.TCP) },
		"ws":  func(ctx context.Context) (Conn, error) { return DialWS(ctx, s.WS) },
	}
}

func TestInteractiveEditsRecallsAndEndsOnCtrlD(t *testing.T) {
	srv := startServer(t)
	for name, dial := range redials(srv) {
		t.Run(name, func(t *testing.T) {
			s := runInteractive(t, dial, "")
			s.pty.Type(t, "6 * 7\r")
			s.pty.Expect(t, "42\r\n")
			// ↑ brings the line back; Backspace and 8 edit it.
			s.pty.Type(t, "\x1b[A\x7f8\r")
			s.pty.Expect(t, "48\r\n")
			// ← and → move in the line: insert a digit before the 8.
			s.pty.Type(t, "6 * 8\x1b[D1\r")
			s.pty.Expect(t, "108\r\n") // the 1 went before the 8
			s.pty.Type(t, "\x04")      // Ctrl-D on an empty line
			require.NoError(t, s.result(t))
			s.pty.Expect(t, "^D\r\n")
			assert.NotContains(t, s.pty.Rest(), Prompt, "a prompt after the session ended")
		})
	}
}

func TestInteractiveCtrlCEndsOnAFreshLine(t *testing.T) {
	srv := startServer(t)
	s := runInteractive(t, redials(srv)["tcp"], "")
	s.pty.Type(t, "1 + ")
	s.pty.Expect(t, "1 + ")
	s.pty.Type(t, "\x03")
	require.NoError(t, s.result(t))
	s.pty.Expect(t, "^C\r\n")
	assert.NotContains(t, s.pty.Rest(), Prompt)
}

func TestInteractiveQuit(t *testing.T) {
	srv := startServer(t)
	for name, dial := range redials(srv) {
		t.Run(name, func(t *testing.T) {
			s := runInteractive(t, dial, "")
			s.pty.Type(t, "quit\r")
			require.NoError(t, s.result(t))
		})
	}
}

// Ctrl-R searches the history backwards; Enter sends the line found.
func TestInteractiveSearchesHistoryWithCtrlR(t *testing.T) {
	srv := startServer(t)
	s := runInteractive(t, redials(srv)["tcp"], "")
	s.pty.Type(t, "x = 12345\r")
	s.pty.Expect(t, "x = 12345\r\n")
	s.pty.Type(t, "2 + 2\r")
	s.pty.Expect(t, "4\r\n")
	s.pty.Type(t, "\x12x =")
	s.pty.Expect(t, "bck-i-search: x =")
	s.pty.Type(t, "\r")
	s.pty.Expect(t, "x = 12345\r\n") // sent again, answered again
	s.pty.Type(t, "\x04")
	require.NoError(t, s.result(t))
}

// Tab completes functions (with their parenthesis), constants, commands and the variables
// the session has assigned.
func TestInteractiveCompletesNames(t *testing.T) {
	srv := startServer(t)
	for name, dial := range redials(srv) {
		t.Run(name, func(t *testing.T) {
			s := runInteractive(t, dial, "")
			s.pty.Type(t, "sq\t2.25)\r")
			s.pty.Expect(t, "sqrt(2.25)")
			s.pty.Expect(t, "1.5\r\n")
			// The reply differs from the line typed, whose echo would match first: Tab
			// knows myvar only once the reply has come.
			s.pty.Type(t, "myvar = 3 + 4\r")
			s.pty.Expect(t, "myvar = 7\r\n")
			s.pty.Type(t, "my\t * 2\r")
			s.pty.Expect(t, "14\r\n")
			s.pty.Type(t, "help fac\t\r")
			s.pty.Expect(t, "factorial(n): n! for an integer")
			s.pty.Type(t, "va\t\r") // a command, at the start of a line
			s.pty.Expect(t, "myvar = 7\r\n")
			s.pty.Type(t, "\x04")
			require.NoError(t, s.result(t))
		})
	}
}

// The lines typed go to the history file as they are entered, and the next session on
// the same file recalls them with ↑.
func TestInteractiveKeepsAHistoryFile(t *testing.T) {
	srv := startServer(t)
	file := filepath.Join(t.TempDir(), "history")
	s := runInteractive(t, redials(srv)["tcp"], file)
	s.pty.Type(t, "3 * 5\r")
	s.pty.Expect(t, "15\r\n")
	s.pty.Type(t, "\r   \r")   // blank lines are not kept
	s.pty.Type(t, "2 ** 10\r") // nor typed twice in a row
	s.pty.Expect(t, "1024\r\n")
	s.pty.Type(t, "2 ** 10\r")
	s.pty.Expect(t, "1024\r\n")
	s.pty.Type(t, "\x04")
	require.NoError(t, s.result(t))
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "3 * 5\n2 ** 10\n", string(data))
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "only its owner reads the history")

	again := runInteractive(t, redials(srv)["tcp"], file)
	again.pty.Type(t, "\x1b[A\x1b[A\r")
	again.pty.Expect(t, "15\r\n")
	again.pty.Type(t, "\x04")
	require.NoError(t, again.result(t))
}

// help is wrapped to the terminal's width, at spaces.
func TestInteractiveWrapsHelp(t *testing.T) {
	srv := startServer(t)
	s := runInteractiveCols(t, redials(srv)["tcp"], "", 40)
	s.pty.Type(t, "help\r")
	s.pty.Expect(t, "help\r\n")
	s.pty.Expect(t, "operators:")
	out := "operators:" + s.pty.Expect(t, "quit\r\n")
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	require.Greater(t, len(lines), 5, out)
	for _, l := range lines {
		assert.LessOrEqual(t, len([]rune(l)), 39, "%q", l)
	}
	assert.Equal(t, helpOneLine(t), strings.Join(lines, " "), "wrapping only breaks lines at spaces")
	s.pty.Type(t, "\x04")
	require.NoError(t, s.result(t))
}

// helpOneLine is the server's help reply.
func helpOneLine(t *testing.T) string {
	srv := startServer(t)
	ctx := testCtx(t)
	c, err := DialTCP(ctx, srv.TCP)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, Pipe(ctx, c, strings.NewReader("help\n"), &out))
	return strings.TrimSuffix(out.String(), "\n")
}

// When the server goes away, Interactive says so; the next line tries to reconnect (and
// says why it cannot), and once the server is back the line after reconnects, in a new
// session.
func TestInteractiveReconnectsOnTheNextLine(t *testing.T) {
	for _, name := range []string{"tcp", "ws"} {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t)
			s := runInteractive(t, redials(srv)[name], "")
			s.pty.Type(t, "x = 2\r")
			s.pty.Expect(t, "x = 2\r\n")
			srv.shutdown(t)
			if name == "tcp" {
				s.pty.Expect(t, "Error: server shutting down\r\n")
				s.pty.Expect(t, "wscalc: connection closed by the server; the next line reconnects\r\n")
			} else {
				s.pty.Expect(t, "wscalc: connection closed by the server: server shutting down (WebSocket status 1001); the next line reconnects\r\n")
			}
			s.pty.Expect(t, DisconnectedPrompt)
			s.pty.Type(t, "x * 10\r")
			s.pty.Expect(t, "wscalc: cannot reconnect: ")
			s.pty.Expect(t, "the line was not sent (↑ brings it back)\r\n")
			s.pty.Expect(t, DisconnectedPrompt)

			srv.restart(t)
			s.pty.Type(t, "\x1b[A\r")
			s.pty.Expect(t, "wscalc: reconnected to ")
			s.pty.Expect(t, "a new session, so variables and ans start afresh\r\n")
			s.pty.Expect(t, "Error at column 1: unknown name 'x'\r\n")
			s.pty.Expect(t, Prompt)
			s.pty.Type(t, "1 + 2\r")
			s.pty.Expect(t, "3\r\n")
			s.pty.Type(t, "\x04")
			require.NoError(t, s.result(t))
		})
	}
}

// Pointed at an HTTP port, the first line gets an HTTP response: Interactive returns an
// *HTTPError, for the caller to explain.
func TestInteractiveRefusesAnHTTPPort(t *testing.T) {
	srv := startServer(t)
	s := runInteractive(t, func(ctx context.Context) (Conn, error) { return DialTCP(ctx, srv.HTTP) }, "")
	s.pty.Type(t, "1 + 1\r")
	err := s.result(t)
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, srv.HTTP, he.Addr)
	assert.True(t, strings.HasPrefix(he.Status, "HTTP/1.1 400"), he.Status)
	assert.Contains(t, err.Error(), "try -ws "+srv.HTTP)
}
