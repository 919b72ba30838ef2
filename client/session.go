package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// MaxLine is the language's line limit. Over it every line, comment or not, gets an error
// reply, so NeedsReply must know it.
const MaxLine = 4096

// NeedsReply mirrors the language's rule for which lines the server answers: every line
// except one that is empty after removing its comment and blanks (space, tab, U+3000). The
// length and UTF-8 checks come first, as in the server, so an over-long or invalid comment
// line is answered. The line has no trailing newline.
func NeedsReply(line string) bool {
	if len(line) > MaxLine || !utf8.ValidString(line) {
		return true
	}
	if i := strings.IndexAny(line, "#＃"); i >= 0 {
		line = line[:i]
	}
	return strings.Trim(line, " \t\u3000") != ""
}

// IsQuit reports whether the line is the quit or exit command, after which the server
// closes the session without a reply.
func IsQuit(line string) bool {
	t := strings.ToLower(strings.Trim(line, " \t\u3000"))
	return t == "quit" || t == "exit"
}

// trimEOL drops the line terminator (LF, and a CR before it).
func trimEOL(s string) string {
	return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
}

// replies prints each reply of c as it arrives and counts them; done receives the error
// that ended the stream (a *ClosedError when the server closed).
type replies struct {
	n    atomic.Int64
	done chan error
	tick chan struct{} // a value after each reply, dropped when nobody listens
}

