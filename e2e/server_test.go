package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds on everything that waits for the server process.
const (
	buildTimeout = 5 * time.Minute  // a cold -race build on a busy 2-core machine
	startTimeout = 10 * time.Second // until both addresses are printed
	// stopTimeout exceeds the server's default -shutdown-timeout (10s), so a server that
	// honours it always exits before it is killed.
	stopTimeout = 15 * time.Second
	runTimeout  = 20 * time.Second // a one-shot run: -h, eval
	outputLines = 400              // lines of server output kept for failure reports
)

// binPath is the wscalc binary that TestMain builds once for the whole package.
var binPath string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wscalc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "wscalc")
	if err := buildBinary(binPath); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building wscalc:", err)
		return 1
	}
	return m.Run()
}

// buildBinary builds the module's main package (the parent of this directory) into path.
func buildBinary(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := []string{"build", "-o", path}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// server is a running wscalc process. Addresses are host:port as printed by the server.
type server struct {
	HTTPAddr string // empty when started with -http ""
	TCPAddr  string // empty when started with -tcp ""

	cmd    *exec.Cmd
	out    *outputLog
	exited chan struct{} // closed once the process has been waited for

	stopOnce sync.Once
	code     int
}

// startServer starts wscalc on 127.0.0.1 with port 0 for both listeners (plus args), waits
// until it has printed both addresses, and stops it when the test ends.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	return startServerOn(t, "127.0.0.1:0", "127.0.0.1:0", args...)
}

// startServerOn is startServer with given listen addresses: pass a stopped server's
// HTTPAddr and TCPAddr to restart it on the same ports. An empty address disables that
// listener (and is not waited for). The t.Cleanup stops the process (SIGTERM, then SIGKILL
// after stopTimeout), reports a non-zero exit unless the test called Stop itself, and logs
// the server's output if the test failed.
func startServerOn(t testing.TB, httpAddr, tcpAddr string, args ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, httpAddr, tcpAddr, args...)
}

// startServerEnv is startServerOn with extra environment variables ("WSCALC_MAX_CLIENTS=1")
// added to the test's own.
func startServerEnv(t testing.TB, env []string, httpAddr, tcpAddr string, args ...string) *server {
	t.Helper()
	if binPath == "" {
		t.Fatal("e2e: wscalc binary not built (TestMain did not run)")
	}
	s := &server{out: &outputLog{}, exited: make(chan struct{})}
	httpCh, tcpCh := make(chan string, 1), make(chan string, 1)
	s.cmd = exec.Command(binPath, append([]string{"-http", httpAddr, "-tcp", tcpAddr}, args...)...)
	s.cmd.Stdout = &lineWriter{log: s.out, stream: "stdout", onLine: func(line string) {
		if a := httpAddrIn(line); a != "" {
			offer(httpCh, a)
		}
		if a := tcpAddrIn(line); a != "" {
			offer(tcpCh, a)
		}
	}}
	s.cmd.Stderr = &lineWriter{log: s.out, stream: "stderr"}
	s.cmd.Env = append(childEnv(), env...)
	s.cmd.WaitDelay = 5 * time.Second // do not hang on output pipes after the process exits
	configureChild(s.cmd)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting wscalc: %v", err)
	}
	go func() {
		_ = s.cmd.Wait() // the exit status is read from ProcessState
		close(s.exited)
	}()
	t.Cleanup(func() { s.cleanup(t) })

	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for (httpAddr != "" && s.HTTPAddr == "") || (tcpAddr != "" && s.TCPAddr == "") {
		select {
		case s.HTTPAddr = <-httpCh:
		case s.TCPAddr = <-tcpCh:
		case <-s.exited:
			t.Fatalf("wscalc exited (status %d) before printing its addresses:\n%s",
				s.cmd.ProcessState.ExitCode(), s.Output())
		case <-deadline.C:
			t.Fatalf("wscalc did not print its addresses within %v:\n%s", startTimeout, s.Output())
		}
	}
	return s
}

// offer sends v unless the channel already holds a value: the first address printed wins.
func offer(ch chan string, v string) {
	select {
	case ch <- v:
	default:
	}
}

// The startup lines, e.g.
//
//	wscalc: playground http://127.0.0.1:8080/
//	wscalc: line protocol on 127.0.0.1:10000 (try: nc 127.0.0.1 10000)
var (
	httpAddrRE = regexp.MustCompile(`playground\S*\s+http://([^/\s]+)`)
	tcpAddrRE  = regexp.MustCompile(`line protocol\S*\s+(?:on\s+)?(\S+:\d+)`)
)

func httpAddrIn(line string) string { return firstGroup(httpAddrRE, line) }
func tcpAddrIn(line string) string  { return firstGroup(tcpAddrRE, line) }

func firstGroup(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// URL is the playground's base URL, without a trailing slash.
func (s *server) URL() string { return "http://" + s.HTTPAddr }

// WSURL is the WebSocket endpoint.
func (s *server) WSURL() string { return "ws://" + s.HTTPAddr + "/ws" }

// Output returns the last lines the server wrote, each prefixed by its stream.
func (s *server) Output() string { return s.out.String() }

// Exited is closed once the process has exited.
func (s *server) Exited() <-chan struct{} { return s.exited }

// Stop sends SIGTERM, waits for the process (SIGKILL and a test error after stopTimeout)
// and returns its exit code (-1 if a signal killed it). Calling it again returns the same
// code.
func (s *server) Stop(t testing.TB) int {
	t.Helper()
	s.stopOnce.Do(func() { s.code = s.stop(t) })
	return s.code
}

func (s *server) stop(t testing.TB) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM to wscalc: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		t.Errorf("wscalc did not exit within %v of SIGTERM; killing it", stopTimeout)
		_ = s.cmd.Process.Kill()
		<-s.exited // Kill cannot be ignored; WaitDelay bounds the pipe copying
	}
	return s.cmd.ProcessState.ExitCode()
}

// cleanup stops a server the test left running (a non-zero exit is then an error: it is
// how a -race binary reports a data race) and shows the server's output on failure.
func (s *server) cleanup(t testing.TB) {
	stopped := true
	s.stopOnce.Do(func() {
		stopped = false
		s.code = s.stop(t)
	})
	if !stopped && s.code != 0 {
		t.Errorf("wscalc exited with status %d at test cleanup", s.code)
	}
	if t.Failed() {
		t.Logf("wscalc output (last %d lines):\n%s", outputLines, s.Output())
	}
}

// outputLog keeps the last outputLines lines of server output; safe for concurrent use.
type outputLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *outputLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > outputLines {
		l.lines = l.lines[len(l.lines)-outputLines:]
	}
}

func (l *outputLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// lineWriter splits one output stream into lines for an outputLog. os/exec writes to it
// from a single goroutine per stream, so partial needs no lock.
type lineWriter struct {
	log     *outputLog
	stream  string
	onLine  func(string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.log.add(w.stream + ": " + line)
		if w.onLine != nil {
			w.onLine(line)
		}
	}
	return len(p), nil
}

// runBinary runs wscalc to completion with the given stdin and returns its output and exit
// code; it fails the test if the run exceeds runTimeout.
func runBinary(t testing.TB, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = childEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	configureChild(cmd)
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("wscalc %s: no exit within %v", strings.Join(args, " "), runTimeout)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("wscalc %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// childEnv is the environment of a wscalc process: the test's, and for a -race binary no
// race-detector pause at exit (1 s by default), which every stop would otherwise pay.
func childEnv() []string {
	env := os.Environ()
	if _, set := os.LookupEnv("GORACE"); raceEnabled && !set {
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return env
}
