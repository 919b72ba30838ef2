package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"iter"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Bounds for the browser tests. They are generous because the machine may be busy (a
// -race server, twenty tabs on two cores); every wait is a poll that ends as soon as the
// page is ready, so the bounds never slow a passing run.
const (
	pageWait      = 30 * time.Second // one page reaction: a reply, a count, a state
	reconnectWait = 60 * time.Second // backoff after a restart can reach several seconds
	tabCount      = 20
	screenshotW   = 1280
	screenshotH   = 800
)

// Selectors of the page's test hooks (static/index.html, static/render.js).
const (
	selExpr    = `[data-testid=expr]`
	selStatus  = `[data-testid=status]`
	selClients = `[data-testid=clients]`
	selVars    = `[data-testid=vars]`
)

// TestPlayground drives the playground in one headless Chromium for the whole package:
// each subtest opens its own tabs, against its own server so that presence counts are
// its own. At the end the browser is shut down and no Chromium process may remain.
func TestPlayground(t *testing.T) {
	b := startBrowser(t)

	t.Run("Modules", func(t *testing.T) { testModules(t, b) })
	t.Run("Axe", func(t *testing.T) { testAxe(t, b) })
	t.Run("Evaluate", func(t *testing.T) { testEvaluate(t, b) })
	t.Run("NCHint", func(t *testing.T) { testNCHint(t, b) })
	t.Run("HistoryAndKeys", func(t *testing.T) { testHistoryAndKeys(t, b) })
	t.Run("TabsHistories", func(t *testing.T) { testTabsHistories(t, b) })
	t.Run("TwentyTabs", func(t *testing.T) { testTwentyTabs(t, b) })
	t.Run("NCClientCounted", func(t *testing.T) { testNCClientCounted(t, b) })
	t.Run("ReconnectAfterRestart", func(t *testing.T) { testReconnectAfterRestart(t, b) })
	t.Run("ReconnectPrompt", func(t *testing.T) { testReconnectPrompt(t, b) })
	t.Run("ClusterReconnect", func(t *testing.T) { testClusterReconnect(t, b) })
	t.Run("ServerBusy", func(t *testing.T) { testServerBusy(t, b) })
	t.Run("QuitStaysOffline", func(t *testing.T) { testQuitStaysOffline(t, b) })
	t.Run("HeaderLayout", func(t *testing.T) { testHeaderLayout(t, b) })
	t.Run("CopyButton", func(t *testing.T) { testCopyButton(t, b) })
	t.Run("LongValues", func(t *testing.T) { testLongValues(t, b) })
	t.Run("Screenshot", func(t *testing.T) { testScreenshot(t, b) })
	t.Run("Rooms", func(t *testing.T) { testRooms(t, b) })
	t.Run("RoomLost", func(t *testing.T) { testRoomLost(t, b) })
	t.Run("RoomInvalidName", func(t *testing.T) { testRoomInvalidName(t, b) })

	b.shutdown(t)
}

// ---- the browser ----

// browser is one Chromium process with a fresh profile; tabs are chromedp contexts under
// ctx.
type browser struct {
	ctx         context.Context
	cancel      context.CancelFunc // cancels the browser context, then the allocator
	userDataDir string
	pid         int
	closed      bool
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	exe := requireTool(t, "chromium")
	// A fresh profile outside t.TempDir: Chromium may still be flushing it while TempDir's
	// cleanup runs, which would fail the test for a reason that is not the page's.
	dir, err := os.MkdirTemp("", "wscalc-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(screenshotW, screenshotH),
		// Chromium's crash handler carries neither the profile nor a parent we could
		// follow (it detaches), but it inherits the environment: this marks it as ours.
		chromedp.Env(browserMarkEnv+"="+dir),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &browser{ctx: ctx, userDataDir: dir, cancel: func() { cancelCtx(); cancelAlloc() }}
	// Start the browser with a context that has no timeout: it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		b.cancel()
		os.RemoveAll(dir)
		t.Fatalf("starting %s: %v", exe, err)
	}
	if p := chromedp.FromContext(ctx).Browser.Process(); p != nil {
		b.pid = p.Pid
	}
	t.Cleanup(func() {
		if !b.closed {
			b.cancel()
		}
		os.RemoveAll(dir)
	})
	return b
}

// shutdown closes the browser and asserts that no Chromium process of it is left: not the
// browser, and none of its helpers (renderers, zygotes, GPU and network processes), which
// Chromium starts with the profile directory on their command line.
func (b *browser) shutdown(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		b.closed = true
		b.cancel()
		t.Log("process check skipped: it reads /proc")
		return
	}
	// The check must see the browser while it runs, or finding nothing later proves nothing.
	running := chromiumProcesses(b.userDataDir)
	if b.pid == 0 || !slices.Contains(running, b.pid) {
		t.Errorf("process check does not find the browser (pid %d) while it runs: found %v", b.pid, running)
	}
	b.closed = true
	b.cancel()
	deadline := time.Now().Add(pageWait)
	for {
		left := chromiumProcesses(b.userDataDir)
		if b.pid != 0 && processAlive(b.pid) {
			left = append(left, b.pid)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Chromium processes left after the browser was closed: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browserMarkEnv names the environment variable that marks the test's Chromium processes.
const browserMarkEnv = "WSCALC_E2E_BROWSER"

// chromiumProcesses lists the processes of the browser started with profile dir: those
// with --user-data-dir=dir on their command line (what `pgrep -f -- --user-data-dir=dir`
// finds, without needing procps installed: the browser, zygotes, renderers, GPU and
// network processes) and those whose environment carries the mark (the crash handler).
func chromiumProcesses(dir string) []int {
	arg := []byte("--user-data-dir=" + dir)
	mark := []byte(browserMarkEnv + "=" + dir)
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if procListHas(pid, "cmdline", arg) || procListHas(pid, "environ", mark) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procListHas reports whether /proc/pid/file, a NUL-separated list, holds item. A process
// that is gone, or not ours to read, does not.
func procListHas(pid int, file string, item []byte) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), file))
	if err != nil {
		return false
	}
	for _, v := range bytes.Split(data, []byte{0}) {
		if bytes.Equal(v, item) {
			return true
		}
	}
	return false
}

// processAlive reports whether pid runs and is not a zombie waiting for its parent.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// ---- tabs ----

// tab is one page of the playground.
type tab struct {
	t      testing.TB
	name   string
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	problems []string // uncaught exceptions and CSP violations seen in the console
	done     chan struct{}
}

// openTab opens url in a new tab and waits until the page is connected. It does not call
// t.Fatal, so it may run in a goroutine; the returned error says what went wrong.
func (b *browser) openTab(t testing.TB, name, url string) (*tab, error) {
	tb, err := b.newTab(t, name)
	if err != nil {
		return nil, err
	}
	if err := tb.load(url); err != nil {
		tb.close()
		return nil, err
	}
	return tb, nil
}

// newTab opens an empty tab that watches its console; close it with close.
func (b *browser) newTab(t testing.TB, name string) (*tab, error) {
	ctx, cancel := chromedp.NewContext(b.ctx)
	tb := &tab{t: t, name: name, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	if err := chromedp.Do(ctx); err != nil { // opens the tab, bound to ctx
		cancel()
		return nil, fmt.Errorf("%s: opening a tab: %w", name, err)
	}
	console := chromedp.Console(ctx)
	go tb.watchConsole(console)
	return tb, nil
}

// load navigates the tab to url and waits until the page is connected.
func (tb *tab) load(url string) error {
	if err := tb.do(pageWait, chromedp.Navigate(url)); err != nil {
		return err
	}
	_, err := tb.waitStatus("connected", "")
	return err
}

// openLoadingTab opens url in a new tab without waiting for the page to connect.
func (b *browser) openLoadingTab(t *testing.T, url string) *tab {
	t.Helper()
	tb, err := b.newTab(t, "tab")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.close)
	ok(t, tb.do(pageWait, chromedp.Navigate(url)))
	return tb
}

// mustOpenTab is openTab for the test goroutine; the tab closes when the test ends.
func (b *browser) mustOpenTab(t *testing.T, url string) *tab {
	t.Helper()
	tb, err := b.openTab(t, "tab", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.close)
	return tb
}

// watchConsole records what must never happen on the page: an uncaught exception, or a
// resource or script refused by the Content-Security-Policy.
func (tb *tab) watchConsole(msgs iter.Seq2[chromedp.ConsoleMessage, error]) {
	defer close(tb.done)
	for m, err := range msgs {
		if err != nil {
			return // the tab closed
		}
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			tb.mu.Lock()
			tb.problems = append(tb.problems, fmt.Sprintf("%s: %s", m.Type, m.Text))
			tb.mu.Unlock()
		}
	}
}

// close closes the tab and reports the console problems it saw.
func (tb *tab) close() {
	if tb.cancel == nil {
		return
	}
	tb.cancel()
	tb.cancel = nil
	<-tb.done
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		tb.t.Errorf("%s console: %s", tb.name, p)
	}
}

func (tb *tab) do(limit time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(tb.ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		return fmt.Errorf("%s: %w", tb.name, err)
	}
	return nil
}

