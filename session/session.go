package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"wscalc/calc"
	"wscalc/presence"
	"wscalc/sched"
)

// Defaults for the zero values of the transports' limits (and of the server's flags).
const (
	DefaultMaxClients   = 10000
	DefaultIdleTimeout  = 10 * time.Minute
	DefaultPingInterval = 30 * time.Second // WebSocket pings, so that proxies keep quiet sessions open
	DefaultWriteTimeout = 10 * time.Second // each write of replies; a client that stops reading is closed
)

// Reasons a session ends, as logged in its "session end" line. A transport may log reasons
// of its own (the WebSocket close codes, for example).
const (
	ReasonEOF          = "eof"
	ReasonQuit         = "quit"
	ReasonIdle         = "idle timeout"
	ReasonShutdown     = "server shutting down"
	ReasonClosed       = "server closed"
	ReasonWriteTimeout = "write timeout"
	ReasonWriteFailed  = "write failed"
	ReasonGone         = "client gone"
	ReasonInternal     = "internal error"
)

// Config is what every session of one server on one transport shares. Build it once per
// server (the transport's constructor calls Prepare); sessions keep a pointer to it.
type Config struct {
	// Presence counts the sessions. Required.
	Presence *presence.Presence
	// Sched evaluates their lines. Required.
	Sched *sched.Scheduler
	// Transport names the way in, in logs and metrics; Prepare sets it.
	Transport presence.Transport
	// MaxClients is the most live sessions on the transport; <= 0 means DefaultMaxClients.
	MaxClients int
	// IdleTimeout closes a session that sends nothing for this long; <= 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to the client; a session whose write times out is
	// closed. <= 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Limits are given to each session's calculator (zero fields mean calc's defaults).
	Limits calc.Limits
	// Logger receives the session logs; nil means slog.Default().
	Logger *slog.Logger
	// Rooms are the server's rooms, shared by its transports; nil: rooms unavailable.
	Rooms *Rooms
}

// Prepare checks that c names its dependencies, fills in the defaults of its zero fields
// and sets its transport to t. Every transport's constructor calls it, so a missing
// dependency is the same error everywhere.
func (c *Config) Prepare(t presence.Transport) error {
	if err := Require(c.Presence, c.Sched); err != nil {
		return err
	}
	c.Transport = t
	if c.MaxClients <= 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Require is the check of the dependencies every server part has (the transports through
// Prepare, the HTTP API directly): an error naming the first one missing.
func Require(p *presence.Presence, s *sched.Scheduler) error {
	switch {
	case p == nil:
		return errors.New("Config.Presence is nil")
	case s == nil:
		return errors.New("Config.Sched is nil")
	}
	return nil
}

// Session is one client's session. Init it before use; it must not be copied after. The
// owner goroutine (the transport's reader) calls Eval, Request and the logging methods;
// End, Reason, Cancel and Context are safe from any goroutine.
type Session struct {
	cfg      *Config
	id       string
	remote   string
	start    time.Time
	requests int // owner goroutine only
	leave    func()
	calc     calc.Session
	sink     RoomSink // nil: the transport takes no part in rooms
	member   *member  // the room side, from the first room command (owner goroutine)

	// ctx ends with the connection: when the transport drops it, or when the client is
	// found gone while a line runs. Evaluations run under it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	reason  string  // why the session ended; the first cause wins
	busy    bool    // a request is being answered (Begin to Finish)
	closing *Ending // the close decided (Decide), carried out by whoever Decide or Finish tells
}

// Ending is a decided end of a session: the reason, as End records it, and a code of the
// transport's (a WebSocket close status; 0 where the transport has none).
type Ending struct {
	Code   int
	Reason string
}

// Init prepares s for a connection from remote: a fresh id, a calculator with cfg's limits
// attached to the scheduler's gate, and a context derived from parent.
func (s *Session) Init(parent context.Context, cfg *Config, remote string) {
	s.cfg = cfg
	s.id = NewID()
	s.remote = remote
	s.start = time.Now()
	s.calc.Limits = cfg.Limits
	s.ctx, s.cancel = context.WithCancel(parent)
	cfg.Sched.Attach(&s.calc)
}

// SetExactValue asks the session's calculator for the exact text of every exact result,
// however long (calc.Session.ExactValue): what the JSON replies carry. Call it before the
// first Eval.
func (s *Session) SetExactValue(on bool) { s.calc.ExactValue = on }

// NewID returns a random session id: 16 hex digits.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ID is the session's id, as logged and sent in the WebSocket hello.
func (s *Session) ID() string { return s.id }

// Context ends when the session is cancelled (see Cancel).
func (s *Session) Context() context.Context { return s.ctx }

// Cancel ends the session's context: an evaluation in progress stops. Safe to call from
// any goroutine, repeatedly.
func (s *Session) Cancel() { s.cancel() }

// Request counts one request, for the end log.
func (s *Session) Request() { s.requests++ }

// Join registers the session with presence, unless the transport already has
// Config.MaxClients sessions (presence.ErrBusy). Leave undoes it.
func (s *Session) Join() error {
	leave, err := s.cfg.Presence.Join(s.cfg.Transport, s.cfg.MaxClients)
	if err != nil {
		return err
	}
	s.leave = leave
	return nil
}

// Leave unregisters a session that joined; otherwise it does nothing.
func (s *Session) Leave() {
	if s.leave != nil {
		s.leave()
	}
}

// Reject records, in the metrics, a connection refused before it became a session.
func (s *Session) Reject(reason string) { s.cfg.Presence.Reject(s.cfg.Transport, reason) }

// LogStart logs the start of the session, with attrs after the common ones.
func (s *Session) LogStart(attrs ...any) {
	s.cfg.Logger.Info("session start", append([]any{"session", s.id, "transport", string(s.cfg.Transport),
		"remote", s.remote}, attrs...)...)
}

// LogEnd logs the end of the session at level: its duration, requests and reason.
func (s *Session) LogEnd(level slog.Level) {
	s.cfg.Logger.Log(context.Background(), level, "session end", "session", s.id,
		"transport", string(s.cfg.Transport), "remote", s.remote,
		"duration", time.Since(s.start).Round(time.Millisecond), "requests", s.requests,
		"reason", s.Reason())
}

// LogRefused logs, at level, a connection refused before it became a session.
func (s *Session) LogRefused(level slog.Level, reason string, attrs ...any) {
	s.cfg.Logger.Log(context.Background(), level, "session refused", append([]any{"session", s.id,
		"transport", string(s.cfg.Transport), "remote", s.remote, "reason", reason}, attrs...)...)
}

// End records why the session ends, unless a cause was recorded before.
func (s *Session) End(reason string) {
	s.mu.Lock()
	if s.reason == "" {
		s.reason = reason
	}
	s.mu.Unlock()
}

// Begin marks a request being answered, unless the session's close has been decided (then
// the request crossed the close and is not answered). A close decided until Finish waits
// for the reply: an accepted request is always answered before the session closes.
func (s *Session) Begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing != nil {
		return false
	}
	s.busy = true
	return true
}

// Finish ends the request that Begin marked. end, if not nil, is how the request itself
// ends the session (quit, say), unless a close was decided before. It returns the close to
// carry out now, if any.
func (s *Session) Finish(end *Ending) *Ending {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy = false
	if end != nil && s.closing == nil {
		s.closing = end
	}
	return s.closing
}

// Decide decides that the session closes (idle timeout, shutdown, a read that failed),
// unless a close was decided before. It reports whether the caller carries the close out
// now: false while a request is being answered (Finish returns the close after the reply)
// or when another close was decided first.
func (s *Session) Decide(c Ending) (now bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing != nil {
		return false
	}
	s.closing = &c
	return !s.busy
}

// Closing reports whether the session's close has been decided.
func (s *Session) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing != nil
}

