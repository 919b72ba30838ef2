package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dialers opens a session of each transport on s.
func dialers(s *testServer) map[string]func(context.Context) (Conn, error) {
	return map[string]func(context.Context) (Conn, error){
		"tcp": func(ctx context.Context) (Conn, error) { return DialTCP(ctx, s.TCP) },
		"ws":  func(ctx context.Context) (Conn, error) { return DialWS(ctx, s.WS) },
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPipeAnswersEveryLineInOrder(t *testing.T) {
	s := startServer(t)
	in := "2 + 3 * 4\n\n   # a comment\n1 / 0\r\nx = 1/3\nx * 3\n1/3" // last line has no newline
	want := "14\nError at column 3: division by zero\nx = 1/3 ≈ 0.33333333333333333333\n1\n1/3 ≈ 0.33333333333333333333\n"
	for name, dial := range dialers(s) {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := dial(ctx)
			require.NoError(t, err)
			var out bytes.Buffer
			require.NoError(t, Pipe(ctx, c, strings.NewReader(in), &out))
			assert.Equal(t, want, out.String())
		})
	}
}

func TestPipePipelinesManyLines(t *testing.T) {
	s := startServer(t)
	var in, want strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&in, "%d * 2\n", i)
		if i%7 == 0 {
			in.WriteString("# no reply for this one\n")
		}
		fmt.Fprintf(&want, "%d\n", i*2)
	}
	for name, dial := range dialers(s) {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := dial(ctx)
			require.NoError(t, err)
			var out bytes.Buffer
			require.NoError(t, Pipe(ctx, c, strings.NewReader(in.String()), &out))
			assert.Equal(t, want.String(), out.String())
		})
	}
}

func TestPipeStopsAtQuit(t *testing.T) {
	s := startServer(t)
	for name, dial := range dialers(s) {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := dial(ctx)
			require.NoError(t, err)
			var out bytes.Buffer
			require.NoError(t, Pipe(ctx, c, strings.NewReader("1 + 1\n QUIT \n2 + 2\n"), &out))
			assert.Equal(t, "2\n", out.String())
		})
	}
}

func TestPipeReportsServerClose(t *testing.T) {
	for _, name := range []string{"tcp", "ws"} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t)
			ctx := testCtx(t)
			c, err := dialers(s)[name](ctx)
			require.NoError(t, err)
			// The server shuts down once the second reply is out, while the client still
			// has lines to send (they come slowly, like a person's or a slow script's).
			out := &lineWriter{after: 2, then: func() { s.shutdown(t) }}
			in := &slowReader{lines: []string{"1\n", "2\n", "3\n", "4\n", "5\n"}, delay: 100 * time.Millisecond}
			err = Pipe(ctx, c, in, out)
			var ce *ClosedError
			require.ErrorAs(t, err, &ce)
			got := out.String()
			assert.True(t, strings.HasPrefix(got, "1\n2\n"), got)
			switch name {
			case "tcp":
				assert.Equal(t, &ClosedError{}, ce)
				assert.True(t, strings.HasSuffix(got, "Error: server shutting down\n"), got)
			case "ws":
				assert.Equal(t, &ClosedError{Code: 1001, Reason: "server shutting down"}, ce)
				assert.Equal(t, "connection closed by the server: server shutting down (WebSocket status 1001)", err.Error())
			}
		})
	}
}

// lineWriter collects output and calls then (once, in its own goroutine) after the given
// number of lines.
type lineWriter struct {
	after int
	then  func()

	mu    sync.Mutex
	buf   bytes.Buffer
	lines int
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	before := w.lines
	w.lines += bytes.Count(p, []byte("\n"))
	if before < w.after && w.lines >= w.after {
		go w.then()
	}
	return w.buf.Write(p)
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// slowReader returns one line per Read after a delay, like a person or a slow script.
type slowReader struct {
	lines []string
	delay time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.lines) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.delay)
	n := copy(p, r.lines[0])
	r.lines[0] = r.lines[0][n:]
	if r.lines[0] == "" {
		r.lines = r.lines[1:]
	}
	return n, nil
}

