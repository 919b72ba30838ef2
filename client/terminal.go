package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chzyer/readline"
	"golang.org/x/term"
)

// The line editor is github.com/chzyer/readline: emacs keys, history with ↑/↓, Ctrl-R
// search, a history file and Tab completion. Terminal wraps it so that it works on any
// terminal pair of files (not only the process's own stdin and stdout, which readline
// assumes by default) and so that closing it does not hang or scribble on the screen.

// Prompt is the prompt of the interactive tools.
const Prompt = "wscalc> "

// ErrInterrupted is what ReadLine returns for Ctrl-C; it returns io.EOF for Ctrl-D on an
// empty line and when the terminal is closed.
var ErrInterrupted = readline.ErrInterrupt

// HistoryFileName is the history file's name in the home directory.
const HistoryFileName = ".wscalc_history"

// DefaultHistoryFile is $HOME/.wscalc_history, or "" (no history file) without a home.
func DefaultHistoryFile() string {
	home, err := os.UserHomeDir() // $HOME on Unix
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, HistoryFileName)
}

// IsTerminal reports whether in and out are both terminals, and returns them as files.
func IsTerminal(in io.Reader, out io.Writer) (*os.File, *os.File, bool) {
	fin, ok1 := in.(*os.File)
	fout, ok2 := out.(*os.File)
	if !ok1 || !ok2 || !term.IsTerminal(int(fin.Fd())) || !term.IsTerminal(int(fout.Fd())) {
		return nil, nil, false
	}
	return fin, fout, true
}

// TerminalConfig configures a Terminal.
type TerminalConfig struct {
	In  *os.File // the terminal's keys
	Out *os.File // the terminal's screen
	// HistoryFile keeps the lines entered from one run to the next; "" keeps none.
	HistoryFile string
	// Completer completes names on Tab; nil means a Completer with no variables yet.
	Completer *Completer
}

// Terminal is a prompt with line editing on a terminal. Write prints above the line being
// edited, from any goroutine; ReadLine is called from one goroutine at a time.
type Terminal struct {
	rl   *readline.Instance
	in   *readline.CancelableStdin
	out  *gate
	comp *Completer
	raw  rawMode
	fd   int // of Out, for its width

	reading atomic.Bool // in ReadLine
	wmu     sync.Mutex  // one Write at a time
	// ending is set, under wmu, when the key being handled may end the line (see
	// filterKey): readline then empties its buffer without its lock, so Write must not
	// touch the line until readline has moved on.
	ending    bool
	closeOnce sync.Once
	winch     chan os.Signal
	stopWinch chan struct{}
}

// NewTerminal starts a line editor on cfg.In and cfg.Out. The terminal is in raw mode only
// while ReadLine waits for a line.
func NewTerminal(cfg TerminalConfig) (*Terminal, error) {
	t := &Terminal{
		in:        readline.NewCancelableStdin(cfg.In),
		out:       &gate{w: cfg.Out},
		comp:      cfg.Completer,
		raw:       rawMode{fd: int(cfg.In.Fd())},
		fd:        int(cfg.Out.Fd()),
		stopWinch: make(chan struct{}),
	}
	if t.comp == nil {
		t.comp = NewCompleter()
	}
	if cfg.HistoryFile != "" {
		// Lines typed into a calculator are nobody else's business: create the file for
		// its owner only (readline would create it readable by all).
		f, err := os.OpenFile(cfg.HistoryFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintf(cfg.Out, "wscalc: no history file: %v\n", err)
			cfg.HistoryFile = ""
		} else {
			f.Close()
		}
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:            Prompt,
		HistoryFile:       cfg.HistoryFile,
		HistoryLimit:      1000,
		HistorySearchFold: true,
		// ReadLine saves the lines, without the blank ones that readline would keep.
		DisableAutoSaveHistory: true,
		AutoComplete:           t.comp,
		InterruptPrompt:        "^C",
		EOFPrompt:              "^D",
		Stdin:                  t.in,
		Stdout:                 t.out,
		Stderr:                 t.out,
		FuncIsTerminal:         func() bool { return true },
		FuncMakeRaw:            t.raw.enter,
		FuncExitRaw:            t.raw.exit,
		FuncGetWidth:           t.Width,
		FuncOnWidthChanged: func(f func()) {
			t.winch = make(chan os.Signal, 1)
			notifyResize(t.winch)
			go t.watchWidth(f)
		},
		FuncFilterInputRune: t.filterKey,
	})
	if err != nil {
		t.in.Close()
		return nil, err
	}
	t.rl = rl
	return t, nil
}

