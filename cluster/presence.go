package cluster

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// Counts are one instance's figures, or their sum over the live instances.
type Counts struct {
	Total int // clients, every transport
	WS    int // WebSocket clients
	TCP   int // line-protocol clients
	// Members are the room members connected (reserved for rooms; 0 until then).
	Members int
}

func (c Counts) add(o Counts) Counts {
	return Counts{Total: c.Total + o.Total, WS: c.WS + o.WS, TCP: c.TCP + o.TCP, Members: c.Members + o.Members}
}

// nonNegative clamps each figure at 0, so that a bad or racing report never makes a sum
// negative.
func (c Counts) nonNegative() Counts {
	return Counts{Total: max(c.Total, 0), WS: max(c.WS, 0), TCP: max(c.TCP, 0), Members: max(c.Members, 0)}
}

// presenceSubject is where every instance publishes its counts (wscalc.presence.<name>).
const presenceSubject = "wscalc.presence"

// presenceTimings are the presence protocol's timings (rooms.md §10).
type presenceTimings struct {
	heartbeat   time.Duration // an instance publishes at least this often
	minInterval time.Duration // and at most once per this
	missed      int           // heartbeats missed before an instance is dropped
}

var defaultPresenceTimings = presenceTimings{heartbeat: 2 * time.Second, minInterval: 250 * time.Millisecond, missed: 3}

// presenceMsg is the message on the wire (JSON).
type presenceMsg struct {
	Instance string `json:"instance"`
	Boot     string `json:"boot"`    // unique per start of the instance
	Started  int64  `json:"started"` // Unix nanoseconds of that start
	EveryMS  int64  `json:"every_ms"`
	Clients  struct {
		Total int `json:"total"`
		WS    int `json:"ws"`
		TCP   int `json:"tcp"`
	} `json:"clients"`
	Members int  `json:"members"`
	Bye     bool `json:"bye,omitempty"`
}

// peer is the last report of another instance.
type peer struct {
	boot    string
	started int64
	counts  Counts
	expires time.Time
}

// Presence is the sum of the counts of the live instances of a cluster: each instance
// publishes its own on change (at most 4 a second) and every 2 s, and says goodbye on
// Close; one that misses 3 heartbeats is dropped. An instance that restarts under the same
// name replaces its old report. Create it with NewPresence; Close it before the Node.
type Presence struct {
	nc       *nats.Conn
	log      *slog.Logger
	instance string
	boot     string
	started  int64
	local    func() Counts
	timings  presenceTimings
	sub      *nats.Subscription

	kick chan struct{} // asks the loop to publish soon (a new instance appeared)
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu        sync.Mutex
	peers     map[string]*peer // by instance name; this one is not in it
	subs      map[chan struct{}]struct{}
	last      Counts // the global counts last notified
	lastN     int    // and the instances
	warnedDup bool   // another instance with this name was reported
}

// NewPresence starts publishing this instance's counts (local, re-read after each value
// on changes; changes may be nil) on node and following the others'. instance is the
// name the others know it by, normally node.Instance().
func NewPresence(node *Node, instance string, local func() Counts, changes <-chan struct{}) (*Presence, error) {
	return newPresence(node.Conn(), node.log, instance, local, changes, defaultPresenceTimings)
}

func newPresence(nc *nats.Conn, log *slog.Logger, instance string, local func() Counts, changes <-chan struct{}, t presenceTimings) (*Presence, error) {
	if err := checkInstance(instance); err != nil {
		return nil, fmt.Errorf("cluster: instance name %q: %v", instance, err) // it is a subject token
	}
	p := &Presence{
		nc: nc, log: log, instance: instance, boot: nuid.Next(), started: time.Now().UnixNano(),
		local: local, timings: t,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		peers: make(map[string]*peer), subs: make(map[chan struct{}]struct{}),
	}
	p.last, p.lastN = p.local().nonNegative(), 1
	sub, err := nc.Subscribe(presenceSubject+".>", p.receive)
	if err != nil {
		return nil, err
	}
	p.sub = sub
	go p.loop(changes)
	return p, nil
}

// Global is the sum of the counts over the live instances, this one's taken live.
func (p *Presence) Global() Counts {
	g, _ := p.snapshot()
	return g
}

// Instances is the number of live instances, this one included.
func (p *Presence) Instances() int {
	_, n := p.snapshot()
	return n
}

func (p *Presence) snapshot() (Counts, int) {
	sum := p.local().nonNegative()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.peers {
		sum = sum.add(pr.counts)
	}
	return sum, 1 + len(p.peers)
}

// Subscribe returns a channel that receives a value after Global or Instances change.
// Changes while a value is pending are coalesced into it, so a slow reader never blocks
// anything; it reads Global for the current figures. cancel releases the subscription.
func (p *Presence) Subscribe() (changes <-chan struct{}, cancel func()) {
	ch := make(chan struct{}, 1)
	p.mu.Lock()
	p.subs[ch] = struct{}{}
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(p.subs, ch)
		p.mu.Unlock()
	}
}