// poll waits until the page function, called with args, returns a truthy value, and
// decodes that value into T.
func poll[T any](tb *tab, limit time.Duration, fn string, args ...any) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, limit+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.PollFunction[T](fn,
		chromedp.WithPollingArgs(args...),
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(limit)))
	if err != nil {
		return v, fmt.Errorf("%s: waiting for %s%v: %w", tb.name, shortJS(fn), args, err)
	}
	return v, nil
}

func shortJS(fn string) string {
	fn = strings.Join(strings.Fields(fn), " ")
	if len(fn) > 80 {
		fn = fn[:80] + "…"
	}
	return fn
}

// evaluateAwait is evaluate for an expression whose value is a promise: its result.
func evaluateAwait[T any](tb *tab, js string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, pageWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return v, fmt.Errorf("%s: evaluating %s: %w", tb.name, shortJS(js), err)
	}
	return v, nil
}

func evaluate[T any](tb *tab, js string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, pageWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		return v, fmt.Errorf("%s: evaluating %s: %w", tb.name, shortJS(js), err)
	}
	return v, nil
}

// entry is what a history entry shows.
type entry struct {
	Kind      string `json:"kind"`
	Input     string `json:"input"`
	Result    string `json:"result"`
	Message   string `json:"message"`
	ErrText   string `json:"errText"`   // the underlined part of the input
	ErrBefore string `json:"errBefore"` // the input before it
	ErrColumn int    `json:"errColumn"`
	Earlier   bool   `json:"earlier"` // restored from an earlier visit
}

// entryJS reads entry n (1-based) once it has its reply.
const entryJS = `(n) => {
	const es = document.querySelectorAll('[data-testid=history] [data-testid=entry]');
	if (es.length < n) return null;
	const e = es[n - 1];
	if (e.dataset.kind === 'pending') return null;
	const q = (id) => e.querySelector('[data-testid=' + id + ']');
	const input = q('input'), span = q('err-span');
	let before = '';
	if (span) {
		const r = document.createRange();
		r.setStart(input, 0);
		r.setEndBefore(span);
		before = r.toString();
	}
	return {
		kind: e.dataset.kind,
		input: input.textContent,
		result: q('result') ? q('result').textContent : '',
		message: q('message') ? q('message').textContent : '',
		errText: span ? span.textContent : '',
		errBefore: before,
		errColumn: span ? Number(span.dataset.column) : 0,
		earlier: e.classList.contains('earlier'),
	};
}`

const entryCountJS = `document.querySelectorAll('[data-testid=history] [data-testid=entry]').length`

func (tb *tab) entryCount() (int, error) { return evaluate[int](tb, entryCountJS) }

func (tb *tab) entryAt(n int) (entry, error) { return poll[entry](tb, pageWait, entryJS, n) }

// eval types line into the expression box, presses Enter and returns the new entry once
// the server has answered.
func (tb *tab) eval(line string) (entry, error) {
	n, err := tb.entryCount()
	if err != nil {
		return entry{}, err
	}
	if err := tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), line+kb.Enter)); err != nil {
		return entry{}, err
	}
	e, err := tb.entryAt(n + 1)
	if err == nil && e.Input != line {
		err = fmt.Errorf("%s: entry %d shows input %q, want %q", tb.name, n+1, e.Input, line)
	}
	return e, err
}

// mustEval is eval that fails the test on error and checks the kind and the result text.
func (tb *tab) mustEval(t *testing.T, line, kind, result string) entry {
	t.Helper()
	e, err := tb.eval(line)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != kind || e.Result != result {
		t.Fatalf("%q: entry shows kind %q, result %q; want %q, %q", line, e.Kind, e.Result, kind, result)
	}
	return e
}

// waitStatus waits for the status badge to be in state with text containing substr, and
// returns its text.
func (tb *tab) waitStatus(state, substr string) (string, error) {
	return tb.waitStatusFor(pageWait, state, substr)
}

func (tb *tab) waitStatusFor(limit time.Duration, state, substr string) (string, error) {
	// An empty string argument arrives as undefined (chromedp drops it from the call as an
	// empty JSON value), hence the ?? ''.
	return poll[string](tb, limit, `(state, substr) => {
		const s = document.querySelector('`+selStatus+`');
		return s.dataset.state === state && s.textContent.includes(substr ?? '') ? s.textContent : null;
	}`, state, substr)
}

// waitClients waits until the presence count shows total sessions and returns its text.
func (tb *tab) waitClients(total int) (string, error) {
	return poll[string](tb, pageWait, `(want) => {
		const c = document.querySelector('`+selClients+`');
		return c.dataset.total === String(want) ? c.textContent : null;
	}`, total)
}

func (tb *tab) text(sel string) (string, error) {
	return evaluate[string](tb, `document.querySelector('`+sel+`').textContent`)
}

func (tb *tab) value() (string, error) {
	return evaluate[string](tb, `document.querySelector('`+selExpr+`').value`)
}

// must turns a (value, error) result into the value, failing the test on an error; it is
// written must(tb.text(sel))(t) so that the call's two results pass straight in.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ok fails the test on an error.
func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ---- the tests ----

