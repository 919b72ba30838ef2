package sched

import (
	"context"
	"time"
)

// sessionGate is the part of a session's calc.Gate that does not depend on calc: eval.go
// wraps it in the type calc calls and turns its errors into calc's refusals. A session is
// used by one goroutine at a time, and so is its gate.
type sessionGate struct {
	h   *Scheduler
	own account // the session's account, unless the session shares one (see eval.go)
	// line is the line Scheduler.Eval is running for the session, nil outside Scheduler.Eval; it
	// points to cur, which every line of the session reuses (no allocation per line).
	line *line
	cur  line
}

// heavy moves the gate's line to a heavy slot charged to acct: it refuses with
// errServerMemory when the server is near its memory cap (before waiting, and again once
// granted, since memory may have grown meanwhile), and otherwise waits as line.goHeavy
// does. Outside Scheduler.Eval there is no light slot to give up, and nobody to release the heavy
// slot if the evaluation panics: only the release function, which calc calls, frees it.
func (g *sessionGate) heavy(ctx context.Context, deadline time.Time, acct *account) (release func(), err error) {
	if g.h.memoryHigh() {
		return nil, errServerMemory
	}
	l := g.line
	if l == nil {
		l = &line{s: g.h.slots}
	}
	release, err = l.goHeavy(ctx, deadline, acct)
	if err != nil {
		return nil, err
	}
	if g.h.memoryHigh() {
		release()
		return nil, errServerMemory
	}
	return release, nil
}

// begin takes a light slot for one line of the session of gate g (nil: a session whose
// gate is not this scheduler's, which cannot go heavy through it). The caller must call
// end with the line it returns however the evaluation ends, panics included (defer it):
// whatever slot the line holds then is released. Two calls rather than one taking the
// evaluation as a closure: the closure's captured results escaped to the heap, an
// allocation a line.
func (h *Scheduler) begin(ctx context.Context, g *sessionGate) (*line, error) {
	var l *line
	if g != nil {
		l = &g.cur
	} else {
		l = new(line) // a session that is not this scheduler's: Scheduler.Eval always has g
	}
	if err := h.slots.begin(ctx, l); err != nil {
		return nil, err
	}
	if g != nil {
		g.line = l
	}
	return l, nil
}

// end releases what begin's line l still holds.
func (h *Scheduler) end(g *sessionGate, l *line) {
	if g != nil {
		g.line = nil
	}
	l.end()
}

// memoryHigh reports whether the server's retained memory has reached the refusal
// threshold (see memory.go).
func (h *Scheduler) memoryHigh() bool {
	return h.refuseAt > 0 && h.memoryUsage() >= h.refuseAt
}