// filterKey handles Ctrl-Z itself: readline's own suspend also sends SIGTSTP to the
// parent process (the shell, or whatever started wscalc).
func (t *Terminal) filterKey(r rune) (rune, bool) {
	t.noteEnding(r)
	if r != readline.CharCtrlZ {
		return r, true
	}
	t.raw.exit()
	suspend()
	t.raw.enter()
	return r, false // readline then draws the line again
}

// noteEnding tells Write whether the key readline is about to handle may end the line.
// Enter, Ctrl-J, Ctrl-C and Ctrl-D on an empty line make readline reset its buffer
// without its lock (a data race with Write's Clean, seen under -race); taking wmu here,
// before readline handles the key, orders the two: a Write under way finishes first, and
// a later one writes plainly until the next key or until ReadLine returns.
func (t *Terminal) noteEnding(r rune) {
	ending := false
	switch r {
	case readline.CharEnter, readline.CharCtrlJ, readline.CharInterrupt, readline.CharDelete:
		ending = true
	}
	t.wmu.Lock()
	t.ending = ending
	t.wmu.Unlock()
}

func (t *Terminal) watchWidth(f func()) {
	for {
		select {
		case <-t.winch:
			f()
		case <-t.stopWinch:
			return
		}
	}
}

// ReadLine shows the prompt and returns the line entered, without its newline. It returns
// io.EOF for Ctrl-D on an empty line or once the terminal is closed, and ErrInterrupted
// for Ctrl-C; readline has then written ^D or ^C and a newline, so that what follows
// starts on a fresh line.
func (t *Terminal) ReadLine() (string, error) {
	t.reading.Store(true)
	line, err := t.rl.Readline()
	t.reading.Store(false)
	t.wmu.Lock()
	t.ending = false
	t.wmu.Unlock()
	if errors.Is(err, readline.ErrInterrupt) {
		return "", ErrInterrupted
	}
	if err == nil && strings.Trim(line, " \t\u3000") != "" {
		t.rl.SaveHistory(line) // to the file too; an error there is not worth a word
	}
	return line, err
}

// Write prints p above the line being edited (the prompt and the line are drawn again
// below it), or just prints it when no line is being read. p should end with a newline.
//
// It does not use readline's own Stdout wrapper, which reads the editor's search and
// completion state without its lock (a data race with the key being handled); it erases
// the line and draws it again through readline's locked Clean and Refresh instead.
func (t *Terminal) Write(p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	// readline draws the prompt a moment before it counts as reading; text written in
	// between would land after the prompt and leave none below it. Wait for that moment.
	for i := 0; i < 100 && t.reading.Load() && !t.rl.Terminal.IsReading(); i++ {
		time.Sleep(time.Millisecond)
	}
	if t.ending || !t.rl.Terminal.IsReading() {
		return t.out.Write(p)
	}
	t.rl.Clean()
	n, err := t.out.Write(p)
	t.rl.Refresh()
	return n, err
}

// SetPrompt changes the prompt, at once if a line is being edited.
func (t *Terminal) SetPrompt(p string) {
	t.rl.SetPrompt(p)
	t.rl.Refresh()
}

// Width is the terminal's width in columns (80 if it cannot be read).
func (t *Terminal) Width() int {
	w, _, err := term.GetSize(t.fd)
	if err != nil || w <= 0 {
		return 80
	}
	return w
}

// Completer is the Tab completer, to which the caller adds the session's variables.
func (t *Terminal) Completer() *Completer { return t.comp }

// Close ends the line editor: a ReadLine in progress returns io.EOF, the terminal leaves
// raw mode, and nothing more is written to it. It is safe to call more than once and from
// any goroutine.
func (t *Terminal) Close() error {
	t.closeOnce.Do(func() {
		if t.rl.Terminal.IsReading() {
			t.rl.Clean() // erase the prompt: what follows starts on a clean line
		}
		t.in.Close() // a pending read of a key returns at once, so rl.Close cannot hang on it
		t.rl.Close()
		// readline's own goroutine may still redraw once after Close: let it draw nowhere.
		t.out.close()
		t.raw.exit()
		if t.winch != nil {
			signal.Stop(t.winch)
		}
		close(t.stopWinch)
	})
	return nil
}

// gate is a writer that can be shut.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// rawMode enters and leaves raw mode on one file descriptor; both are idempotent. It is
// readline's raw mode, which keeps output processing on, so that "\n" starts a new line
// at the left margin.
type rawMode struct {
	fd    int
	mu    sync.Mutex
	saved *readline.State
}

func (r *rawMode) enter() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.saved != nil {
		return nil
	}
	s, err := readline.MakeRaw(r.fd)
	if err != nil {
		return err
	}
	r.saved = s
	return nil
}

func (r *rawMode) exit() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.saved == nil {
		return nil
	}
	err := readline.Restore(r.fd, r.saved)
	r.saved = nil
	return err
}
