package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/internal/peer"
	"wscalc/session"
)

// Close reasons of the line protocol's own, as logged at the end of a session (the shared
// ones are session's).
const (
	reasonBusy  = "too busy"
	reasonPerIP = "too many connections from the address"
	reasonHTTP  = "http request"
	reasonError = "error"
)

const (
	msgIdle       = "Error: idle timeout"
	msgShutdown   = "Error: server shutting down"
	msgInternal   = "Error: internal error"
	writeBufBytes = 4096
	// After the last reply the server stops sending (FIN) and reads and discards what the
	// client still sends, for at most this long and this much, before closing: closing a
	// socket with unread input makes the kernel send RST, and the client could lose the
	// replies it has not read yet (the last reply to an HTTP request, say).
	lingerTime  = time.Second
	lingerBytes = 256 << 10
)

// errPanic is the error of a read that panicked (a bug): the session ends as after a panic
// while evaluating.
var errPanic = errors.New("tcp: panic")

// msgNotUTF8 is calc's error for a line that is not UTF-8, as a reply line.
var msgNotUTF8 = calc.NotUTF8Error().Error()

// writeError marks a failure to send replies, as opposed to a failure to read.
type writeError struct{ err error }

func (e writeError) Error() string { return "tcp: write: " + e.err.Error() }
func (e writeError) Unwrap() error { return e.err }

// conn is one connection: the line framing of a session.Session. Only its own goroutine
// (begin, then serve; one at a time) touches its fields, except mu and what mu guards,
// which Shutdown uses to wake it.
type conn struct {
	srv      *Server
	rwc      net.Conn
	sess     session.Session
	out      session.Outbox[string] // the replies, into w
	w        replyWriter            // writes to rwc
	in       lineBuffer             // its size bounds a line
	raw      syscall.RawConn
	readFn   func(fd uintptr) bool // c.readOnce, for raw.Read
	rn       int                   // what readOnce read
	rerr     error
	idleWait bool      // the wait for input may be long: give the read buffer back meanwhile
	scanned  int       // bytes at the start of the read buffer known to hold no newline
	idleAt   time.Time // when the wait for input in progress times out
	draining bool      // shutdown noticed: read only input that has already arrived
	watch    peer.Busy // watches for the client leaving while a long line runs

	// answerBuf holds the reply the calculator appends (see answer) until it is copied to
	// the writer: a typical reply fits, a longer one is appended to a buffer of its own.
	answerBuf [64]byte

	mu       sync.Mutex
	shutdown bool // Shutdown asked this session to finish
}

func (s *Server) newConn(rw net.Conn) *conn {
	c := &conn{srv: s, rwc: rw}
	c.sess.Init(context.Background(), &s.cfg.Session, rw.RemoteAddr().String())
	// A line-protocol client may half-close and still read its replies (nc -N): only a
	// reset connection is gone (see peer.HangUp).
	c.watch = peer.Busy{Conn: rw, Mode: peer.HangUp, Gone: c.sess.Cancel, After: calc.HeavyTime}
	// One line at the limit and its CR LF (see lineBuffer).
	c.in.size = s.cfg.Session.Limits.WithDefaults().MaxLineBytes + 2
	c.useRawReads()
	c.w = replyWriter{conn: rw, timeout: s.cfg.Session.WriteTimeout}
	c.out.Init(c.w.line, session.Pushes[string]{})
	c.out.SetBytesWriter(c.w.lineBytes)
	if s.cfg.Session.Rooms != nil {
		c.sess.SetRoomSink(roomSink{c})
	}
	return c
}

// Drain asks the session to answer what it has received and finish (session.Member); it
// wakes a blocked read with a deadline in the past. Safe to call from any goroutine,
// repeatedly.
func (c *conn) Drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.shutdown {
		c.shutdown = true
		c.rwc.SetReadDeadline(time.Now())
	}
}

// Force closes the connection at once, without goodbye (session.Member): its reads and
// writes fail and an evaluation in progress stops.
func (c *conn) Force() {
	c.sess.Cancel()
	c.rwc.Close()
}

func (c *conn) shutdownRequested() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shutdown
}

// armRead prepares a read that may block: the idle deadline normally (or, with handOn,
// the earlier hand-on time, see stackReset), or, once shutdown was requested, no deadline
// and the draining mode, in which reads return what has already arrived and never wait.
// Under mu so that it cannot undo Drain's deadline.
func (c *conn) armRead(handOn bool) {
	now := time.Now()
	c.arm(now.Add(c.srv.cfg.Session.IdleTimeout), handOn, now)
}

// armRest arms the rest of the wait that was cut short to hand on.
func (c *conn) armRest() { c.arm(c.idleAt, false, time.Time{}) }