// The page's modules, called directly in the page for what the other tests cannot reach
// through a plain-http loopback server: the wss: address under https and behind a path
// prefix, the backoff bounds, the session-restore literals, which results get the
// long-value button, the nc command for the addresses a hello can give, the presence
// line, and rooms: Share's names, the join and link addresses, each event shown once.
func testModules(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	ctx, cancel := context.WithTimeout(tb.ctx, pageWait)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(async () => {
		const c = await import(new URL('connection.js', location.href).href);
		const s = await import(new URL('session.js', location.href).href);
		const st = await import(new URL('store.js', location.href).href);
		const rd = await import(new URL('render.js', location.href).href);
		const rm = await import(new URL('room.js', location.href).href);
		const names = Array.from({length: 200}, () => rm.roomName());
		const r = new st.Recall(['a', 'b', 'b']);
		const recall = [r.up('draft'), r.up(''), r.up(''), r.down(), r.down(), r.down()];
		return {
			wss: c.socketURL(new URL('https://calc.example.org/play/?q=1#top')),
			ws: c.socketURL(new URL('http://127.0.0.1:8080/')),
			first: [c.backoffDelay(0, () => 0), c.backoffDelay(0, () => 1)],
			capped: [c.backoffDelay(10, () => 0), c.backoffDelay(99, () => 1)],
			closeReason: c.closeText(1001, 'server shutting down'),
			closeCode: c.closeText(1006, ''),
			literals: [s.literal({kind: 'approx', value: '1.5'}), s.literal({kind: 'rational', value: '-2/3'}),
				s.literal({kind: 'integer', value: ''}), s.literal({kind: 'integer', value: '7'.repeat(4001)})],
			long: [
				{kind: 'integer', display: '14', value: '14'},
				{kind: 'integer', display: 'x = ' + '9'.repeat(201), value: '9'.repeat(201), name: 'x'},
				{kind: 'integer', display: '≈ 1e+300 (301 digits)', value: '1' + '0'.repeat(300)},
				{kind: 'rational', display: '1/3 ≈ 0.33333333333333333333', value: '1/3'},
				{kind: 'rational', display: '0.125', value: '1/8'},
				{kind: 'rational', display: '≈ 2.7145674820218743032', value: '-12/345'},
				{kind: 'approx', display: '≈ 1.4142135623731', value: '1.4142135623730951'},
				{kind: 'integer', display: '≈ 1e+300 (301 digits)', value: ''},
			].map((r) => { const l = rd.longValue(r); return l ? l.digits + (l.inDisplay ? ' shown' : ' hidden') : 'none'; }),
			recall: recall.map((v) => v === null ? '<null>' : v),
			nc: [rd.ncCommand('127.0.0.1:10000', 'localhost'), rd.ncCommand('localhost:4000', 'calc.example.org'),
				rd.ncCommand('localhost:4000', '[::1]'), rd.ncCommand('[2001:db8::1]:7', 'x'),
				rd.ncCommand('', 'x'), rd.ncCommand(undefined, 'x')],
			presence: rd.presenceNodes({total: 3, ws: 2, tcp: 1}).map((n) => n.textContent).join(''),
			roomNames: names.every(rm.validRoomName) && names.every((n) => /^[a-z]+-[a-z]+-[0-9]{3}$/.test(n)),
			roomNameEdges: [rm.roomName(() => 0), rm.roomName(() => 0.9999)],
			validRoom: ['lab', 'A_b-9', 'x'.repeat(32), 'x'.repeat(33), '', 'no space', 'ünï'].map(rm.validRoomName),
			joinURL: [rm.joinURL('ws://h/ws', null),
				rm.joinURL('ws://h/ws', Object.assign(new rm.RoomView('Lab'), {nick: 'bob'})),
				rm.joinURL('ws://h/ws', Object.assign(new rm.RoomView('lab'), {nick: 'bob', epoch: 'Yk3', seq: 6}))],
			roomLink: [rm.roomLink(new URL('http://h:1/play/?x=1#top'), 'lab'), rm.privateAddress(new URL('http://h:1/play/?room=lab'))],
			roomInAddress: [rm.roomInAddress(new URL('http://h/?room=Lab')), rm.roomInAddress(new URL('http://h/'))],
			roomAdd: (() => { const v = new rm.RoomView('lab'); return [v.add({seq: 1}), v.add({seq: 1}), v.add({seq: 3}), v.add({seq: 2}), v.seq]; })(),
		};
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"wss":         "wss://calc.example.org/play/ws",
		"ws":          "ws://127.0.0.1:8080/ws",
		"first":       []any{250.0, 500.0},
		"capped":      []any{2500.0, 5000.0}, // never more than 5 s between tries
		"closeReason": "server shutting down (1001)",
		"closeCode":   "connection lost (1006)",
		"literals":    []any{"1.5 * exp(0)", "-2/3", "", ""}, // a value too long for a line: ""
		"long":        []any{"none", "201 shown", "301 hidden", "none", "none", "5 hidden", "none", "none"},
		"recall":      []any{"b", "a", "<null>", "b", "draft", "<null>"},
		"nc": []any{"nc 127.0.0.1 10000", "nc calc.example.org 4000", "nc ::1 4000", "nc 2001:db8::1 7",
			"", ""},
		"presence":      "3 connected (2 web, 1 nc)",
		"roomNames":     true,
		"roomNameEdges": []any{"amber-abacus-000", "witty-zephyr-999"},
		"validRoom":     []any{true, true, true, false, false, false, false},
		"joinURL": []any{"ws://h/ws", "ws://h/ws?room=lab&nick=bob",
			"ws://h/ws?room=lab&nick=bob&epoch=Yk3&since=6"},
		"roomLink":      []any{"http://h:1/play/?room=lab", "/play/"},
		"roomInAddress": []any{"Lab", ""},
		"roomAdd":       []any{true, false, true, false, 3.0}, // an event already processed is not shown again
	}
	for k, w := range want {
		if g := fmt.Sprint(got[k]); g != fmt.Sprint(w) {
			t.Errorf("%s = %s, want %s", k, g, fmt.Sprint(w))
		}
	}
}

// Typed lines give entries of the right kind, with the server's display; an error
// underlines the offending code points; Up recalls the previous input.
func testEvaluate(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")

	tb.mustEval(t, "2 + 3 * 4", "integer", "14")
	tb.mustEval(t, "1/3", "rational", "1/3 ≈ 0.33333333333333333333")
	tb.mustEval(t, "sqrt(2)", "approx", "≈ 1.4142135623731")
	tb.mustEval(t, "x = 2/3", "rational", "x = 2/3 ≈ 0.66666666666666666667")
	tb.mustEval(t, "x * 3", "integer", "2")
	tb.mustEval(t, "* 2", "integer", "4") // a continuation line: ans * 2

	vars := must(tb.text(selVars))(t)
	if !strings.Contains(vars, "x") || !strings.Contains(vars, "2/3") {
		t.Errorf("variables panel shows %q, want x = 2/3 in it", vars)
	}
	if !strings.Contains(vars, "ans") || !strings.Contains(vars, "4") {
		t.Errorf("variables panel shows %q, want ans = 4 in it", vars)
	}
	rtt := must(tb.text(`[data-testid=rtt]`))(t)
	if !strings.HasSuffix(rtt, " ms") {
		t.Errorf("round-trip time shows %q, want a duration in ms", rtt)
	}

	// Errors: the underline covers the columns the server named (1-based code points).
	for _, tc := range []struct {
		line, under, message string
		column               int
	}{
		{"2 + foo", "foo", "unknown name 'foo'", 5},
		{"1 / 0", "/", "division by zero", 3},
		{"π × ☃", "☃", "unexpected character '☃' (U+2603)", 5}, // columns count code points
	} {
		e, err := tb.eval(tc.line)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != "error" || e.Message != tc.message {
			t.Errorf("%q: kind %q, message %q; want error %q", tc.line, e.Kind, e.Message, tc.message)
		}
		if e.ErrText != tc.under || e.ErrColumn != tc.column || utf8.RuneCountInString(e.ErrBefore)+1 != tc.column {
			t.Errorf("%q: underlined %q after %q (column %d); want %q at column %d",
				tc.line, e.ErrText, e.ErrBefore, e.ErrColumn, tc.under, tc.column)
		}
	}

	// Up recalls the previous input, Up again the one before, Down comes back.
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), kb.ArrowUp)))
	if v := must(tb.value())(t); v != "π × ☃" {
		t.Errorf("after Up the input holds %q, want the previous line %q", v, "π × ☃")
	}
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), kb.ArrowUp)))
	if v := must(tb.value())(t); v != "1 / 0" {
		t.Errorf("after Up Up the input holds %q, want %q", v, "1 / 0")
	}
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), kb.ArrowDown)))
	if v := must(tb.value())(t); v != "π × ☃" {
		t.Errorf("after Up Up Down the input holds %q, want %q", v, "π × ☃")
	}
}

// History survives a reload and can be cleared; clicking an entry puts its input back;
// Esc clears the input.
func testHistoryAndKeys(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	tb.mustEval(t, "6 * 7", "integer", "42")
	tb.mustEval(t, "2 ** 10", "integer", "1024")

	ok(t, tb.do(pageWait, chromedp.Reload()))
	must(tb.waitStatus("connected", ""))(t)
	for i, want := range []string{"6 * 7", "2 ** 10"} {
		e := must(tb.entryAt(i + 1))(t)
		if e.Input != want || !e.Earlier {
			t.Errorf("after reload entry %d is %+v, want the earlier %q", i+1, e, want)
		}
	}

	// Clicking an entry puts its input in the box; Esc empties the box.
	ok(t, tb.do(pageWait, chromedp.Click(chromedp.CSS(`[data-testid=entry] .recall`))))
	if v := must(tb.value())(t); v != "6 * 7" {
		t.Errorf("after clicking the first entry the input holds %q, want %q", v, "6 * 7")
	}
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), kb.Escape)))
	if v := must(tb.value())(t); v != "" {
		t.Errorf("after Esc the input holds %q, want it empty", v)
	}

	ok(t, tb.do(pageWait, chromedp.Click(chromedp.ID("clear-history"))))
	if n := must(tb.entryCount())(t); n != 0 {
		t.Errorf("after Clear history %d entries remain", n)
	}
	ok(t, tb.do(pageWait, chromedp.Reload()))
	must(tb.waitStatus("connected", ""))(t)
	if n := must(tb.entryCount())(t); n != 0 {
		t.Errorf("after Clear history and a reload %d entries came back", n)
	}
}

// Twenty tabs at once, each with its own session and variables, all seeing the count
// reach 20; closing ten brings the count in the others down to 10.
func testTwentyTabs(t *testing.T, b *browser) {
	srv := startServer(t)
	tabs := make([]*tab, tabCount)
	errs := make(chan error, tabCount)
	var wg sync.WaitGroup
	for k := range tabCount {
		wg.Go(func() {
			tb, err := b.openTab(t, fmt.Sprintf("tab %d", k), srv.URL()+"/")
			if err != nil {
				errs <- err
				return
			}
			tabs[k] = tb
			errs <- tb.ownSession(k)
		})
	}
	wg.Wait()
	close(errs)
	t.Cleanup(func() {
		for _, tb := range tabs {
			if tb != nil {
				tb.close()
			}
		}
	})
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, tb := range tabs {
		text := must(tb.waitClients(tabCount))(t)
		if want := fmt.Sprintf("%d connected (%d web, 0 nc)", tabCount, tabCount); text != want {
			t.Errorf("%s: presence shows %q, want %q", tb.name, text, want)
		}
	}

	for _, tb := range tabs[tabCount/2:] {
		tb.close()
	}
	for _, tb := range tabs[:tabCount/2] {
		must(tb.waitClients(tabCount / 2))(t)
	}
	// The remaining sessions still have their own variables.
	for k, tb := range tabs[:tabCount/2] {
		if e, err := tb.eval("x + 1"); err != nil || e.Result != strconv.Itoa(k+1) {
			t.Errorf("%s: x + 1 gave %+v (%v), want %d", tb.name, e, err, k+1)
		}
	}
}

// ownSession sets x = k in this tab and checks that x * 1000 is this tab's own answer.
func (tb *tab) ownSession(k int) error {
	if e, err := tb.eval(fmt.Sprintf("x = %d", k)); err != nil {
		return err
	} else if want := fmt.Sprintf("x = %d", k); e.Result != want {
		return fmt.Errorf("%s: x = %d shows %q, want %q", tb.name, k, e.Result, want)
	}
	e, err := tb.eval("x * 1000")
	if err != nil {
		return err
	}
	if want := strconv.Itoa(k * 1000); e.Kind != "integer" || e.Result != want {
		return fmt.Errorf("%s: x * 1000 shows %s %q, want integer %q", tb.name, e.Kind, e.Result, want)
	}
	return nil
}

