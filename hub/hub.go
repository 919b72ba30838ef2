package hub

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"wscalc/calc"
	"wscalc/metrics"
)

// Transport names a way in. Its text is used in logs, metrics and presence messages.
type Transport string

// The transports of wscalc. HTTP is stateless and never joins; it only evaluates.
const (
	TCP  Transport = "tcp"
	WS   Transport = "ws"
	HTTP Transport = "http"
)

// Counts is a consistent snapshot of the live sessions (its JSON shape is wire.Counts).
type Counts struct {
	Total int
	WS    int
	TCP   int
}

// Hub is safe for concurrent use. Create it with New.
type Hub struct {
	metrics *metrics.Metrics
	bound   map[Transport]*metrics.Bound // read-only after New

	sched       *sched
	maxMemory   int64 // ≤ 0: no cap
	refuseAt    int64 // retained memory at which heavy lines are refused; ≤ 0: never
	memoryUsage func() int64
	shared      sharedAccounts[accountKey] // see eval.go

	mu     sync.Mutex
	counts map[Transport]int
	subs   map[chan struct{}]struct{}
}

// Options configure a Hub.
type Options struct {
	// MaxConcurrentEvals is the number of light slots: lines running at once that have not
	// gone heavy (see sched.go); 0 means GOMAXPROCS.
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
	// Metrics receives session and evaluation events; nil records nothing.
	Metrics *metrics.Metrics
}

// New returns a Hub with no sessions. Unless opts.MaxMemory is negative, it sets the Go
// runtime's soft memory limit (a process-wide setting: a server has one hub).
func New(opts Options) *Hub {
	light := opts.MaxConcurrentEvals
	if light <= 0 {
		light = runtime.GOMAXPROCS(0)
	}
	heavy := opts.MaxHeavyEvals
	if heavy <= 0 {
		heavy = max(1, light/2)
	}
	bound := make(map[Transport]*metrics.Bound)
	for _, t := range []Transport{TCP, WS, HTTP} {
		bound[t] = opts.Metrics.Transport(string(t))
	}
	h := &Hub{
		metrics:     opts.Metrics,
		bound:       bound,
		sched:       newSched(light, heavy, nil),
		maxMemory:   opts.MaxMemory,
		memoryUsage: opts.MemoryUsage,
		counts:      make(map[Transport]int),
		subs:        make(map[chan struct{}]struct{}),
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
func (h *Hub) MaxMemory() int64 { return h.maxMemory }

// ErrBusy is returned by Join when the transport already has its maximum of sessions.
var ErrBusy = errors.New("hub: server busy")

// Join registers a session on t unless t already has max sessions (max ≤ 0: no limit).
// The returned leave function unregisters it; it is safe to call more than once.
// A refusal is counted in the metrics as reason "busy".
func (h *Hub) Join(t Transport, max int) (leave func(), err error) {
	h.mu.Lock()
	if max > 0 && h.counts[t] >= max {
		h.mu.Unlock()
		h.metrics.Rejected(string(t), "busy")
		return nil, ErrBusy
	}
	h.counts[t]++
	h.notifyLocked()
	h.mu.Unlock()
	h.metrics.SessionStarted(string(t))

	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.counts[t]--
			h.notifyLocked()
			h.mu.Unlock()
			h.metrics.SessionEnded(string(t))
		})
	}, nil
}

// Reject records a connection refused on t for a reason other than the session limit
// (for example "origin" or "shutdown").
func (h *Hub) Reject(t Transport, reason string) { h.metrics.Rejected(string(t), reason) }

// Counts returns a snapshot of the live sessions.
func (h *Hub) Counts() Counts {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Counts{Total: h.counts[TCP] + h.counts[WS], WS: h.counts[WS], TCP: h.counts[TCP]}
}

// Subscribe returns a channel that receives a value after the counts change. Changes that
// happen while a value is pending are coalesced into it, so a slow reader never blocks
// Join and never falls behind; it reads Counts for the current figures. cancel releases
// the subscription.
func (h *Hub) Subscribe() (changes <-chan struct{}, cancel func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

func (h *Hub) notifyLocked() {
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // a change is already pending for this subscriber
		}
	}
}

// record counts one line's outcome on transport t: nothing for blank lines, commands and
// quit; cancelled when its context ended first (err is ctx.Err(), as calc returns it);
// refused, with its reason (a calc.Error's Refusal), when a limit refused it; otherwise ok
// or error. Evaluated and refused lines are timed with the evaluation's duration d.
func (h *Hub) record(t Transport, res calc.Result, err error, d time.Duration, refusal string) {
	b := h.bound[t]
	switch {
	case errors.Is(err, calc.ErrQuit), err == nil && (res.Kind == calc.KindNone || res.Kind == calc.KindText):
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		b.Cancelled()
	case err != nil && refusal != "":
		b.Refused(refusal, d)
	default:
		b.Evaluated(err == nil, d)
	}
}
