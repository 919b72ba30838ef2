// Package hub owns the state that every session of a running server shares, whatever its
// transport: the live-session count per transport (with change notification for presence
// pushes), and the gate that bounds how many evaluations run at once, so that one heavy
// session cannot starve the others. Transports depend on hub, never on each other.
package hub

import (
	"errors"
	"runtime"
	"sync"

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

// Counts is a consistent snapshot of the live sessions.
type Counts struct {
	Total int `json:"total"`
	WS    int `json:"ws"`
	TCP   int `json:"tcp"`
}

// Hub is safe for concurrent use. Create it with New.
type Hub struct {
	metrics *metrics.Metrics
	bound   map[Transport]*metrics.Bound // read-only after New
	gate    chan struct{}

	mu     sync.Mutex
	counts map[Transport]int
	subs   map[chan struct{}]struct{}
}

// Options configure a Hub.
type Options struct {
	// MaxConcurrentEvals bounds evaluations in progress at once; 0 means GOMAXPROCS.
	MaxConcurrentEvals int
	// Metrics receives session and evaluation events; nil records nothing.
	Metrics *metrics.Metrics
}

// New returns a Hub with no sessions.
func New(opts Options) *Hub {
	n := opts.MaxConcurrentEvals
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	bound := make(map[Transport]*metrics.Bound)
	for _, t := range []Transport{TCP, WS, HTTP} {
		bound[t] = opts.Metrics.Transport(string(t))
	}
	return &Hub{
		metrics: opts.Metrics,
		bound:   bound,
		gate:    make(chan struct{}, n),
		counts:  make(map[Transport]int),
		subs:    make(map[chan struct{}]struct{}),
	}
}

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

// Eval evaluates line in session s on behalf of transport t, waiting for a free slot of
// the evaluation gate first, and records the outcome. Blank lines and commands are not
// recorded as expressions.
func (h *Hub) Eval(t Transport, s *calc.Session, line string) (calc.Result, error) {
	h.gate <- struct{}{}
	res, err := evalReleasing(h.gate, s, line)
	if errors.Is(err, calc.ErrQuit) || (err == nil && (res.Kind == calc.KindNone || res.Kind == calc.KindText)) {
		return res, err
	}
	h.bound[t].Evaluated(err == nil, s.LastDuration())
	return res, err
}

// evalReleasing evaluates and frees the gate slot even if the evaluation panics (the
// transports recover panics per session), so a slot is never lost.
func evalReleasing(gate chan struct{}, s *calc.Session, line string) (calc.Result, error) {
	defer func() { <-gate }()
	return s.Eval(line)
}
