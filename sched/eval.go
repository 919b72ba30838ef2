package sched

// The wiring of calc sessions to the scheduler: calc.Gate, Session.Gate,
// Session.EvalContext, Session.Budget, calc.Error.Refusal.

import (
	"context"
	"errors"
	"time"

	"wscalc/calc"
	"wscalc/presence"
)

// accountKey is what sessions share a heavy-time account by: the HTTP API's fresh sessions
// share their client address's budget, and with it their account (see accounts.go).
type accountKey = calc.Budget

// gate is the calc.Gate that Attach gives a session.
type gate struct {
	sessionGate
	s *calc.Session
}

// Heavy implements calc.Gate: see slots.go for the scheduling and memory.go for the
// memory refusal.
func (g *gate) Heavy(ctx context.Context, deadline time.Time) (release func(), err error) {
	acct := &g.own
	if b := g.s.Budget; b != nil {
		acct = g.h.shared.get(b)
	}
	release, err = g.heavy(ctx, deadline, acct)
	switch {
	case errors.Is(err, errTooLong):
		return nil, calc.TimeLimitError(g.s.Limits.WithDefaults().MaxTime)
	case errors.Is(err, errServerMemory):
		return nil, &calc.Error{Msg: "server busy (memory), try again later", Refusal: calc.RefusalServerMemory}
	}
	return release, err // err: nil or ctx.Err()
}

// Attach wires a calc session to the scheduler: it sets s.Gate to a gate of its own,
// which carries the session's fair share of heavy time (or, when s.Budget is set, the
// share of all the sessions with that budget). Transports call it once per session; Eval
// attaches a session that has no gate.
func (h *Scheduler) Attach(s *calc.Session) {
	s.Gate = &gate{sessionGate: sessionGate{h: h}, s: s}
}

// Eval evaluates line in session s on behalf of transport t and records the outcome. The
// line runs in a light slot, and in a heavy one if calc asks s.Gate for it (see slots.go);
// it stops when ctx ends (the connection is gone, the request cancelled, the server
// closing), returning ctx.Err(). Blank lines and commands are not recorded as expressions.
func (h *Scheduler) Eval(ctx context.Context, t presence.Transport, s *calc.Session, line string) (res calc.Result, err error) {
	g := h.gateOf(s)
	l, err := h.begin(ctx, g)
	if err == nil {
		err = h.evalIn(ctx, g, l, s, line, &res)
	}
	h.record(t, res.Kind, err, s.LastDuration())
	return res, err
}

// evalIn evaluates line in the slot l that begin gave, into res, and releases the slot,
// even if the evaluation panics.
func (h *Scheduler) evalIn(ctx context.Context, g *sessionGate, l *line, s *calc.Session, line string, res *calc.Result) (err error) {
	defer h.end(g, l)
	*res, err = evalContext(s, ctx, line)
	return err
}

// evalContext is calc.Session.EvalContext, called through a variable so that it is not
// inlined here: inlined into another package, its Result moved to the heap (escape
// analysis does not see through the generic function it calls from outside calc), an
// allocation a line.
var evalContext = (*calc.Session).EvalContext

// EvalAppend is Eval for a transport that reads and writes bytes: it evaluates line as
// Eval does (the same slots, gate and metrics) through calc.Session.EvalAppend, which
// appends the reply line to dst (nothing for KindNone; on error out is dst as it was).
// Neither the line nor the reply is made a string: a typical line allocates nothing.
func (h *Scheduler) EvalAppend(ctx context.Context, t presence.Transport, s *calc.Session, dst, line []byte) (out []byte, kind calc.Kind, err error) {
	g := h.gateOf(s)
	out = dst
	l, err := h.begin(ctx, g)
	if err == nil {
		func() {
			defer h.end(g, l) // released even if the evaluation panics
			out, kind, err = s.EvalAppend(ctx, dst, line)
		}()
	}
	h.record(t, kind, err, s.LastDuration())
	return out, kind, err
}

// gateOf is the part of s's gate that is this scheduler's, attaching s if it has no gate;
// nil for a session whose gate is another's.
func (h *Scheduler) gateOf(s *calc.Session) *sessionGate {
	if s.Gate == nil {
		h.Attach(s)
	}
	if g, ok := s.Gate.(*gate); ok && g.h == h {
		return &g.sessionGate
	}
	return nil
}

// refusalOf is the reason a limit refused a line with err, or "" for no refusal.
func refusalOf(err error) string {
	if ce, ok := err.(*calc.Error); ok { // calc returns its errors unwrapped; errors.As would allocate
		return ce.Refusal
	}
	return ""
}
