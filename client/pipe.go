package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wscalc/calc"
)

// MaxLine is the line limit of a server with the default limits. Over it every line,
// comment or not, gets an error reply, so NeedsReply must know it.
var MaxLine = calc.DefaultLimits().MaxLineBytes

// NeedsReply reports whether the server answers line: calc's rule (calc.NeedsReply) for a
// server with the default line limit. The line has no trailing newline.
func NeedsReply(line string) bool { return calc.NeedsReply(line, MaxLine) }

// IsQuit reports whether the line is the quit or exit command, after which the server
// closes the session without a reply (calc.IsQuit).
func IsQuit(line string) bool { return calc.IsQuit(line) }

// IsError reports whether a reply is an error (the protocol's errors all start so).
func IsError(reply string) bool { return strings.HasPrefix(reply, "Error") }

// HTTPError reports that the server answered a line in HTTP: the client was pointed at
// wscalc's HTTP port (or another web server) instead of the line protocol.
type HTTPError struct {
	Addr   string // host:port
	Status string // the status line, e.g. "HTTP/1.1 400 Bad Request"
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s answered in HTTP (%s): it is an HTTP port, not the line protocol; "+
		"try -ws %s, or -tcp with the line-protocol port", e.Addr, e.Status, e.Addr)
}

// isHTTPStatus reports whether a first reply is an HTTP status line.
func isHTTPStatus(reply string) bool {
	return strings.HasPrefix(reply, "HTTP/1.") || strings.HasPrefix(reply, "HTTP/2")
}

// trimEOL drops the line terminator (LF, and a CR before it).
func trimEOL(s string) string {
	return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
}

// pending holds the lines sent and not yet answered, oldest first.
type pending struct {
	mu    sync.Mutex
	lines []string
}

func (p *pending) push(line string) {
	p.mu.Lock()
	p.lines = append(p.lines, line)
	p.mu.Unlock()
}

func (p *pending) pop() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lines) == 0 {
		return "", false
	}
	line := p.lines[0]
	p.lines[0] = ""
	p.lines = p.lines[1:]
	return line, true
}

func (p *pending) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

// replies reads the replies of one connection in its own goroutine, pairs each with the
// line it answers (the caller pushes every line that needs a reply onto sent before
// sending it) and passes both to handle. A reply the server sends on its own, such as
// "Error: server shutting down", comes with an empty line when nothing is pending; so does a
// room's '#' line (IsNotice), which is passed on as it comes and counts as no reply.
type replies struct {
	sent pending
	n    atomic.Int64  // replies handled
	tick chan struct{} // a value after each reply, dropped when nobody listens
	end  chan struct{} // closed when the stream has ended; err says why
	err  error         // a *ClosedError when the server closed, an *HTTPError, …
}

func startReplies(c Conn, handle func(line, reply string) error) *replies {
	r := &replies{tick: make(chan struct{}, 1), end: make(chan struct{})}
	go func() {
		defer close(r.end)
		for first := true; ; first = false {
			reply, err := c.Recv()
			if err != nil {
				r.err = err
				return
			}
			if first && isHTTPStatus(reply) {
				r.err = &HTTPError{Addr: strings.TrimPrefix(c.String(), "tcp "), Status: reply}
				return
			}
			if IsNotice(reply) { // a room line: it answers nothing
				if err := handle("", reply); err != nil {
					r.err = err
					return
				}
				continue
			}
			line, _ := r.sent.pop()
			if err := handle(line, reply); err != nil {
				r.err = err
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

// ended returns the error that ended the stream, if it has ended.
func (r *replies) ended() (error, bool) {
	select {
	case <-r.end:
		return r.err, true
	default:
		return nil, false
	}
}

// Pipe sends every line of in to c, writes every reply to out, one per line in order, and
// returns once the replies to all lines have arrived. It returns nil when the session ended
// normally (end of input or quit) and an error, such as a *ClosedError or an *HTTPError,
// otherwise. Lines are sent as fast as they are read (pipelined); replies are printed as
// they come.
func Pipe(ctx context.Context, c Conn, in io.Reader, out io.Writer) error {
	_, err := pipe(ctx, c, in, out)
	return err
}

// Lines sends the lines to c in one session, as Pipe does, and also returns how many
// replies were errors: the one-shot use, `wscalc client -e LINE …`.
func Lines(ctx context.Context, c Conn, lines []string, out io.Writer) (errorReplies int, err error) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return pipe(ctx, c, strings.NewReader(b.String()), out)
}

func pipe(ctx context.Context, c Conn, in io.Reader, out io.Writer) (int, error) {
	var errs atomic.Int64
	r := startReplies(c, func(_, reply string) error {
		if IsError(reply) {
			errs.Add(1)
		}
		_, err := fmt.Fprintln(out, reply)
		return err
	})
	defer c.Close()
	err := func() error {
		expected, quit, err := sendAll(c, bufio.NewReader(in), r)
		if err != nil {
			return err
		}
		if quit {
			return awaitClose(ctx, r)
		}
		drains, err := c.CloseWrite()
		if err != nil {
			return writeFailed(err, r)
		}
		if drains {
			return awaitClose(ctx, r)
		}
		return awaitCount(ctx, r, expected)
	}()
	return int(errs.Load()), err
}

// sendAll sends the lines of in until EOF or a quit line, flushing whenever no more input is
// buffered, and returns how many replies they call for. It stops early if the reply stream
// ends.
func sendAll(c Conn, in *bufio.Reader, r *replies) (expected int64, quit bool, err error) {
	for {
		if err, ended := r.ended(); ended {
			return expected, false, sessionEnd(err, false)
		}
		s, rerr := in.ReadString('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return expected, false, rerr
		}
		if s != "" {
			line := trimEOL(s)
			if NeedsReply(line) {
				r.sent.push(line) // before sending: the reply must find it
				expected++
			}
			if err := c.Send(line); err != nil {
				return expected, false, writeFailed(err, r)
			}
			if IsQuit(line) {
				return expected, true, writeFailed(c.Flush(), r)
			}
		}
		if rerr != nil || in.Buffered() == 0 {
			if err := c.Flush(); err != nil {
				return expected, false, writeFailed(err, r)
			}
		}
		if rerr != nil {
			return expected, false, nil
		}
	}
}

// writeFailed explains a failed write: usually the server has closed the session, and the
// reply stream, which ends a moment later, says how (a WebSocket close reason, say).
func writeFailed(err error, r *replies) error {
	if err == nil {
		return nil
	}
	select {
	case <-r.end:
		return r.err
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
	case <-r.end:
		return sessionEnd(r.err, true)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// awaitCount waits until want replies have arrived.
func awaitCount(ctx context.Context, r *replies, want int64) error {
	for r.n.Load() < want {
		select {
		case <-r.end:
			if r.n.Load() >= want {
				return nil
			}
			return r.err
		case <-r.tick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
