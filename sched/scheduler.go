package sched

import (
	"context"
	"errors"
	"runtime"
	"time"

	"wscalc/calc"
	"wscalc/metrics"
	"wscalc/presence"
)

// Scheduler runs the lines of every session of a server: it is safe for concurrent use.
// Create it with New.
type Scheduler struct {
	bound []transportMetrics // read-only after New

	slots       *slots
	maxMemory   int64 // ≤ 0: no cap
	refuseAt    int64 // retained memory at which heavy lines are refused; ≤ 0: never
	memoryUsage func() int64
	shared      sharedAccounts[accountKey] // see eval.go
}

// Options configure a Scheduler.
type Options struct {
	// MaxConcurrentEvals is the number of light slots: lines running at once that have not
	// gone heavy (see slots.go); 0 means GOMAXPROCS.
	MaxConcurrentEvals int
	// MaxHeavyEvals is the number of heavy slots; 0 means max(1, MaxConcurrentEvals/2).
	MaxHeavyEvals int
	// MaxMemory caps the server's memory, in bytes: New sets the Go runtime's soft memory
	// limit to 90 % of it, and new heavy lines are refused while the retained memory is at
	// 80 % of it or more (see memory.go). 0 means a quarter of the machine's memory (or of
	// its cgroup's limit, if lower); a negative value means no cap, and the runtime's
	// limit is left as it is.
	MaxMemory int64
	// MemoryUsage returns the server's retained memory in bytes, compared with MaxMemory
	// when a line goes heavy; nil reads the Go runtime's live heap and goroutine stacks.
	// Tests set it to simulate memory pressure.
	MemoryUsage func() int64
	// Metrics receives the evaluation events; nil records nothing.
	Metrics *metrics.Metrics
}

// New returns a Scheduler with every slot free. Unless opts.MaxMemory is negative, it sets
// the Go runtime's soft memory limit (a process-wide setting: a server has one scheduler).
func New(opts Options) *Scheduler {
	light := opts.MaxConcurrentEvals
	if light <= 0 {
		light = runtime.GOMAXPROCS(0)
	}
	heavy := opts.MaxHeavyEvals
	if heavy <= 0 {
		heavy = max(1, light/2)
	}
	bound := make([]transportMetrics, 0, len(presence.Transports))
	for _, t := range presence.Transports {
		bound = append(bound, transportMetrics{t, opts.Metrics.Transport(string(t))})
	}
	h := &Scheduler{
		bound:       bound,
		slots:       newSlots(light, heavy, nil),
		maxMemory:   opts.MaxMemory,
		memoryUsage: opts.MemoryUsage,
	}
	if h.maxMemory == 0 {
		h.maxMemory = defaultMaxMemory()
	}
	if h.maxMemory > 0 {
		h.refuseAt = h.maxMemory / 100 * refusePercent
		setSoftLimit(h.maxMemory)
	}
	if h.memoryUsage == nil {
		h.memoryUsage = retainedMemory
	}
	return h
}

// MaxMemory is the server's memory cap in bytes (Options.MaxMemory, or the default it
// stands for), or a negative number for none: for the server's start-up log.
func (h *Scheduler) MaxMemory() int64 { return h.maxMemory }

// transportMetrics are the metrics of one transport's lines.
type transportMetrics struct {
	t presence.Transport
	b *metrics.Bound
}

// boundOf returns the metrics of transport t's lines. A scan of three, not a map: hashing
// the name was a third of recording a line.
func (h *Scheduler) boundOf(t presence.Transport) *metrics.Bound {
	for i := range h.bound {
		if h.bound[i].t == t {
			return h.bound[i].b
		}
	}
	return nil
}

// record counts one line's outcome on transport t: nothing for blank lines, commands and
// quit; cancelled when its context ended first (err is ctx.Err(), as calc returns it);
// refused, with its reason (a calc.Error's Refusal), when a limit refused it; otherwise ok
// or error. Evaluated and refused lines are timed with the evaluation's duration d. kind
// is the result's Kind when err is nil.
func (h *Scheduler) record(t presence.Transport, kind calc.Kind, err error, d time.Duration) {
	b := h.boundOf(t)
	switch {
	case err == nil: // the common case first: no error to compare
		if kind != calc.KindNone && kind != calc.KindText {
			b.Evaluated(true, d)
		}
	case errors.Is(err, calc.ErrQuit):
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		b.Cancelled()
	default:
		if refusal := refusalOf(err); refusal != "" {
			b.Refused(refusal, d)
		} else {
			b.Evaluated(false, d)
		}
	}
}