// Reason is the cause End recorded first, or "".
func (s *Session) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// Recovered logs v, a value recover returned, with the stack of the goroutine that
// panicked, and reports whether there was a panic. Use it in a deferred function:
//
//	defer func() {
//		if s.Recovered(recover()) {
//			// end the session with an internal error
//		}
//	}()
func (s *Session) Recovered(v any) bool {
	if v == nil {
		return false
	}
	s.cfg.Logger.Error("session panic", "session", s.id, "transport", string(s.cfg.Transport),
		"remote", s.remote, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	return true
}

// Kind says what a transport does with an evaluated line.
type Kind uint8

const (
	// Answer: send Outcome.Result.Display (or the structured result).
	Answer Kind = iota
	// Silent: a blank or comment-only line; no reply.
	Silent
	// Failed: send Outcome.Err, the calculator's error (a *calc.Error, positioned or not).
	Failed
	// Quit: the client asked to end the session (quit, exit); no reply.
	Quit
	// Gone: the session's context ended while the line ran (the connection was dropped,
	// or the client left); nobody is left to answer.
	Gone
)

// Outcome is an evaluated line.
type Outcome struct {
	Kind   Kind
	Result calc.Result
	Err    error
}

// Eval evaluates line in the session's calculator through the scheduler's gate, under the
// session's context, and sorts the outcome.
func (s *Session) Eval(line string) Outcome {
	res, err := s.cfg.Sched.Eval(s.ctx, s.cfg.Transport, &s.calc, line)
	switch {
	case err != nil:
		kind, err := failure(err)
		return Outcome{Kind: kind, Err: err}
	case res.Kind == calc.KindNone:
		return Outcome{Kind: Silent, Result: res}
	case res.Kind == calc.KindText && s.sink != nil:
		res = withRoomsHelp(line, res)
	}
	return Outcome{Kind: Answer, Result: res}
}

// EvalAppend is Eval for a transport that reads and writes bytes: it evaluates line as
// Eval does and, for Answer, appends the reply line (what Outcome.Result.Display holds
// from Eval) to dst; for the other kinds out is dst as it was. The line is not made a
// string, nor is the reply: a typical line allocates nothing. err is the error of Failed
// and Gone (Outcome.Err).
func (s *Session) EvalAppend(dst, line []byte) (out []byte, kind Kind, err error) {
	out, ck, err := s.cfg.Sched.EvalAppend(s.ctx, s.cfg.Transport, &s.calc, dst, line)
	switch {
	case err != nil:
		kind, err = failure(err)
		return dst, kind, err
	case ck == calc.KindNone:
		return dst, Silent, nil
	case ck == calc.KindText && s.sink != nil && asksHelp(string(line)): // a command: rare
		out = append(out, roomsHelp...)
	}
	return out, Answer, nil
}

// failure sorts the error of an evaluation: quit (whose error is no error to report), the
// session gone, or a failed line.
func failure(err error) (Kind, error) {
	switch {
	case errors.Is(err, calc.ErrQuit):
		return Quit, nil
	case errors.Is(err, context.Canceled):
		return Gone, err
	}
	return Failed, err
}