func TestNeedsReply(t *testing.T) {
	for line, want := range map[string]bool{
		"1 + 1":                              true,
		"":                                   false,
		"   \t ":                             false,
		"# note":                             false,
		"  ＃ full-width hash":                false,
		"\u3000":                             false,
		"2 # two":                            true,
		"help":                               true,
		"\xff # invalid UTF-8":               true,
		"#" + strings.Repeat("x", MaxLine):   true,
		"#" + strings.Repeat("x", MaxLine-1): false,
	} {
		assert.Equal(t, want, NeedsReply(line), "%q", line)
	}
}

func TestWSURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":          "ws://127.0.0.1:8080/ws",
		"ws://example.com":        "ws://example.com/ws",
		"http://localhost:8080/":  "ws://localhost:8080/ws",
		"https://calc.example/ws": "wss://calc.example/ws",
		"wss://h/custom":          "wss://h/custom",
	} {
		got, err := WSURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"ftp://h", "ws://", "http://%zz"} {
		_, err := WSURL(bad)
		assert.Error(t, err, bad)
	}
}

// fakeTTY is a terminal for Interactive: keys typed by the test, output collected.
type fakeTTY struct {
	keys  *io.PipeReader
	type_ *io.PipeWriter

	mu  sync.Mutex
	out bytes.Buffer
}

func newFakeTTY() *fakeTTY {
	r, w := io.Pipe()
	return &fakeTTY{keys: r, type_: w}
}

func (f *fakeTTY) Read(p []byte) (int, error) { return f.keys.Read(p) }

func (f *fakeTTY) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.Write(p)
}

func (f *fakeTTY) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.String()
}

// waitFor polls the screen until it shows s (bounded).
func (f *fakeTTY) waitFor(t *testing.T, s string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(f.output(), s) }, 10*time.Second,
		5*time.Millisecond, "screen never showed %q; it shows %q", s, f.output())
}

func runInteractive(t *testing.T, dial func(context.Context) (Conn, error)) (*fakeTTY, chan error) {
	ctx := testCtx(t)
	c, err := dial(ctx)
	require.NoError(t, err)
	tty := newFakeTTY()
	t.Cleanup(func() { tty.type_.Close() })
	done := make(chan error, 1)
	go func() { done <- Interactive(ctx, c, tty) }()
	return tty, done
}

func TestInteractivePromptRepliesAndCtrlD(t *testing.T) {
	s := startServer(t)
	for name, dial := range dialers(s) {
		t.Run(name, func(t *testing.T) {
			tty, done := runInteractive(t, dial)
			tty.waitFor(t, Prompt)
			io.WriteString(tty.type_, "6 * 7\r")
			tty.waitFor(t, "42\r\n")
			// History: the up arrow brings the last line back; edit it and send it again.
			io.WriteString(tty.type_, "\x1b[A\x7f8\r")
			tty.waitFor(t, "48\r\n")
			io.WriteString(tty.type_, "\x04") // Ctrl-D on an empty line
			require.NoError(t, <-done)
		})
	}
}

func TestInteractiveQuit(t *testing.T) {
	s := startServer(t)
	for name, dial := range dialers(s) {
		t.Run(name, func(t *testing.T) {
			tty, done := runInteractive(t, dial)
			io.WriteString(tty.type_, "quit\r")
			require.NoError(t, <-done)
		})
	}
}

func TestInteractiveShowsServerClose(t *testing.T) {
	for _, name := range []string{"tcp", "ws"} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t)
			tty, done := runInteractive(t, dialers(s)[name])
			io.WriteString(tty.type_, "1 + 2\r")
			tty.waitFor(t, "3\r\n")
			s.shutdown(t)
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Interactive did not return after the server closed")
			}
			var ce *ClosedError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, tty.output(), "connection closed by the server")
			if name == "ws" {
				assert.Contains(t, tty.output(), "connection closed by the server: server shutting down (WebSocket status 1001)")
			} else {
				assert.Contains(t, tty.output(), "Error: server shutting down")
			}
		})
	}
}