// A nc client connecting makes the count in an open tab go up by one, and down again when
// it leaves.
func testNCClientCounted(t *testing.T, b *browser) {
	ncPath := requireTool(t, "nc")
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	must(tb.waitClients(1))(t)

	host, port, ok := strings.Cut(srv.TCPAddr, ":")
	if !ok {
		t.Fatalf("TCP address %q has no port", srv.TCPAddr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*pageWait)
	defer cancel()
	nc := exec.CommandContext(ctx, ncPath, host, port)
	stdin, err := nc.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := nc.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if nc.ProcessState == nil { // still running: the test failed before quit
			_ = nc.Process.Kill()
			_ = nc.Wait()
		}
	}()
	// One exchange proves the session is live before the count is read.
	if _, err := io.WriteString(stdin, "20 + 22\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "42\n" {
		t.Fatalf("nc got %q (%v), want %q", line, err, "42\n")
	}
	text := must(tb.waitClients(2))(t)
	if want := "2 connected (1 web, 1 nc)"; text != want {
		t.Errorf("presence shows %q with nc connected, want %q", text, want)
	}

	// quit ends the session and the server closes the connection; nc exits once its
	// input has ended too.
	if _, err := io.WriteString(stdin, "quit\n"); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if err := nc.Wait(); err != nil {
		t.Errorf("nc after quit: %v", err)
	}
	must(tb.waitClients(1))(t)
}

// The server stops and starts again on the same port: the tab shows why it lost the
// connection, reconnects by itself, restores its variables, sends what was typed while
// it was away, and evaluates again.
func testReconnectAfterRestart(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	tb.mustEval(t, "x = 7", "integer", "x = 7")
	tb.mustEval(t, "y = sqrt(2)", "approx", "y = ≈ 1.4142135623731")
	tb.mustEval(t, "z = 1/3", "rational", "z = 1/3 ≈ 0.33333333333333333333")
	tb.mustEval(t, "x = x * 6", "integer", "x = 42") // restored with its last value

	if code := srv.Stop(t); code != 0 {
		t.Fatalf("server exit status %d after SIGTERM", code)
	}
	text := must(tb.waitStatus("reconnecting", "server shutting down"))(t)
	if !strings.Contains(text, "1001") {
		t.Errorf("status shows %q, want the close code 1001 too", text)
	}

	// Typed while the server is away: queued, sent after the restore.
	n := must(tb.entryCount())(t)
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "x + 1"+kb.Enter)))

	startServerOn(t, srv.HTTPAddr, srv.TCPAddr)
	must(tb.waitStatusFor(reconnectWait, "connected", ""))(t)

	queued := must(tb.entryAt(n + 1))(t)
	if queued.Input != "x + 1" || queued.Kind != "integer" || queued.Result != "43" {
		t.Errorf("the line typed while disconnected shows %+v, want x + 1 = 43", queued)
	}
	tb.mustEval(t, "x", "integer", "42")
	tb.mustEval(t, "y", "approx", "≈ 1.4142135623731")
	tb.mustEval(t, "z * 3", "integer", "1")
	tb.mustEval(t, "vars", "text", "x = 42, y = ≈ 1.4142135623731, z = 1/3 ≈ 0.33333333333333333333")
}

// Over -max-clients the server accepts and closes with 1013: the page says "server busy",
// keeps trying, and gets in once a place is free.
func testServerBusy(t *testing.T, b *browser) {
	srv := startServer(t, "-max-clients", "1")
	first := b.mustOpenTab(t, srv.URL()+"/")
	second := b.openLoadingTab(t, srv.URL()+"/")
	text := must(second.waitStatus("reconnecting", "server busy"))(t)
	if !strings.Contains(text, "1013") {
		t.Errorf("status shows %q, want the close code 1013 too", text)
	}
	first.close()
	must(second.waitStatusFor(reconnectWait, "connected", ""))(t)
	second.mustEval(t, "3 * 14", "integer", "42")
}

// quit ends the session for good: the page goes offline and stays there (no reconnect),
// until the user types again, which starts a new, empty session.
func testQuitStaysOffline(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	tb.mustEval(t, "x = 5", "integer", "x = 5")
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "quit"+kb.Enter)))
	must(tb.waitStatus("offline", "ended"))(t)
	// The first reconnect would come within a second (backoff starts at 0.25-0.5 s), so
	// still being offline well after that means the page did not try.
	time.Sleep(2 * time.Second)
	if st := must(evaluate[string](tb, `document.querySelector('`+selStatus+`').dataset.state`))(t); st != "offline" {
		t.Fatalf("after quit the page went %q by itself, want it to stay offline", st)
	}
	// Typing starts a new session; quit ended the old one, so its variables are gone.
	e, err := tb.eval("x")
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != "error" || e.Message != "unknown name 'x'" {
		t.Errorf("x after quit and a new session gave %+v, want unknown name 'x'", e)
	}
	must(tb.waitStatus("connected", ""))(t)
	// Which lines end a session is the server's rule (calc.IsQuit); the page learns it from
	// the close, so a spelling it never had to know ends the session too, and is not sent
	// again to the next one.
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "  Exit  # bye"+kb.Enter)))
	must(tb.waitStatus("offline", "ended"))(t)
	tb.mustEval(t, "6 * 7", "integer", "42")
	must(tb.waitStatus("connected", ""))(t)
}

// A screenshot after a few evaluations is a PNG of the viewport's size. With
// WSCALC_SCREENSHOT=path it is also written there (docs/playground.png for the README).
func testScreenshot(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	ok(t, tb.do(pageWait, chromedp.EmulateViewport(screenshotW, screenshotH), reducedMotion()))

	tb.mustEval(t, "0.1 + 0.2", "rational", "0.3")
	tb.mustEval(t, "2 ** 100", "integer", "1267650600228229401496703205376")
	tb.mustEval(t, "rate = 1/3 + 1/7", "rational", "rate = 10/21 ≈ 0.47619047619047619048")
	tb.mustEval(t, "rate * 21", "integer", "10")
	tb.mustEval(t, "sqrt(2)", "approx", "≈ 1.4142135623731")
	tb.mustEval(t, "(1 + 1/365) ** 365", "rational", "≈ 2.7145674820218743032")
	e, err := tb.eval("2 + sqr(9)")
	if err != nil || e.Kind != "error" {
		t.Fatalf("2 + sqr(9) gave %+v (%v), want an error", e, err)
	}
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "* 2")))
	must(tb.waitClients(1))(t)

	ctx, cancel := context.WithTimeout(tb.ctx, pageWait)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "playground.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != (image.Point{X: screenshotW, Y: screenshotH}) {
		t.Errorf("screenshot is %v, want the viewport %dx%d", got, screenshotW, screenshotH)
	}
	if colors := distinctColors(img, 64); colors < 16 {
		t.Errorf("screenshot has %d distinct colours: the page did not render", colors)
	}
	if out := os.Getenv("WSCALC_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot written to %s", out)
	}
}

// reducedMotion asks the page for no animations (prefers-reduced-motion), so that the
// screenshot never catches an entry halfway through fading in.
func reducedMotion() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	})
}

// distinctColors counts the colours of img, stopping at limit.
func distinctColors(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// ---- accessibility: axe-core ----

// axeSRI is the SRI hash of testdata/axe/axe.min.js (axe-core 4.14.1), as the package's own
// sri-history.json lists it: a changed or truncated file fails the test instead of
// silently checking less.
const axeSRI = "sha256-KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="

var axeSource = sync.OnceValues(func() (string, error) {
	data, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); got != axeSRI {
		return "", fmt.Errorf("testdata/axe/axe.min.js has hash %s, want %s (axe-core 4.14.1)", got, axeSRI)
	}
	return string(data), nil
})