func startReplies(c Conn, out io.Writer) *replies {
	r := &replies{done: make(chan error, 1), tick: make(chan struct{}, 1)}
	go func() {
		for {
			line, err := c.Recv()
			if err != nil {
				r.done <- err
				return
			}
			if _, err := fmt.Fprintln(out, line); err != nil {
				r.done <- err
				return
			}
			r.n.Add(1)
			select {
			case r.tick <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

// Pipe sends every line of in to c, writes every reply to out, one per line in order, and
// returns once the replies to all lines have arrived. It returns nil when the session ended
// normally (end of input or quit) and an error, such as a *ClosedError, otherwise. Lines are
// sent as fast as they are read (pipelined); replies are printed as they come.
func Pipe(ctx context.Context, c Conn, in io.Reader, out io.Writer) error {
	r := startReplies(c, out)
	defer c.Close()
	expected, quit, err := sendAll(c, bufio.NewReader(in), r.done)
	if err != nil {
		return err
	}
	if quit {
		return awaitClose(ctx, r)
	}
	drains, err := c.CloseWrite()
	if err != nil {
		return err
	}
	if drains {
		return awaitClose(ctx, r)
	}
	return awaitCount(ctx, r, expected)
}

// sendAll sends the lines of in until EOF or a quit line, flushing whenever no more input is
// buffered, and returns how many replies they call for. It stops early if the reply stream
// ends (done receives its error then, and is refilled for the caller).
func sendAll(c Conn, in *bufio.Reader, done chan error) (expected int64, quit bool, err error) {
	for {
		select {
		case err := <-done:
			done <- err
			return expected, false, sessionEnd(err, false)
		default:
		}
		s, rerr := in.ReadString('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return expected, false, rerr
		}
		if s != "" {
			line := trimEOL(s)
			if err := c.Send(line); err != nil {
				return expected, false, writeFailed(err, done)
			}
			if IsQuit(line) {
				return expected, true, writeFailed(c.Flush(), done)
			}
			if NeedsReply(line) {
				expected++
			}
		}
		if rerr != nil || in.Buffered() == 0 {
			if err := c.Flush(); err != nil {
				return expected, false, writeFailed(err, done)
			}
		}
		if rerr != nil {
			return expected, false, nil
		}
	}
}

// writeFailed explains a failed write: usually the server has closed the session, and the
// reply stream, which ends a moment later, says how (a WebSocket close reason, say).
func writeFailed(err error, done chan error) error {
	if err == nil {
		return nil
	}
	select {
	case end := <-done:
		done <- end
		return end
	case <-time.After(time.Second):
		return err
	}
}

// sessionEnd turns the end of the reply stream into the session's result: a normal close is
// success only if the client expected it.
func sessionEnd(err error, expected bool) error {
	var ce *ClosedError
	if expected && errors.As(err, &ce) && ce.Normal() {
		return nil
	}
	return err
}

// awaitClose waits for the server to close the session, as it does after quit or after a
// TCP half-close once every pending reply is sent.
func awaitClose(ctx context.Context, r *replies) error {
	select {
	case err := <-r.done:
		return sessionEnd(err, true)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// awaitCount waits until want replies have arrived.
func awaitCount(ctx context.Context, r *replies, want int64) error {
	for r.n.Load() < want {
		select {
		case err := <-r.done:
			if r.n.Load() >= want {
				return nil
			}
			return err
		case <-r.tick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Prompt is the interactive prompt.
const Prompt = "wscalc> "

// QuitWait bounds how long Interactive waits for outstanding replies after Ctrl-D.
const QuitWait = 2 * time.Second

// Interactive runs a session on a terminal: a prompt with line editing and history
// (golang.org/x/term), each line sent as it is entered, replies printed as they arrive
// without disturbing the line being typed. It returns nil after quit, Ctrl-D or Ctrl-C, and
// a *ClosedError (already shown to the user) when the server ends the session.
//
// tty must already be in raw mode. When Interactive returns because the server closed, a
// read from tty may still be pending in a goroutine; it ends when tty is closed or the
// process exits.
func Interactive(ctx context.Context, c Conn, tty io.ReadWriter) error {
	t := term.NewTerminal(tty, Prompt)
	defer c.Close()
	fmt.Fprintf(t, "connected to %s; type an expression, help, or quit (Ctrl-D) to leave\n", c)
	r := startReplies(c, t)
	in := startLineReader(t)
	defer in.stop()

	var expected int64
	for {
		select {
		case line := <-in.lines:
			if err := c.Send(line); err != nil {
				return showEnd(t, writeFailed(err, r.done))
			}
			if err := c.Flush(); err != nil {
				return showEnd(t, writeFailed(err, r.done))
			}
			if IsQuit(line) {
				return showEnd(t, awaitClose(ctx, r))
			}
			if NeedsReply(line) {
				expected++
			}
			in.next()
		case <-in.done: // Ctrl-D, Ctrl-C or the end of tty
			wctx, cancel := context.WithTimeout(ctx, QuitWait)
			err := awaitCount(wctx, r, expected)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				err = nil // leaving: unanswered lines are the user's choice
			}
			return showEnd(t, err)
		case err := <-r.done:
			return showEnd(t, err)
		case <-ctx.Done():
			return showEnd(t, ctx.Err())
		}
	}
}

// lineReader reads the lines typed on a terminal in its own goroutine, one at a time: it
// reads the next line (and so shows the prompt again) only when told to, so that no prompt
// appears after the last line of a session.
type lineReader struct {
	lines chan string
	done  chan error
	more  chan struct{}
	quit  chan struct{}
}

func startLineReader(t *term.Terminal) *lineReader {
	lr := &lineReader{lines: make(chan string), done: make(chan error, 1),
		more: make(chan struct{}, 1), quit: make(chan struct{})}
	go func() {
		for {
			line, err := t.ReadLine()
			if err != nil {
				lr.done <- err
				return
			}
			select {
			case lr.lines <- line:
			case <-lr.quit:
				return
			}
			select {
			case <-lr.more:
			case <-lr.quit:
				return
			}
		}
	}()
	return lr
}

// next lets the reader show the prompt and read another line.
func (lr *lineReader) next() { lr.more <- struct{}{} }

// stop ends the reader once its pending read, if any, returns.
func (lr *lineReader) stop() { close(lr.quit) }

// showEnd tells the user why the session ended, when it was not their choice.
func showEnd(t *term.Terminal, err error) error {
	t.SetPrompt("") // the session is over: no prompt after this
	if err != nil {
		fmt.Fprintf(t, "wscalc: %v\n", err)
	}
	return err
}
