//go:build unix

// Package ptytest runs terminal programs under a pseudo-terminal for tests: the test
// types keys into it and waits for text on its screen, as a person would.
package ptytest

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Timeout bounds how long Expect waits for text.
const Timeout = 15 * time.Second

// Term is a pseudo-terminal: TTY is the program's side (its stdin and stdout), and the
// test reads and writes the other side.
type Term struct {
	TTY    *os.File
	master *os.File

	mu     sync.Mutex
	out    bytes.Buffer
	cursor int // in the text without escapes: Expect looks after it
	copied chan struct{}
}

// Open opens a terminal of the given size, closed when the test ends.
func Open(t testing.TB, cols, rows int) *Term {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pty: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		t.Fatalf("sizing the pty: %v", err)
	}
	// Read the master side through the runtime's poller, so that Close interrupts a read
	// in progress (a blocking read would hold the file open, and the program side would
	// never see the hang-up).
	fd, err := syscall.Dup(int(master.Fd()))
	if err == nil {
		err = syscall.SetNonblock(fd, true)
	}
	master.Close()
	if err != nil {
		tty.Close()
		t.Fatalf("pty master: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	p := &Term{TTY: tty, master: master, copied: make(chan struct{})}
	go p.copy()
	t.Cleanup(p.Close)
	return p
}

// copy collects what the program writes.
func (p *Term) copy() {
	defer close(p.copied)
	buf := make([]byte, 4096)
	for {
		n, err := p.master.Read(buf)
		p.mu.Lock()
		p.out.Write(buf[:n])
		p.mu.Unlock()
		if err != nil {
			return // EIO once the last program side is closed, or our own Close
		}
	}
}

// Close closes both sides and waits for the screen reader to finish. A program still
// reading the terminal gets an error.
func (p *Term) Close() {
	p.master.Close()
	p.TTY.Close()
	<-p.copied
}

// Type sends keys, as typed: "\r" is Enter, "\t" Tab, "\x1b[A" the up arrow, "\x04"
// Ctrl-D, "\x03" Ctrl-C, "\x12" Ctrl-R.
func (p *Term) Type(t testing.TB, keys string) {
	t.Helper()
	if _, err := io.WriteString(p.master, keys); err != nil {
		t.Fatalf("typing %q: %v", keys, err)
	}
}

// csi matches the terminal's control sequences, which Screen leaves out.
var csi = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])`)

// Screen is everything written to the terminal so far, control sequences left out.
func (p *Term) Screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return csi.ReplaceAllString(p.out.String(), "")
}

// Raw is everything written to the terminal so far, as written.
func (p *Term) Raw() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Expect waits until s appears on the screen after the previous Expect's match, and
// returns the screen text from there up to the end of s.
func (p *Term) Expect(t testing.TB, s string) string {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		screen := p.Screen()
		p.mu.Lock()
		from := min(p.cursor, len(screen))
		if i := strings.Index(screen[from:], s); i >= 0 {
			p.cursor = from + i + len(s)
			p.mu.Unlock()
			return screen[from:p.cursor]
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q after what was expected before; it shows:\n%s\n(after the cursor: %q)",
				s, screen, screen[from:])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Rest returns the screen after the previous Expect's match.
func (p *Term) Rest() string {
	screen := p.Screen()
	p.mu.Lock()
	defer p.mu.Unlock()
	return screen[min(p.cursor, len(screen)):]
}