// axeViolation is one failed axe rule with the elements it failed on.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []string `json:"target"`
		Summary string   `json:"summary"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s, %d element(s)", v.ID, v.Impact, v.Help, len(v.Nodes))
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n\t\t%s: %s", strings.Join(n.Target, " "),
			strings.Join(strings.Fields(n.Summary), " "))
	}
	return b.String()
}

// axeRunJS waits for the entries' fade-in (finite animations) to end, so that no colour is
// read halfway, then runs every axe rule on the whole document.
const axeRunJS = `(async () => {
	const finite = document.getAnimations().filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity);
	await Promise.all(finite.map((a) => a.finished.catch(() => {})));
	const r = await axe.run(document, {resultTypes: ['violations', 'incomplete']});
	const brief = (v) => ({
		id: v.id, impact: v.impact || '', help: v.help,
		nodes: v.nodes.map((n) => ({target: n.target.map(String), summary: n.failureSummary || ''})),
	});
	return {violations: r.violations.map(brief), incomplete: r.incomplete.map(brief)};
})()`

// axeResults are the rules that failed, and those axe could not decide (a colour over a
// background image, say), which need a person's look.
type axeResults struct {
	Violations []axeViolation `json:"violations"`
	Incomplete []axeViolation `json:"incomplete"`
}

// axe injects axe-core into the page (once per document) and runs it.
func (tb *tab) axe() (axeResults, error) {
	var none axeResults
	src, err := axeSource()
	if err != nil {
		return none, err
	}
	ctx, cancel := context.WithTimeout(tb.ctx, pageWait)
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		return none, fmt.Errorf("%s: %w", tb.name, err)
	}
	if !loaded {
		// The DevTools protocol evaluates outside the page's Content-Security-Policy, which
		// allows no script but the page's own.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src+"\n;0")); err != nil {
			return none, fmt.Errorf("%s: injecting axe-core: %w", tb.name, err)
		}
	}
	r, err := chromedp.Run(ctx, chromedp.Evaluate[axeResults](axeRunJS, chromedp.EvalAwaitPromise))
	if err != nil {
		return none, fmt.Errorf("%s: running axe: %w", tb.name, err)
	}
	return r, nil
}

// viewMode is a window the page is checked in: a width and a colour scheme.
type viewMode struct {
	name          string
	width, height int64
	scheme        string // prefers-color-scheme
	phone         bool   // mobile viewport with touch: (hover: none), (pointer: coarse)
}

var viewModes = []viewMode{
	{"light", screenshotW, screenshotH, "light", false},
	{"dark", screenshotW, screenshotH, "dark", false},
	{"phone", 390, 844, "light", true},
	{"phone dark", 390, 844, "dark", true},
}

// emulate puts the tab in mode m, with reduced motion if asked.
func (tb *tab) emulate(m viewMode, reduceMotion bool) error {
	var opts []chromedp.EmulateViewportOption
	if m.phone {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	features := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: m.scheme}}
	if reduceMotion {
		features = append(features, &emulation.MediaFeature{Name: "prefers-reduced-motion", Value: "reduce"})
	}
	return tb.do(pageWait, chromedp.EmulateViewport(m.width, m.height, opts...),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features})
			return err
		}))
}

// checkAxe runs axe in every view mode and reports each violation as a test error. What
// axe could not decide is logged once (go test -v shows it): text on the header's gradient,
// the error underline's image, the "=" button's name; their colours are chosen by hand.
func (tb *tab) checkAxe(t *testing.T, state string) {
	t.Helper()
	logged := map[string]bool{}
	for _, m := range viewModes {
		ok(t, tb.emulate(m, false))
		r := must(tb.axe())(t)
		for _, v := range r.Violations {
			t.Errorf("axe, %s, %s: %v", state, m.name, v)
		}
		for _, v := range r.Incomplete {
			if s := v.String(); !logged[s] {
				logged[s] = true
				t.Logf("axe, %s, %s, undecided: %s", state, m.name, s)
			}
		}
	}
}

// axe-core finds no violation on the page, in light and dark, at desktop and phone width,
// in each state the page can be in: the welcome screen, a session with every kind of
// entry and earlier entries, offline after quit, reconnected, and reconnecting with a
// line queued.
func testAxe(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	tb.checkAxe(t, "welcome")

	tb.mustEval(t, "x = 2/3", "rational", "x = 2/3 ≈ 0.66666666666666666667")
	tb.mustEval(t, "2 ** 100", "integer", "1267650600228229401496703205376")
	ok(t, tb.do(pageWait, chromedp.Reload()))
	must(tb.waitStatus("connected", ""))(t)
	tb.mustEval(t, "y = sqrt(2)", "approx", "y = ≈ 1.4142135623731")
	tb.mustEval(t, "z = 1/4", "rational", "z = 0.25")
	tb.mustEval(t, "z * 8", "integer", "2")
	tb.mustEval(t, "vars", "text", "y = ≈ 1.4142135623731, z = 0.25")
	tb.mustEval(t, "# a comment", "none", "")
	if e := must(tb.eval("2 + foo"))(t); e.Kind != "error" {
		t.Fatalf("2 + foo gave %+v, want an error", e)
	}
	tb.checkAxe(t, "session")

	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "quit"+kb.Enter)))
	must(tb.waitStatus("offline", "ended"))(t)
	tb.checkAxe(t, "offline after quit")

	tb.mustEval(t, "1/7", "rational", "1/7 ≈ 0.14285714285714285714")
	must(tb.waitStatus("connected", ""))(t)
	tb.checkAxe(t, "reconnected")

	if code := srv.Stop(t); code != 0 {
		t.Fatalf("server exit status %d after SIGTERM", code)
	}
	must(tb.waitStatus("reconnecting", "server shutting down"))(t)
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "1 + 1"+kb.Enter)))
	must(poll[bool](tb, pageWait, `() => document.querySelector('[data-testid=entry].queued') !== null`))(t)
	tb.checkAxe(t, "reconnecting, a line queued")
}

// ---- the nc hint ----

// ncHintJS returns the nc command the help panel shows, "" when the hint is hidden.
const ncHintJS = `(() => {
	const h = document.querySelector('[data-testid=nc-hint]');
	return h.hidden || h.offsetParent === null ? '' : document.getElementById('nc-cmd').textContent;
})()`

// The help panel's nc command is the server's own line-protocol address, from the hello:
// its port whatever it is; for a server on every interface, the host the page came from;
// none at all when the server has no line protocol.
func testNCHint(t *testing.T, b *browser) {
	for _, tc := range []struct {
		name, tcp string
		want      func(s *server) string
	}{
		{"loopback", "127.0.0.1:0", func(s *server) string {
			host, port, _ := net.SplitHostPort(s.TCPAddr)
			return "nc " + host + " " + port
		}},
		{"every interface", "0.0.0.0:0", func(s *server) string {
			_, port, _ := net.SplitHostPort(s.TCPAddr) // printed as localhost:port
			return "nc 127.0.0.1 " + port              // the page was loaded from 127.0.0.1
		}},
		{"no line protocol", "", func(*server) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServerOn(t, "127.0.0.1:0", tc.tcp)
			tb := b.mustOpenTab(t, srv.URL()+"/")
			want := tc.want(srv)
			if got := must(evaluate[string](tb, ncHintJS))(t); got != want {
				t.Errorf("nc hint shows %q, want %q", got, want)
			}
			if strings.Contains(must(tb.text(`.help`))(t), "10000") && !strings.HasSuffix(srv.TCPAddr, ":10000") {
				t.Errorf("the help panel still names port 10000, which this server does not use")
			}
			if curl := must(tb.text(`#curl-cmd`))(t); !strings.Contains(curl, srv.HTTPAddr) {
				t.Errorf("curl hint %q does not name the server %s", curl, srv.HTTPAddr)
			}
		})
	}
}

// ---- reconnecting promptly ----

// kill ends the server with SIGKILL, as a crash or the OOM killer would, and waits for it.
// Its cleanup then has nothing left to stop.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.stopOnce.Do(func() {
		if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("SIGKILL to wscalc: %v", err)
		}
		<-s.exited
		s.code = s.cmd.ProcessState.ExitCode()
	})
}

// statusTry is what started the page's last connection try (data-try on the status).
func (tb *tab) statusTry() (string, error) {
	return evaluate[string](tb, `document.querySelector('`+selStatus+`').dataset.try || ''`)
}

// After a SIGKILL the page keeps trying with waits of at most 5 s (the Modules test checks
// the bound); and it tries at once when the user types, when the window gets the focus,
// and when the browser comes back online. Each case is told apart from the backoff timer
// by what the page says started the try that got in, not by timing: the trigger comes
// while the timer still has over a second to go, and a run where the timer won anyway
// (a busy machine) is repeated.
func testReconnectPrompt(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	tb.mustEval(t, "x = 7", "integer", "x = 7")

	for _, trigger := range []struct {
		why string
		do  func() error
	}{
		{"typing", func() error {
			return tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "x"))
		}},
		{"focus", func() error {
			_, err := evaluate[bool](tb, `dispatchEvent(new FocusEvent('focus'))`)
			return err
		}},
	} {
		var why string
		for run := 1; run <= 3 && why != trigger.why; run++ {
			srv.kill(t)
			must(tb.waitStatus("reconnecting", "connection lost"))(t)
			// Wait for a try that failed and set the next one over 2 s away (backoff step 4 s
			// or more), then let the nudge guard of the last try pass.
			must(poll[string](tb, reconnectWait, `() => {
				const m = /next try in (\d+) s/.exec(document.querySelector('`+selStatus+`').title);
				return m && Number(m[1]) >= 3 ? m[0] : null;
			}`))(t)
			time.Sleep(500 * time.Millisecond)
			srv = startServerOn(t, srv.HTTPAddr, srv.TCPAddr)
			ok(t, trigger.do())
			must(tb.waitStatusFor(reconnectWait, "connected", ""))(t)
			why = must(tb.statusTry())(t)
			if why != trigger.why {
				t.Logf("%s, run %d: the page got in by a %q try; again", trigger.why, run, why)
			}
		}
		if why != trigger.why {
			t.Errorf("after %s the page reconnected by a %q try each time, want one started by %s", trigger.why, why, trigger.why)
		}
		ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), kb.Escape)))
		tb.mustEval(t, "x", "integer", "7") // restored into the new session
	}

	// Offline: the page stops trying (nothing to try with); back online, it tries at once.
	srv.kill(t)
	must(tb.waitStatus("reconnecting", "connection lost"))(t)
	ok(t, tb.setOffline(true))
	must(tb.waitStatus("offline", "browser is offline"))(t)
	srv = startServerOn(t, srv.HTTPAddr, srv.TCPAddr)
	time.Sleep(time.Second)
	if st := must(evaluate[string](tb, `document.querySelector('`+selStatus+`').dataset.state`))(t); st != "offline" {
		t.Errorf("while the browser is offline the page went %q", st)
	}
	ok(t, tb.setOffline(false))
	must(tb.waitStatusFor(reconnectWait, "connected", ""))(t)
	if why := must(tb.statusTry())(t); why != "online" {
		t.Errorf("back online, the page reconnected by a %q try, want online", why)
	}
	tb.mustEval(t, "x + 1", "integer", "8")
}

