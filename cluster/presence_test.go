package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeLocal is an instance's own counts with their change channel, as the server's
// presence gives them.
type fakeLocal struct {
	mu      sync.Mutex
	c       Counts
	changes chan struct{}
}

func newFakeLocal(c Counts) *fakeLocal { return &fakeLocal{c: c, changes: make(chan struct{}, 1)} }

func (f *fakeLocal) get() Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.c
}

func (f *fakeLocal) set(c Counts) {
	f.mu.Lock()
	f.c = c
	f.mu.Unlock()
	select {
	case f.changes <- struct{}{}:
	default:
	}
}

// fast are timings that make the tests quick: a dead instance is dropped after 600 ms.
var fast = presenceTimings{heartbeat: 200 * time.Millisecond, minInterval: 20 * time.Millisecond, missed: 3}

func startPresence(t *testing.T, n *Node, instance string, local *fakeLocal, timings presenceTimings) *Presence {
	t.Helper()
	p, err := newPresence(n.Conn(), n.log, instance, local.get, local.changes, timings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// waitGlobal waits until every presence sees want over instances instances.
func waitGlobal(t *testing.T, want Counts, instances int, ps ...*Presence) {
	t.Helper()
	for i, p := range ps {
		eventually(t, fmt.Sprintf("presence %d sees %+v over %d instances (now %+v over %d)", i, want, instances, p.Global(), p.Instances()),
			func() bool { return p.Global() == want && p.Instances() == instances })
	}
}

// The counts of three instances on three nodes add up everywhere, follow a change, and
// heal when one dies without a goodbye.
func TestPresenceSumsAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	locals := []*fakeLocal{
		newFakeLocal(Counts{Total: 3, WS: 1, TCP: 2}),
		newFakeLocal(Counts{Total: 10, WS: 10}),
		newFakeLocal(Counts{Total: 100, TCP: 100, Members: 7}),
	}
	var ps []*Presence
	for i, n := range nodes {
		ps = append(ps, startPresence(t, n, n.Instance(), locals[i], fast))
	}
	waitGlobal(t, Counts{Total: 113, WS: 11, TCP: 102, Members: 7}, 3, ps...)

	changes, cancel := ps[0].Subscribe()
	defer cancel()
	locals[1].set(Counts{Total: 12, WS: 11, TCP: 1})
	waitGlobal(t, Counts{Total: 115, WS: 12, TCP: 103, Members: 7}, 3, ps...)
	select {
	case <-changes:
	default:
		t.Error("no change notified to a subscriber of node0 after node1's counts changed")
	}

	// Heartbeats keep the instances alive well past the time that drops a silent one.
	time.Sleep(4 * fast.heartbeat * time.Duration(fast.missed))
	if n := ps[0].Instances(); n != 3 {
		t.Fatalf("Instances() = %d with all alive, want 3", n)
	}

	ps[2].close(false) // dies: no goodbye
	waitGlobal(t, Counts{Total: 15, WS: 12, TCP: 3}, 2, ps[0], ps[1])
}

// An embedded server that stops (the process was killed) is dropped by the others.
func TestPresenceServerDies(t *testing.T) {
	nodes := startCluster(t, 3)
	var ps []*Presence
	for _, n := range nodes {
		ps = append(ps, startPresence(t, n, n.Instance(), newFakeLocal(Counts{Total: 1, WS: 1}), fast))
	}
	waitGlobal(t, Counts{Total: 3, WS: 3}, 3, ps...)
	nodes[1].srv.Shutdown() // as kill -9 would: its connections just close
	waitGlobal(t, Counts{Total: 2, WS: 2}, 2, ps[0], ps[2])
}

// A goodbye drops the instance at once, without waiting for missed heartbeats: with
// heartbeats a minute apart, only the hello (and the answers it prompts) and the goodbye
// carry news.
func TestPresenceGoodbye(t *testing.T) {
	nodes := startCluster(t, 2)
	slow := presenceTimings{heartbeat: time.Minute, minInterval: 20 * time.Millisecond, missed: 3}
	a := startPresence(t, nodes[0], "a", newFakeLocal(Counts{Total: 1, TCP: 1}), slow)
	roundTrip(t, nodes[0], nodes[1]) // interest has crossed the route
	b := startPresence(t, nodes[1], "b", newFakeLocal(Counts{Total: 2, WS: 2}), slow)
	waitGlobal(t, Counts{Total: 3, WS: 2, TCP: 1}, 2, a, b)
	b.Close()
	waitGlobal(t, Counts{Total: 1, TCP: 1}, 1, a)
}

// An instance that restarts under the same name replaces its old report (no double
// count), and a late report of the old start is ignored.
func TestPresenceRestartSameName(t *testing.T) {
	n := start(t, Config{Instance: "solo"})
	a := startPresence(t, n, "a", newFakeLocal(Counts{Total: 1, WS: 1}), fast)
	old := startPresence(t, n, "b", newFakeLocal(Counts{Total: 5, TCP: 5}), fast)
	waitGlobal(t, Counts{Total: 6, WS: 1, TCP: 5}, 2, a)
	old.close(false) // killed; restarted at once
	restarted := startPresence(t, n, "b", newFakeLocal(Counts{Total: 2, TCP: 2}), fast)
	waitGlobal(t, Counts{Total: 3, WS: 1, TCP: 2}, 2, a, restarted)

	late := presenceMsg{Instance: "b", Boot: old.boot, Started: old.started, EveryMS: 200}
	late.Clients.Total, late.Clients.TCP = 5, 5
	if a.update(late) {
		t.Error("a late report of the old start counted as a new instance")
	}
	if got := a.Global(); got != (Counts{Total: 3, WS: 1, TCP: 2}) {
		t.Errorf("Global() after a late report of the old start = %+v, want the restarted counts", got)
	}
	// The old start's goodbye does not remove the new one.
	if a.update(presenceMsg{Instance: "b", Boot: old.boot, Started: old.started, Bye: true}); a.Instances() != 2 {
		t.Error("a goodbye of the old start removed the restarted instance")
	}
}

// Negative figures, from a bug or a forged report, never make a sum negative.
func TestPresenceNeverNegative(t *testing.T) {
	n := start(t, Config{Instance: "solo"})
	p := startPresence(t, n, "a", newFakeLocal(Counts{Total: -1, WS: -1}), fast)
	bad := presenceMsg{Instance: "b", Boot: "x", Started: 1, EveryMS: 200}
	bad.Clients.Total, bad.Clients.WS, bad.Members = -5, -5, -2
	p.update(bad)
	if got := p.Global(); got != (Counts{}) {
		t.Errorf("Global() = %+v, want all 0", got)
	}
}

// Another instance with this one's name is ignored (and warned about), not added.
func TestPresenceDuplicateName(t *testing.T) {
	n := start(t, Config{Instance: "solo"})
	a := startPresence(t, n, "same", newFakeLocal(Counts{Total: 1, WS: 1}), fast)
	b := startPresence(t, n, "same", newFakeLocal(Counts{Total: 2, WS: 2}), fast)
	time.Sleep(4 * fast.heartbeat)
	if a.Instances() != 1 || b.Instances() != 1 {
		t.Errorf("Instances() = %d, %d for two instances of one name, want 1, 1", a.Instances(), b.Instances())
	}
}

func TestPresenceBadName(t *testing.T) {
	n := start(t, Config{Instance: "solo"})
	if _, err := NewPresence(n, "", func() Counts { return Counts{} }, nil); err == nil {
		t.Error("NewPresence with an empty instance name: no error")
	}
}
