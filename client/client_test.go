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

// readline's input loop never ends once its instance is closed (it waits on a channel
// nobody reads: chzyer/readline v1.5.1), one goroutine per terminal; nothing else may leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/chzyer/readline.(*Operation).ioloop"))
}

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

// Lines is the one-shot use: every line in one session, and a count of error replies.
func TestLinesCountsErrorReplies(t *testing.T) {
	s := startServer(t)
	for name, dial := range dialers(s) {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := dial(ctx)
			require.NoError(t, err)
			var out bytes.Buffer
			n, err := Lines(ctx, c, []string{"x = 6", "# nothing", "x * 7", "1 / 0", "y"}, &out)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			assert.Equal(t, "x = 6\n42\nError at column 3: division by zero\nError at column 1: unknown name 'y'\n", out.String())

			c, err = dial(ctx)
			require.NoError(t, err)
			out.Reset()
			n, err = Lines(ctx, c, []string{"1 + 1", "quit", "1 / 0"}, &out)
			require.NoError(t, err)
			assert.Equal(t, 0, n, "nothing after quit is sent")
			assert.Equal(t, "2\n", out.String())
		})
	}
}

// A line sent to an HTTP port gets an HTTP response: Pipe and Lines say so, and print none
// of it.
func TestPipeRefusesAnHTTPPort(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c, err := DialTCP(ctx, s.HTTP)
	require.NoError(t, err)
	var out bytes.Buffer
	err = Pipe(ctx, c, strings.NewReader("1 + 1\n2 + 2\n"), &out)
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, s.HTTP, he.Addr)
	assert.Equal(t, s.HTTP+" answered in HTTP (HTTP/1.1 400 Bad Request): it is an HTTP port, not the line protocol; "+
		"try -ws "+s.HTTP+", or -tcp with the line-protocol port", err.Error())
	assert.Empty(t, out.String())

	c, err = DialTCP(ctx, s.HTTP)
	require.NoError(t, err)
	_, err = Lines(ctx, c, []string{"1 + 1"}, &out)
	require.ErrorAs(t, err, &he)
}

func TestCompleterCandidates(t *testing.T) {
	c := NewCompleter()
	c.AddVar("total")
	c.AddVar("tax")
	c.AddVar("tax")
	assert.Equal(t, []string{"tax", "total"}, c.Vars())
	for _, tc := range []struct {
		line  string
		pos   int // -1: the end
		want  []string
		typed int
	}{
		{"sq", -1, []string{"rt("}, 2},
		{"1 + sq", -1, []string{"rt("}, 2},
		{"t", -1, []string{"an(", "anh(", "au", "ax", "otal", "runc("}, 1},
		{"ta", -1, []string{"n(", "nh(", "u", "x"}, 2},
		{"2 * to", -1, []string{"tal"}, 2},
		{"he", -1, []string{"lp"}, 2},           // a command at the start of a line
		{"1 + he", -1, nil, 0},                  // not inside an expression
		{"help fa", -1, []string{"ctorial"}, 2}, // no parenthesis after help
		{"HELP va", -1, []string{"rs"}, 2},
		{"help ta", -1, []string{"n", "nh", "u", "x"}, 2},
		{"an", -1, []string{"s"}, 2},
		{"lo", -1, []string{"g(", "g10(", "g2("}, 2},
		{"sq + 1", 2, []string{"rt("}, 2}, // the name before the cursor
		{"0x1f", -1, nil, 0},              // the end of a number is no name
		{"zz", -1, nil, 0},
		{"PI", -1, nil, 0}, // names are case-sensitive
	} {
		pos := tc.pos
		if pos < 0 {
			pos = len([]rune(tc.line))
		}
		got, typed := c.Candidates(tc.line, pos)
		if tc.want == nil {
			assert.Empty(t, got, tc.line)
			continue
		}
		assert.Equal(t, tc.want, got, tc.line)
		assert.Equal(t, tc.typed, typed, tc.line)
	}
	c.ResetVars()
	got, _ := c.Candidates("to", 2)
	assert.Empty(t, got)
}

func TestAssignedNameAndHelpLines(t *testing.T) {
	for _, tc := range []struct {
		line, reply, name string
	}{
		{"x = 1/3", "x = 1/3 ≈ 0.33333333333333333333", "x"},
		{"ｘ　＝　５", "x = 5", "x"},
		{" total_2 =2**10", "total_2 = 1024", "total_2"},
		{"x = 1/0", "Error at column 7: division by zero", ""},
		{"vars", "x = 3, y = 4", ""},            // no assignment in the line
		{"help =", "name = expr: stores …", ""}, // help, not an assignment
		{"1 # a = b", "1", ""},
	} {
		name, ok := AssignedName(tc.line, tc.reply)
		assert.Equal(t, tc.name, name, tc.line)
		assert.Equal(t, tc.name != "", ok, tc.line)
	}
	for line, want := range map[string]bool{
		"help": true, " HELP ": true, "help sqrt": true, "help\tpi": true, "help # note": true,
		"helpme": false, "x = help": false, "hel": false, "": false,
	} {
		assert.Equal(t, want, IsHelpLine(line), "%q", line)
	}
}

func TestWrap(t *testing.T) {
	text := "one two three four five six seven eight nine ten eleven twelve"
	assert.Equal(t, "one two three four\nfive six seven eight\nnine ten eleven\ntwelve", Wrap(text, 20))
	long := strings.Repeat("x", 30)
	assert.Equal(t, "a\n"+long+"\nb", Wrap("a "+long+" b", 20), "a long word stays whole")
	assert.Equal(t, "short", Wrap("short", 80))
	assert.Equal(t, "π ≈ 3.14159265 and …", Wrap("π ≈ 3.14159265 and …", 20), "columns are code points")
	assert.Equal(t, "π ≈ 3.141592653 and\n…", Wrap("π ≈ 3.141592653 and …", 20))
}

// -ws pointed at the line protocol's port says so.
func TestDialWSRefusesALineProtocolPort(t *testing.T) {
	s := startServer(t)
	_, err := DialWS(testCtx(t), s.TCP)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ws://"+s.TCP+"/ws did not answer in HTTP, so it is no WebSocket endpoint; for wscalc's line protocol use -tcp")
}