func (c *conn) arm(idleAt time.Time, handOn bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shutdown && !c.draining {
		c.draining = true
		c.rwc.SetReadDeadline(time.Time{})
	}
	if c.draining {
		return
	}
	c.idleAt = idleAt
	deadline := idleAt
	if early := now.Add(c.srv.cfg.stackReset); handOn && early.Before(deadline) {
		deadline = early
	}
	c.rwc.SetReadDeadline(deadline)
}

// ending says how a session ends: the reason logged, the last line sent (if any) and
// whether to close gracefully (flush the replies, then linger).
type ending struct {
	reason  string
	goodbye string
	linger  bool
	quiet   bool // log the end at debug level: a refusal that was never a session
}

// A goroutine's stack grows on demand (evaluating a line takes 8 KiB) and in practice never
// shrinks back, while most connections spend most of their life waiting for input. So a
// connection's goroutine does not wait for long with the stack it grew: after stackReset
// without input (if the idle timeout is further away) it hands the connection on to a
// fresh goroutine, which waits with the smallest stack, as the bare echo's does (2 KiB).
// For the same reason the session starts on the accept goroutine (logging, joining the
// presence and setting a deadline all take stack), and the connection's own goroutine starts
// by waiting. A connection in steady use never hands off.

// stackReset is how long a connection's goroutine waits for input before it hands on.
const stackReset = time.Second

// begin begins the session on the accept goroutine, then starts the connection's own.
func (c *conn) begin() {
	c.sess.LogStart()
	if err := c.sess.Join(); err != nil {
		go c.finish(c.busy())
		return
	}
	c.armRead(true)
	go c.serve()
}

// serve is the connection's goroutine: it waits for input (in the smallest frame, so that
// a fresh goroutine's stack stays small) and answers lines until the session ends or a
// long wait hands the connection on.
func (c *conn) serve() {
	c.idleWait = true
	end, handOn := c.serveInput(c.await())
	if handOn {
		c.armRest()
		go c.serve()
		return
	}
	c.sess.Leave()
	c.finish(end)
}

// serveInput is the line protocol's loop: take the next line from the read buffer, answer
// it, and wait for more input when the buffer holds no complete line; until the session
// ends (end) or a wait for input was long enough to hand the connection on to a fresh
// goroutine (handedOn). handOn and err are what the first wait gave.
func (c *conn) serveInput(handOn bool, err error) (end ending, handedOn bool) {
	defer c.recoverPanic(&end) // a bug in the core must cost one session, never the server
	for {
		if handOn {
			return ending{}, true
		}
		var line []byte
		if err != nil {
			// End of input, or a failed read: a last line without its newline is still
			// answered, then the next wait gives the error again.
			var ok bool
			if line, ok = c.lastLine(err); !ok {
				return c.ending(err), false
			}
		} else {
			var st scan
			switch line, st = c.scanLine(); st {
			case needMore:
				handOn, err = c.more(true)
				continue
			case tooLong:
				// Answer at once, then throw the rest of the line away as it arrives.
				c.sess.Request()
				if err = c.reply(c.tooLong()); err == nil {
					err = c.discardLine()
				}
				continue
			}
		}
		end, err := c.answer(line)
		if err != nil {
			return c.writeFailure(err), false
		}
		if end != nil {
			return *end, false
		}
	}
}

// refuse answers a connection whose address holds too many connections already (see
// admission) and closes it. It never joins presence and logs at debug level only: an address
// that connects in a loop must not flood the logs (the refusals are counted in the metrics).
func (c *conn) refuse(limit int) {
	c.sess.Reject("per_ip")
	go c.finish(ending{reason: reasonPerIP, goodbye: "Error: " + admission.Reason(limit), linger: true, quiet: true})
}

func (c *conn) busy() ending {
	return ending{reason: reasonBusy, goodbye: fmt.Sprintf("Error: server busy (max %d clients)", c.srv.cfg.Session.MaxClients), linger: true}
}

// recoverPanic, deferred, turns a panic into the end of the session.
func (c *conn) recoverPanic(end *ending) {
	if c.sess.Recovered(recover()) {
		*end = ending{reason: reasonError, goodbye: msgInternal, linger: true}
	}
}

// recoverRead, deferred, turns a panic into errPanic.
func (c *conn) recoverRead(err *error) {
	if c.sess.Recovered(recover()) {
		*err = errPanic
	}
}

// finish sends the goodbye and the pending replies, logs the end, closes and unregisters
// the connection.
func (c *conn) finish(end ending) {
	defer c.srv.sessions.Leave(c)
	c.watch.End()
	defer c.sess.Cancel()
	c.sess.EndRoom()
	if end.goodbye != "" {
		if err := c.reply(end.goodbye); err != nil {
			end = c.writeFailure(err)
		}
	}
	if end.linger { // the replies must reach the client before the connection closes
		if err := c.flush(); err != nil {
			end = c.writeFailure(err)
		}
	}
	level := slog.LevelInfo
	if end.quiet {
		level = slog.LevelDebug
	}
	c.sess.End(end.reason)
	c.sess.LogEnd(level)
	c.close(end.linger)
}