// Three instances as one cluster behind nginx: after a kill -9 of the instance the tab is
// on, the page reconnects by itself through nginx to a survivor, restores its variables
// into the new session, and its count drops the killed instance's session once the
// survivors have dropped that instance (rooms.md §10, §12).
func testClusterReconnect(t *testing.T, b *browser) {
	servers := startCluster(t, 3)
	var httpUp, tcpUp []string
	for _, s := range servers {
		httpUp, tcpUp = append(httpUp, s.HTTPAddr), append(tcpUp, s.TCPAddr)
	}
	lb := startNginx(t, httpUp, tcpUp)
	tb := b.mustOpenTab(t, lb.URL()+"/")
	tb.mustEval(t, "x = 7", "integer", "x = 7")
	must(tb.waitClients(1))(t)
	home := -1
	for i, s := range servers {
		if figures(t, s).LocalWS == 1 {
			home = i
		}
	}
	if home < 0 {
		t.Fatal("no instance holds the tab's session")
	}

	servers[home].kill(t)
	must(poll[string](tb, reconnectWait, `() => {
		const t = document.body.textContent;
		return t.includes('Disconnected:') && t.includes('Reconnected: new session') ? 'yes' : null;
	}`))(t)
	must(tb.waitStatusFor(reconnectWait, "connected", ""))(t)
	tb.mustEval(t, "x * 6", "integer", "42") // restored on the survivor
	must(poll[string](tb, healLimit+pageWait, `() => {
		const c = document.querySelector('`+selClients+`');
		return c.dataset.total === '1' ? c.textContent : null;
	}`))(t)
	moved := 0
	for i, s := range servers {
		if i != home {
			moved += figures(t, s).LocalWS
		}
	}
	if moved != 1 {
		t.Errorf("the survivors hold %d WebSocket sessions, want the tab's one", moved)
	}
}

// setOffline makes the browser say it is offline (navigator.onLine and the offline event)
// or online again.
func (tb *tab) setOffline(offline bool) error {
	return tb.do(pageWait, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
		})
		return err
	}))
}

// ---- tabs, the header, the copy button ----

// Every tab is a session of its own: a new tab shows none of the other tabs' entries
// (their variables are not its own), though Up recalls their lines; after a reload a tab
// shows its own earlier entries, all of them, even though another tab saved lines since.
func testTabsHistories(t *testing.T, b *browser) {
	srv := startServer(t)
	first := b.mustOpenTab(t, srv.URL()+"/")
	first.mustEval(t, "a = 1", "integer", "a = 1")
	first.mustEval(t, "a + 1", "integer", "2")

	second := b.mustOpenTab(t, srv.URL()+"/")
	if n := must(second.entryCount())(t); n != 0 {
		t.Errorf("a new tab shows %d entries of the other tab's session", n)
	}
	if vars := must(second.text(selVars))(t); vars != "" {
		t.Errorf("a new tab shows variables %q", vars)
	}
	hint := must(evaluate[string](second, `(() => {
		const p = document.querySelector('[data-testid=welcome-recall]');
		return p.hidden || p.offsetParent === null ? '' : p.textContent;
	})()`))(t)
	if !strings.Contains(hint, "2 lines") {
		t.Errorf("the new tab's welcome says %q, want it to say that ↑ recalls the 2 earlier lines", hint)
	}
	ok(t, second.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), kb.ArrowUp)))
	if v := must(second.value())(t); v != "a + 1" {
		t.Errorf("Up in the new tab gives %q, want the other tab's last line %q", v, "a + 1")
	}
	ok(t, second.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), kb.Escape)))
	if e := must(second.eval("a"))(t); e.Kind != "error" {
		t.Errorf("a in the new tab gave %+v, want unknown name: the other tab's a is not its own", e)
	}
	second.mustEval(t, "b = 5", "integer", "b = 5")

	for _, tc := range []struct {
		tb   *tab
		want []string
	}{
		{first, []string{"a = 1", "a + 1"}},
		{second, []string{"a", "b = 5"}},
	} {
		ok(t, tc.tb.do(pageWait, chromedp.Reload()))
		must(tc.tb.waitStatus("connected", ""))(t)
		var got []string
		for i := range must(tc.tb.entryCount())(t) {
			e := must(tc.tb.entryAt(i + 1))(t)
			if !e.Earlier {
				t.Errorf("after a reload entry %d (%q) is not marked earlier", i+1, e.Input)
			}
			got = append(got, e.Input)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("after a reload the tab shows %q, want its own lines %q", got, tc.want)
		}
	}
}

// box is an element's place on the page, in CSS pixels.
type box struct{ X, Y, W, H float64 }

const headerBoxesJS = `(() => {
	const out = {};
	for (const [name, sel] of Object.entries({
		header: '.top', brand: '.brand', title: '.brand h1', presence: '.presence',
		clients: '[data-testid=clients]', status: '[data-testid=status]',
	})) {
		const r = document.querySelector(sel).getBoundingClientRect();
		out[name] = {X: r.x, Y: r.y, W: r.width, H: r.height};
	}
	return out;
})()`

// What the header says changes (a long close reason, the session ended, a Retry button);
// its layout does not: the header, the brand and the presence row keep their boxes and the
// badges stay on one line. At desktop and at phone width.
func testHeaderLayout(t *testing.T, b *browser) {
	for _, m := range []viewMode{viewModes[0], viewModes[2]} {
		t.Run(m.name, func(t *testing.T) {
			srv := startServer(t)
			tb := b.mustOpenTab(t, srv.URL()+"/")
			ok(t, tb.emulate(m, true))
			must(tb.waitClients(1))(t)
			before := must(evaluate[map[string]box](tb, headerBoxesJS))(t)

			same := func(when string) {
				t.Helper()
				after := must(evaluate[map[string]box](tb, headerBoxesJS))(t)
				for name, was := range before {
					now := after[name]
					switch name {
					case "clients", "status": // their text and width change; their line does not
						now.X, now.W, was.X, was.W = 0, 0, 0, 0
					}
					if !nearBox(now, was) {
						t.Errorf("%s: %s moved from %+v to %+v", when, name, was, now)
					}
				}
			}

			if code := srv.Stop(t); code != 0 {
				t.Fatalf("server exit status %d after SIGTERM", code)
			}
			must(tb.waitStatus("reconnecting", "server shutting down"))(t)
			same("reconnecting after a shutdown")

			srv = startServerOn(t, srv.HTTPAddr, srv.TCPAddr)
			must(tb.waitStatusFor(reconnectWait, "connected", ""))(t)
			ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "quit"+kb.Enter)))
			must(tb.waitStatus("offline", "ended"))(t)
			same("after quit")
		})
	}
}

func nearBox(a, b box) bool {
	const eps = 0.5
	d := func(x, y float64) bool { return x-y < eps && y-x < eps }
	return d(a.X, b.X) && d(a.Y, b.Y) && d(a.W, b.W) && d(a.H, b.H)
}

// copyLook describes a result's copy button as drawn.
type copyLook struct {
	Opacity   float64 `json:"opacity"` // its own times its ancestors'
	Contrast  float64 `json:"contrast"`
	Size      float64 `json:"size"` // the smaller side, CSS pixels
	HoverNone bool    `json:"hoverNone"`
	Color     string  `json:"color"`
	Behind    string  `json:"behind"`
}

const copyLookJS = `(() => {
	const b = document.querySelector('[data-testid=entry] .copy');
	const rgba = (s) => { const v = s.match(/[\d.]+/g).map(Number); return v.length === 3 ? [...v, 1] : v; };
	let opacity = 1, behind = null;
	for (let e = b; e; e = e.parentElement) {
		const cs = getComputedStyle(e);
		opacity *= Number(cs.opacity);
		if (!behind && rgba(cs.backgroundColor)[3] === 1) behind = cs.backgroundColor;
	}
	behind ||= getComputedStyle(document.documentElement).backgroundColor;
	const lum = (c) => {
		const [r, g, b] = c.slice(0, 3).map((x) => { x /= 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
		return 0.2126 * r + 0.7152 * g + 0.0722 * b;
	};
	const fg = lum(rgba(getComputedStyle(b).color)), bg = lum(rgba(behind));
	const r = b.getBoundingClientRect();
	return {
		opacity, contrast: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05),
		size: Math.min(r.width, r.height), hoverNone: matchMedia('(hover: none)').matches,
		color: getComputedStyle(b).color, behind,
	};
})()`

// A result's copy button is drawn without hovering (a touch screen cannot hover), its icon
// has at least 3:1 against what is behind it (WCAG 1.4.11), and on a touch screen it is
// big enough for a finger.
func testCopyButton(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	tb.mustEval(t, "2 ** 64", "integer", "18446744073709551616")
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "")))
	for _, m := range viewModes {
		ok(t, tb.emulate(m, true))
		c := must(evaluate[copyLook](tb, copyLookJS))(t)
		if c.Opacity != 1 {
			t.Errorf("%s: the copy button is drawn at opacity %.2f, want 1", m.name, c.Opacity)
		}
		if c.Contrast < 3 {
			t.Errorf("%s: the copy icon (%s on %s) has contrast %.2f, want at least 3", m.name, c.Color, c.Behind, c.Contrast)
		}
		if m.phone {
			if !c.HoverNone {
				t.Errorf("%s: the emulated phone matches (hover: hover); the check needs (hover: none)", m.name)
			}
			if c.Size < 40 {
				t.Errorf("%s: the copy button is %.0f px on a touch screen, want at least 40", m.name, c.Size)
			}
		}
	}
}