// notify tells the subscribers when the figures differ from those last told.
func (p *Presence) notify() {
	g, n := p.snapshot()
	p.mu.Lock()
	defer p.mu.Unlock()
	if g == p.last && n == p.lastN {
		return
	}
	p.last, p.lastN = g, n
	for ch := range p.subs {
		select {
		case ch <- struct{}{}:
		default: // a change is already pending for this subscriber
		}
	}
}

// Close says goodbye, so that the others drop this instance at once, and stops.
func (p *Presence) Close() { p.close(true) }

// close stops; without goodbye the others drop this instance only when its heartbeats
// stop coming (the tests' silent death).
func (p *Presence) close(goodbye bool) {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		_ = p.sub.Unsubscribe()
		if goodbye {
			p.publish(true)
			_ = p.nc.FlushTimeout(time.Second)
		}
	})
}

// loop publishes on a local change (at most once per minInterval), at every heartbeat and
// soon after a new instance appears, and drops the instances that went silent.
func (p *Presence) loop(changes <-chan struct{}) {
	defer close(p.done)
	heartbeat := time.NewTicker(p.timings.heartbeat)
	defer heartbeat.Stop()
	sweep := time.NewTicker(p.timings.heartbeat / 4)
	defer sweep.Stop()
	hold := time.NewTimer(time.Hour) // fires when a held-back publish may go
	hold.Stop()
	defer hold.Stop()
	var lastPub time.Time
	want, holding := true, false // the first report goes at once: a hello
	for {
		if want && !holding {
			if wait := p.timings.minInterval - time.Since(lastPub); wait > 0 {
				hold.Reset(wait)
				holding = true
			} else {
				p.publish(false)
				lastPub, want = time.Now(), false
			}
		}
		select {
		case <-p.stop:
			return
		case <-changes:
			p.notify()
			want = true
		case <-p.kick:
			want = true
		case <-heartbeat.C:
			want = true
		case <-hold.C:
			holding = false
		case now := <-sweep.C:
			p.sweep(now)
		}
	}
}

// publish sends this instance's report (a goodbye when bye). A failure (disconnected) is
// left to the next heartbeat.
func (p *Presence) publish(bye bool) {
	c := p.local().nonNegative()
	m := presenceMsg{Instance: p.instance, Boot: p.boot, Started: p.started,
		EveryMS: p.timings.heartbeat.Milliseconds(), Members: c.Members, Bye: bye}
	m.Clients.Total, m.Clients.WS, m.Clients.TCP = c.Total, c.WS, c.TCP
	data, err := json.Marshal(m)
	if err != nil {
		return
	}
	_ = p.nc.Publish(presenceSubject+"."+p.instance, data)
}

// receive takes another instance's report.
func (p *Presence) receive(msg *nats.Msg) {
	var m presenceMsg
	if err := json.Unmarshal(msg.Data, &m); err != nil || m.Instance == "" || m.Boot == p.boot {
		return
	}
	if m.Instance == p.instance {
		p.warnDuplicate()
		return
	}
	if p.update(m) {
		select {
		case p.kick <- struct{}{}: // let the newcomer hear from this one soon
		default:
		}
	}
	p.notify()
}

// update records m and reports whether it comes from an instance (or a start of one)
// not known before.
func (p *Presence) update(m presenceMsg) (isNew bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.peers[m.Instance]
	switch {
	case m.Bye:
		if cur != nil && cur.boot == m.Boot {
			delete(p.peers, m.Instance)
		}
		return false
	case cur != nil && cur.boot != m.Boot && m.Started < cur.started:
		return false // a late report of an earlier start of a restarted instance
	}
	every := time.Duration(m.EveryMS) * time.Millisecond
	if every <= 0 {
		every = p.timings.heartbeat
	}
	counts := Counts{Total: m.Clients.Total, WS: m.Clients.WS, TCP: m.Clients.TCP, Members: m.Members}.nonNegative()
	p.peers[m.Instance] = &peer{boot: m.Boot, started: m.Started, counts: counts,
		expires: time.Now().Add(time.Duration(p.timings.missed) * every)}
	return cur == nil || cur.boot != m.Boot
}

// sweep drops the instances whose heartbeats stopped.
func (p *Presence) sweep(now time.Time) {
	p.mu.Lock()
	dropped := false
	for name, pr := range p.peers {
		if now.After(pr.expires) {
			delete(p.peers, name)
			dropped = true
		}
	}
	p.mu.Unlock()
	if dropped {
		p.notify()
	}
}

func (p *Presence) warnDuplicate() {
	p.mu.Lock()
	warned := p.warnedDup
	p.warnedDup = true
	p.mu.Unlock()
	if !warned {
		// Both would count only themselves for the name; the fix is the operator's.
		p.log.Warn("another instance has this instance's name; give each a unique -instance", "instance", p.instance)
	}
}