// answer handles one complete line (without its LF and CR): it queues the reply, if any,
// or says how the session ends after this line.
func (c *conn) answer(line []byte) (*ending, error) {
	switch {
	case len(line) > c.maxLine():
		c.sess.Request()
		return nil, c.reply(c.tooLong())
	case !utf8.Valid(line):
		c.sess.Request()
		return nil, c.reply(msgNotUTF8)
	case looksLikeHTTP(line):
		c.sess.Request()
		return &ending{reason: reasonHTTP, goodbye: c.httpMessage(), linger: true}, nil
	}
	c.watch.Begin() // until the session waits for input again (more)
	if c.sess.MayTakeRoomLine(line) {
		if handled, quit := c.sess.RoomLine(string(line), nil); handled {
			c.sess.Request()
			if quit {
				return &ending{reason: session.ReasonQuit, linger: true}, nil
			}
			return nil, nil
		}
	}
	reply, kind, err := c.sess.EvalAppend(c.answerBuf[:0], line)
	if kind != session.Silent { // a blank or comment line is not a request
		c.sess.Request()
	}
	switch kind {
	case session.Quit:
		return &ending{reason: session.ReasonQuit, linger: true}, nil
	case session.Gone:
		// The connection's context ended: Close, or the client reset the connection while
		// the line ran (see watch). Nobody is left to answer.
		if c.srv.sessions.Closed() {
			return &ending{reason: session.ReasonClosed}, nil
		}
		return &ending{reason: session.ReasonGone}, nil
	case session.Failed:
		return nil, c.reply(err.Error())
	case session.Silent:
		return nil, nil
	}
	return nil, c.replyBytes(reply)
}

// reply queues one reply line in the outbox. The writer batches: its buffer is written
// when it fills and before the session waits for input (see flush), so pipelined replies
// go out in few writes.
func (c *conn) reply(line string) error {
	if c.sess.InRoom() { // after what the member was sent before
		c.sess.RoomSend(line, nil)
		return nil
	}
	if err := c.out.Send(line); err != nil {
		return writeError{err}
	}
	return nil
}

// replyBytes is reply for a line held as bytes (the calculator's answer), copied into the
// writer's buffer.
func (c *conn) replyBytes(line []byte) error {
	if c.sess.InRoom() {
		return c.reply(string(line))
	}
	if err := c.out.SendBytes(line); err != nil {
		return writeError{err}
	}
	return nil
}

// flush writes the replies batched so far, as the outbox's writer.
func (c *conn) flush() error { return c.out.Do(c.w.flush) }

// ending maps the error that stopped the read loop to the way the session ends.
func (c *conn) ending(err error) ending {
	var we writeError
	switch {
	case errors.As(err, &we):
		return c.writeFailure(err)
	case errors.Is(err, errPanic):
		return ending{reason: reasonError, goodbye: msgInternal, linger: true}
	case errors.Is(err, io.EOF):
		return ending{reason: session.ReasonEOF, linger: true}
	case errors.Is(err, errNoMoreInput):
		return ending{reason: session.ReasonShutdown, goodbye: msgShutdown, linger: true}
	case c.srv.sessions.Closed():
		return ending{reason: session.ReasonClosed}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ending{reason: session.ReasonIdle, goodbye: msgIdle, linger: true}
	default:
		return ending{reason: reasonError}
	}
}

// writeFailure is the end of a session whose replies cannot be sent: close at once.
func (c *conn) writeFailure(err error) ending {
	switch {
	case c.srv.sessions.Closed():
		return ending{reason: session.ReasonClosed}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ending{reason: session.ReasonWriteTimeout}
	default:
		return ending{reason: reasonError}
	}
}

// close closes the connection. Gracefully, it first sends FIN and discards what the client
// still sends (see lingerTime), so that the kernel does not reset the connection under
// replies the client has not read yet.
func (c *conn) close(graceful bool) {
	if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok && graceful && !c.srv.sessions.Closed() {
		if cw.CloseWrite() == nil {
			c.rwc.SetReadDeadline(time.Now().Add(lingerTime))
			io.CopyN(io.Discard, c.rwc, lingerBytes)
		}
	}
	c.rwc.Close()
}

func (c *conn) tooLong() string {
	return calc.TooLongError(c.maxLine()).Error()
}

// maxLine is the line limit in bytes: the read buffer holds one line at the limit and its
// CR LF.
func (c *conn) maxLine() int { return c.in.size - 2 }

func (c *conn) httpMessage() string {
	if c.srv.cfg.HTTPAddr == "" {
		return "Error: this port speaks the line protocol, not HTTP"
	}
	return "Error: this port speaks the line protocol; open http://" + c.srv.cfg.HTTPAddr + "/ in a browser"
}