// ---- long values ----

// expandLook is what the page shows of entry n's long value: its expand button, the result
// line (clipped or not), and the box of digits when the display does not hold them.
type expandLook struct {
	Button       string  `json:"button"`   // the button's text, "" without one
	Expanded     string  `json:"expanded"` // its aria-expanded
	Controls     bool    `json:"controls"` // aria-controls names an element of the page
	ResultHeight float64 `json:"resultHeight"`
	ResultFull   float64 `json:"resultFull"` // the result's scrollHeight: all its lines
	LineHeight   float64 `json:"lineHeight"`
	DigitsShown  bool    `json:"digitsShown"`
	Digits       string  `json:"digits"`
}

const expandLookJS = `(n) => {
	const e = document.querySelectorAll('[data-testid=history] [data-testid=entry]')[n - 1];
	const b = e.querySelector('[data-testid=expand]');
	const res = e.querySelector('[data-testid=result]');
	const box = e.querySelector('[data-testid=digits]');
	return {
		button: b ? b.textContent : '',
		expanded: b ? b.getAttribute('aria-expanded') : '',
		controls: !!b && !!document.getElementById(b.getAttribute('aria-controls')),
		resultHeight: res.clientHeight, resultFull: res.scrollHeight,
		lineHeight: parseFloat(getComputedStyle(res).lineHeight),
		digitsShown: !!box && !box.hidden && box.offsetParent !== null,
		digits: box ? box.textContent : '',
	};
}`

func (tb *tab) expandLook(n int) (expandLook, error) {
	return poll[expandLook](tb, pageWait, expandLookJS, n)
}

// entrySel selects entry n's element sel (a CSS selector inside the entry).
func entrySel(n int, sel string) string {
	return fmt.Sprintf(`[data-testid=history] [data-testid=entry]:nth-child(%d) %s`, n, sel)
}

// grantClipboard lets the page read and write the clipboard without a user gesture, and
// makes it believe it has the focus, which the clipboard also asks for.
func (tb *tab) grantClipboard(origin string) error {
	return tb.do(pageWait, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := cdp.Call(ctx, t, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
				Setting:    cdpbrowser.PermissionSettingGranted, Origin: origin,
			}); err != nil {
				return fmt.Errorf("granting %s: %w", name, err)
			}
		}
		_, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
}

// A long exact result is cut to a few lines until its button (reached with the keyboard,
// aria-expanded) shows it all; a value the display does not hold (2 ** 100000, shown as
// ≈ … (30103 digits)) appears in full when asked for; the copy button copies every digit;
// the JSON value has them all, over WebSocket and over HTTP; axe finds nothing wrong.
func testLongValues(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/")
	ok(t, tb.grantClipboard(srv.URL()))
	fact := new(big.Int).MulRange(1, 1000).String()
	pow := new(big.Int).Lsh(big.NewInt(1), 100000).String()
	if len(fact) != 2568 || len(pow) != 30103 {
		t.Fatalf("1000! has %d digits, 2 ** 100000 %d", len(fact), len(pow))
	}

	// 1000!: all its digits are the display, cut to three lines.
	tb.mustEval(t, "1000!", "integer", fact)
	look := must(tb.expandLook(1))(t)
	if look.Button != "show all 2568 digits" || look.Expanded != "false" || !look.Controls {
		t.Fatalf("1000!: button %q, aria-expanded %q, controls an element %v; want %q, false, true",
			look.Button, look.Expanded, look.Controls, "show all 2568 digits")
	}
	if lines := look.ResultHeight / look.LineHeight; lines > 3.5 || look.ResultFull <= look.ResultHeight {
		t.Errorf("1000! collapsed shows %.1f lines of %.0f px (all of it %.0f px), want 3 and the rest cut",
			lines, look.ResultHeight, look.ResultFull)
	}
	// The keyboard: Enter on the button expands, Space collapses.
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(entrySel(1, "[data-testid=expand]")), kb.Enter)))
	look = must(tb.expandLook(1))(t)
	if look.Button != "collapse" || look.Expanded != "true" || look.ResultHeight < look.ResultFull ||
		look.ResultHeight < 10*look.LineHeight {
		t.Errorf("1000! after Enter on its button: %+v; want it expanded, every line shown", look)
	}
	ok(t, tb.do(pageWait, chromedp.SendKeys(chromedp.CSS(entrySel(1, "[data-testid=expand]")), " ")))
	look = must(tb.expandLook(1))(t)
	if look.Button != "show all 2568 digits" || look.Expanded != "false" || look.ResultHeight/look.LineHeight > 3.5 {
		t.Errorf("1000! after Space on its button: %+v; want it collapsed again", look)
	}
	if v := must(tb.value())(t); v != "" {
		t.Errorf("the keys on the button went to the expression box: %q", v)
	}

	// 2 ** 100000: the display is the contract's; the digits come from the reply's value.
	tb.mustEval(t, "2 ** 100000", "integer", "≈ 9.99002093014385e+30102 (30103 digits)")
	look = must(tb.expandLook(2))(t)
	if look.Button != "show all 30103 digits" || look.Expanded != "false" || look.DigitsShown || look.Digits != "" {
		t.Fatalf("2 ** 100000: %+v; want a collapsed button and no digits in the page yet", look)
	}
	ok(t, tb.do(pageWait, chromedp.Click(chromedp.CSS(entrySel(2, "[data-testid=expand]")))))
	look = must(tb.expandLook(2))(t)
	if look.Button != "collapse" || look.Expanded != "true" || !look.DigitsShown || look.Digits != pow {
		t.Errorf("2 ** 100000 expanded: button %q, aria-expanded %q, digits shown %v, %d digits; want all 30103",
			look.Button, look.Expanded, look.DigitsShown, len(look.Digits))
	}
	tb.checkAxe(t, "long values, one expanded")

	// Copy puts every digit on the clipboard, and says so briefly.
	ok(t, tb.do(pageWait, chromedp.Click(chromedp.CSS(entrySel(2, ".copy")))))
	announced := must(poll[string](tb, pageWait, `() => {
		const a = document.getElementById('announce').textContent;
		return a.startsWith('Copied') || a.startsWith('Could not') ? a : null;
	}`))(t)
	clip := must(evaluateAwait[string](tb, `navigator.clipboard.readText()`))(t)
	if clip != pow {
		t.Errorf("the clipboard holds %d characters %.30q…, want the 30103 digits of 2 ** 100000", len(clip), clip)
	}
	if announced != "Copied all 30103 digits" {
		t.Errorf("copying announces %q, want %q", announced, "Copied all 30103 digits")
	}

	// The JSON value, over HTTP as over the page's WebSocket (the digits above).
	value := must(evaluateAwait[string](tb, `fetch('api/eval?expr=' + encodeURIComponent('2 ** 100000'))
		.then((r) => r.json()).then((j) => j.value)`))(t)
	if value != pow {
		t.Errorf("/api/eval's value for 2 ** 100000 has %d characters, want the 30103 digits", len(value))
	}
}

// ---- rooms ----

// roomLine is a line of a room's history as the page shows it.
type roomLine struct {
	Seq    int    `json:"seq"`
	Who    string `json:"who"` // the nick shown beside it, "" on the page's own typed lines
	Input  string `json:"input"`
	Result string `json:"result"`
}

// roomLinesJS lists the room's lines the page shows, in page order, once it shows at
// least n of them.
const roomLinesJS = `(n) => {
	const ls = [...document.querySelectorAll('[data-testid=history] [data-room]')];
	if (ls.length < n || ls.some((e) => e.dataset.kind === 'pending')) return null;
	return ls.map((e) => {
		const q = (id) => e.querySelector('[data-testid=' + id + ']');
		const who = q('who');
		return {
			seq: Number(e.dataset.seq),
			who: who ? who.querySelector('.nick').textContent : '',
			input: q('input').textContent,
			result: q('result') ? q('result').textContent : '',
		};
	});
}`

func (tb *tab) roomLines(n int) ([]roomLine, error) {
	return poll[[]roomLine](tb, pageWait, roomLinesJS, n)
}

// waitMembers waits until the room panel lists total members and returns their nicks.
func (tb *tab) waitMembers(total int) ([]string, error) {
	return poll[[]string](tb, pageWait, `(want) => {
		const l = document.querySelector('[data-testid=members]');
		if (document.querySelector('[data-testid=room-panel]').hidden || l.dataset.total !== String(want)) return null;
		return [...l.querySelectorAll('[data-testid=member] .nick')].map((e) => e.textContent);
	}`, total)
}

func (tb *tab) click(sel string) error {
	return tb.do(pageWait, chromedp.Click(chromedp.CSS(sel)))
}

// roomNameRE is the readable name Share makes: two words and three digits.
var roomNameRE = regexp.MustCompile(`^[a-z]+-[a-z]+-[0-9]{3}$`)

