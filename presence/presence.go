// Package presence knows who is connected: the live sessions per transport, the counts the
// playground shows (with change notification for the presence pushes), and the metrics of
// sessions started, ended and refused. It knows nothing of evaluation (package sched).
//
// Local is this process; Counts is what clients are shown. Alone they are the same. In a
// cluster of instances, SetGlobal hands Counts and its change notifications to the sum over
// every live instance (package cluster's presence, which SubscribeLocal feeds), so that a
// change on another instance reaches the clients by the same path a local one does.
package presence

import (
	"errors"
	"sync"

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

// Transports lists every transport, for those that keep something per transport.
var Transports = []Transport{TCP, WS, HTTP}

// Counts is a consistent snapshot of the live sessions (its JSON shape is wire.Counts).
type Counts struct {
	Total int
	WS    int
	TCP   int
}

// Presence is safe for concurrent use. Create it with New.
type Presence struct {
	metrics *metrics.Metrics

	mu        sync.Mutex
	counts    map[Transport]int
	subs      map[chan struct{}]struct{} // told when Counts changes
	localSubs map[chan struct{}]struct{} // told when Local changes
	global    func() Counts              // the cluster-wide Counts; nil: Local
}

// New returns a Presence with no sessions; m (nil: none) receives the session events.
func New(m *metrics.Metrics) *Presence {
	return &Presence{
		metrics:   m,
		counts:    make(map[Transport]int),
		subs:      make(map[chan struct{}]struct{}),
		localSubs: make(map[chan struct{}]struct{}),
	}
}

// ErrBusy is returned by Join when the transport already has its maximum of sessions.
var ErrBusy = errors.New("presence: server busy")

// Join registers a session on t unless t already has max sessions (max ≤ 0: no limit).
// The returned leave function unregisters it; it is safe to call more than once.
// A refusal is counted in the metrics as reason "busy".
func (p *Presence) Join(t Transport, max int) (leave func(), err error) {
	p.mu.Lock()
	if max > 0 && p.counts[t] >= max {
		p.mu.Unlock()
		p.metrics.Rejected(string(t), "busy")
		return nil, ErrBusy
	}
	p.counts[t]++
	p.notifyLocked()
	p.mu.Unlock()
	p.metrics.SessionStarted(string(t))

	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.counts[t]--
			p.notifyLocked()
			p.mu.Unlock()
			p.metrics.SessionEnded(string(t))
		})
	}, nil
}

// Reject records a connection refused on t for a reason other than the session limit
// (for example "origin" or "shutdown").
func (p *Presence) Reject(t Transport, reason string) { p.metrics.Rejected(string(t), reason) }

// Local returns the live sessions of this process. The session limits (Join's max) count
// these.
func (p *Presence) Local() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Counts{Total: p.counts[TCP] + p.counts[WS], WS: p.counts[WS], TCP: p.counts[TCP]}
}

// Counts returns the counts clients are shown: Local, or with SetGlobal the sum over the
// live instances of the cluster.
func (p *Presence) Counts() Counts {
	p.mu.Lock()
	global := p.global
	p.mu.Unlock()
	if global == nil {
		return p.Local()
	}
	return global() // it reads Local itself, so not under p.mu
}

// SetGlobal makes Counts return global() (the sum over every live instance, this one's
// included) and tells Subscribe's subscribers after each value on changes instead of after
// each local change: changes covers both, and one source keeps a change from being told
// twice. stop reverts to Local and waits for the goroutine that forwards changes; it is
// safe to call more than once.
func (p *Presence) SetGlobal(global func() Counts, changes <-chan struct{}) (stop func()) {
	p.mu.Lock()
	p.global = global
	p.mu.Unlock()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-changes:
				p.mu.Lock()
				signal(p.subs)
				p.mu.Unlock()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
			p.mu.Lock()
			p.global = nil
			signal(p.subs) // the counts shown are Local again
			p.mu.Unlock()
		})
	}
}

// Subscribe returns a channel that receives a value after Counts changes. Changes that
// happen while a value is pending are coalesced into it, so a slow reader never blocks
// Join and never falls behind; it reads Counts for the current figures. cancel releases
// the subscription.
func (p *Presence) Subscribe() (changes <-chan struct{}, cancel func()) {
	return p.subscribe(p.subs)
}

// SubscribeLocal is Subscribe for Local: what publishes this process's counts to the
// other instances of a cluster listens here.
func (p *Presence) SubscribeLocal() (changes <-chan struct{}, cancel func()) {
	return p.subscribe(p.localSubs)
}

func (p *Presence) subscribe(set map[chan struct{}]struct{}) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	p.mu.Lock()
	set[ch] = struct{}{}
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(set, ch)
		p.mu.Unlock()
	}
}

// notifyLocked tells of a local change: Counts changes with it unless SetGlobal's changes
// tell of that.
func (p *Presence) notifyLocked() {
	signal(p.localSubs)
	if p.global == nil {
		signal(p.subs)
	}
}

// signal sends a value to every channel of set that has none pending.
func signal(set map[chan struct{}]struct{}) {
	for ch := range set {
		select {
		case ch <- struct{}{}:
		default: // a change is already pending for this subscriber
		}
	}
}