// Share opens a room and shows its link; a second tab opening that link is in the room: it
// sees the first tab's lines with its nick, the room's variables, both members. Reloaded,
// it catches up with epoch and since (no line twice). A third member over TCP shows in the
// list (WSCALC_ROOMS_SCREENSHOT=path writes the screenshot for the README). Leave takes a
// tab back to a private session.
func testRooms(t *testing.T, b *browser) {
	srv := startServer(t)
	alice := b.mustOpenTab(t, srv.URL()+"/")
	alice.name = "alice"
	ok(t, alice.do(pageWait, chromedp.EmulateViewport(screenshotW, screenshotH), reducedMotion()))
	alice.mustEval(t, "private = 7", "integer", "private = 7")

	ok(t, alice.click(`[data-testid=share]`))
	link := must(poll[string](alice, pageWait, `() => {
		const p = document.querySelector('[data-testid=room-panel]');
		const copied = document.querySelector('[data-testid=room-copied]').textContent;
		return p.hidden || !copied ? null : document.querySelector('[data-testid=room-link]').textContent;
	}`))(t)
	name := must(alice.text(`[data-testid=room-name]`))(t)
	if !roomNameRE.MatchString(name) {
		t.Errorf("Share made room %q, want two words and three digits", name)
	}
	if want := srv.URL() + "/?room=" + name; link != want {
		t.Errorf("room link %q, want %q", link, want)
	}
	if href := must(evaluate[string](alice, `location.href`))(t); href != link {
		t.Errorf("address after Share %q, want the room's link %q", href, link)
	}
	if vars := must(alice.text(selVars))(t); strings.Contains(vars, "private") {
		t.Errorf("the room's variables panel shows the private session's: %q", vars)
	}
	alice.mustEval(t, "nick alice", "text", "guest-"+must(evaluate[string](alice,
		`document.querySelector('[data-testid=member] .nick').textContent.slice(6)`))(t)+" is now alice")
	must(alice.waitMembers(1))(t)

	bob := b.mustOpenTab(t, link)
	bob.name = "bob"
	if nicks := must(bob.waitMembers(2))(t); !slices.Contains(nicks, "alice") {
		t.Errorf("bob's member list %v has no alice", nicks)
	}
	must(alice.waitMembers(2))(t)
	if e := must(bob.eval("nick bob"))(t); e.Kind != "text" || !strings.HasSuffix(e.Result, " is now bob") {
		t.Fatalf("nick bob gave %+v", e)
	}

	alice.mustEval(t, "x = 1/3", "rational", "x = 1/3 ≈ 0.33333333333333333333")
	lines := must(bob.roomLines(1))(t)
	want := roomLine{Seq: 1, Who: "alice", Input: "x = 1/3", Result: "x = 1/3 ≈ 0.33333333333333333333"}
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("bob's room lines %+v, want [%+v]", lines, want)
	}
	must(poll[bool](bob, pageWait, `() => document.querySelector('`+selVars+`').textContent.includes('x1/3')`))(t)
	bob.mustEval(t, "x * 3", "integer", "1")
	if got := must(alice.roomLines(2))(t); got[1].Who != "bob" || got[1].Input != "x * 3" || got[1].Seq != 2 {
		t.Errorf("alice's room lines %+v, want bob's x * 3 as seq 2", got)
	}

	ok(t, bob.do(pageWait, chromedp.Reload()))
	must(bob.waitStatus("connected", ""))(t)
	if nicks := must(bob.waitMembers(2))(t); !slices.Equal(nicks, []string{"alice", "bob"}) {
		t.Errorf("bob's member list after the reload %v, want [alice bob] (the nick kept)", nicks)
	}
	if rec := must(poll[string](bob, pageWait, `() => document.querySelector('[data-testid=room-panel]').dataset.recovered`))(t); rec != "true" {
		t.Errorf("bob reloaded: recovered %s, want true (epoch and since from before the reload)", rec)
	}
	alice.mustEval(t, "* 2", "integer", "2")
	lines = must(bob.roomLines(3))(t)
	var seqs []int
	for _, l := range lines {
		seqs = append(seqs, l.Seq)
	}
	if !slices.Equal(seqs, []int{1, 2, 3}) {
		t.Errorf("bob after the reload shows seqs %v, want [1 2 3] (each line once)", seqs)
	}
	if last := lines[len(lines)-1]; last.Who != "alice" || last.Result != "2" {
		t.Errorf("bob's last room line %+v, want alice's * 2 → 2", last)
	}

	carol := dialTCP(t, srv)
	fmt.Fprintf(carol, "nick carol\njoin %s\ny = x * 6\n", name)
	must(alice.waitMembers(3))(t)
	if got := must(alice.roomLines(4))(t); got[3].Who != "carol" || got[3].Result != "y = 2" {
		t.Errorf("alice's room lines %+v, want carol's y = x * 6 last", got)
	}
	must(poll[bool](alice, pageWait, `() => document.querySelector('`+selVars+`').textContent.includes('y2')`))(t)
	must(alice.waitClients(3))(t)
	ok(t, alice.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), "y / x")))
	roomScreenshot(t, alice)
	alice.checkAxe(t, "room")

	ok(t, bob.click(`[data-testid=leave]`))
	must(poll[bool](bob, pageWait, `() => document.querySelector('[data-testid=room-panel]').hidden && location.search === ''`))(t)
	if e := must(bob.eval("x"))(t); e.Kind != "error" {
		t.Errorf("x after Leave gave %+v, want an error (a private session has no x)", e)
	}
	must(alice.waitMembers(2))(t)
}

// A lone server without -data-dir restarts and its rooms are gone: the page reconnects to
// its room with its epoch and since, gets recovered: false, drops the room's lines and
// variables it held and takes the (empty) snapshot; it never pushes its variables back in.
func testRoomLost(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/?room=Lab-1")
	if name := must(poll[string](tb, pageWait, `() => {
		const p = document.querySelector('[data-testid=room-panel]');
		return p.hidden ? null : document.querySelector('[data-testid=room-name]').textContent;
	}`))(t); name != "lab-1" {
		t.Errorf("/?room=Lab-1 shows room %q, want lab-1 (names are lower-cased)", name)
	}
	tb.mustEval(t, "x = 5", "integer", "x = 5")
	tb.mustEval(t, "x * 2", "integer", "10")
	must(tb.roomLines(2))(t)

	if code := srv.Stop(t); code != 0 {
		t.Fatalf("server exit status %d after SIGTERM", code)
	}
	must(tb.waitStatus("reconnecting", ""))(t)
	startServerOn(t, srv.HTTPAddr, srv.TCPAddr)
	must(tb.waitStatusFor(reconnectWait, "connected", ""))(t)
	must(tb.waitMembers(1))(t)
	if rec := must(poll[string](tb, pageWait, `() => document.querySelector('[data-testid=room-panel]').dataset.recovered`))(t); rec != "false" {
		t.Errorf("after the room was lost: recovered %s, want false", rec)
	}
	if n := must(evaluate[int](tb, `document.querySelectorAll('[data-testid=history] [data-room]').length`))(t); n != 0 {
		t.Errorf("the page still shows %d lines of the lost room", n)
	}
	if vars := must(tb.text(selVars))(t); vars != "" {
		t.Errorf("variables panel %q after the room was lost, want empty", vars)
	}
	if e := must(tb.eval("x"))(t); e.Kind != "error" {
		t.Errorf("x in the new room gave %+v, want an error: the page must not push its variables", e)
	}
	if lines := must(tb.roomLines(1))(t); len(lines) != 1 || lines[0].Seq != 1 {
		t.Errorf("room lines %+v, want the error as seq 1 of the new room", lines)
	}
}

// An address naming an invalid room says so and leaves the page in a private session.
func testRoomInvalidName(t *testing.T, b *browser) {
	srv := startServer(t)
	tb := b.mustOpenTab(t, srv.URL()+"/?room=no%20spaces")
	notice := must(poll[string](tb, pageWait, `() => {
		const n = document.querySelector('[data-testid=notice]');
		return n ? n.textContent : null;
	}`))(t)
	if want := "Invalid room name 'no spaces'"; !strings.Contains(notice, want) {
		t.Errorf("notice %q, want it to contain %q", notice, want)
	}
	if st := must(evaluate[string](tb, `location.search`))(t); st != "" {
		t.Errorf("address keeps %q, want no room", st)
	}
	if hidden := must(evaluate[bool](tb, `document.querySelector('[data-testid=room-panel]').hidden`))(t); !hidden {
		t.Error("the room panel shows for an invalid room")
	}
	tb.mustEval(t, "x = 2", "integer", "x = 2")
	if n := must(evaluate[int](tb, `document.querySelectorAll('[data-testid=history] [data-room]').length`))(t); n != 0 {
		t.Errorf("%d lines marked as a room's in a private session", n)
	}
}

// dialTCP connects a line-protocol client to srv; it closes when the test ends.
func dialTCP(t *testing.T, srv *server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", srv.TCPAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go io.Copy(io.Discard, c) // its replies and the room's lines: not read here
	return c
}

// roomScreenshot captures the page; with WSCALC_ROOMS_SCREENSHOT=path it is written there
// (docs/rooms.png for the README).
func roomScreenshot(t *testing.T, tb *tab) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, pageWait)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if colors := distinctColors(img, 64); colors < 16 {
		t.Errorf("screenshot has %d distinct colours: the page did not render", colors)
	}
	if out := os.Getenv("WSCALC_ROOMS_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot written to %s", out)
	}
}
