package cluster

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"wscalc/rooms"
)

// roomMembersSubject is where every instance publishes its room members
// (wscalc.roommembers.<instance>): on change and every heartbeat, all its rooms at once.
const roomMembersSubject = "wscalc.roommembers"

type roomMembersMsg struct {
	Instance string                    `json:"instance"`
	Boot     string                    `json:"boot"`
	Rooms    map[string][]rooms.Member `json:"rooms,omitempty"`
	Bye      bool                      `json:"bye,omitempty"`
	// Summary: Rooms left out, as no other instance was known to the sender (a lone
	// instance's heartbeat would otherwise encode all its members every 2 s for nobody);
	// a receiver that knows the sender keeps its rooms, one that does not answers with its
	// own, and the sender, now knowing it, publishes them in full.
	Summary bool `json:"summary,omitempty"`
}

type roomPeer struct {
	boot    string
	rooms   map[string][]rooms.Member
	expires time.Time
}

// RoomMembers is the members of rooms on the other instances of a cluster (rooms.md §10):
// each instance publishes its own on change and every 2 s, and says goodbye on Close; one
// that misses 3 heartbeats is dropped, and its members leave their rooms.
type RoomMembers struct {
	nc       *nats.Conn
	instance string
	boot     string
	timings  presenceTimings
	changed  func(room string, before, after []rooms.Member)
	sub      *nats.Subscription
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	changes  chan struct{} // Set asks the loop to publish (buffered: one pending is enough)

	mu    sync.Mutex
	local map[string][]rooms.Member
	peers map[string]*roomPeer
}

// NewRoomMembers follows the room members of the other instances on node; changed is
// called with a room's members elsewhere before and after each change (from a goroutine
// of the connection's; it must not call RoomMembers).
func NewRoomMembers(node *Node, changed func(room string, before, after []rooms.Member)) (*RoomMembers, error) {
	return NewRoomMembersOn(node.Conn(), node.Instance(), changed)
}

// NewRoomMembersOn is NewRoomMembers on a connection of one's own (tests).
func NewRoomMembersOn(nc *nats.Conn, instance string, changed func(room string, before, after []rooms.Member)) (*RoomMembers, error) {
	return newRoomMembers(nc, instance, changed, defaultPresenceTimings)
}

func newRoomMembers(nc *nats.Conn, instance string, changed func(string, []rooms.Member, []rooms.Member), t presenceTimings) (*RoomMembers, error) {
	r := &RoomMembers{nc: nc, instance: instance, boot: nuid.Next(), timings: t, changed: changed,
		stop: make(chan struct{}), done: make(chan struct{}), changes: make(chan struct{}, 1),
		local: map[string][]rooms.Member{}, peers: map[string]*roomPeer{}}
	sub, err := nc.Subscribe(roomMembersSubject+".>", r.receive)
	if err != nil {
		return nil, err
	}
	r.sub = sub
	r.publish(false) // hello: the others answer with theirs (see receive)
	go r.loop()
	return r, nil
}

// Set records this instance's members of room (none: it has none here); they are
// published at most 4 times a second (each message holds all of this instance's rooms, so
// publishing on every join made n joins cost O(n²)), and not at all while no other
// instance is known (a new one says hello and is answered, see receive).
func (r *RoomMembers) Set(room string, members []rooms.Member) {
	r.mu.Lock()
	if len(members) == 0 {
		delete(r.local, room)
	} else {
		r.local[room] = members
	}
	r.mu.Unlock()
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

// Members returns the room's members on the other instances.
func (r *RoomMembers) Members(room string) []rooms.Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	var list []rooms.Member
	for _, p := range r.peers {
		list = append(list, p.rooms[room]...)
	}
	return list
}

// Close says goodbye and stops.
func (r *RoomMembers) Close() { r.close(true) }

// close stops; without goodbye, as an instance that dies (tests).
func (r *RoomMembers) close(goodbye bool) {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		r.sub.Unsubscribe()
		if goodbye {
			r.publish(true)
			r.nc.Flush()
		}
	})
}

func (r *RoomMembers) loop() {
	defer close(r.done)
	tick := time.NewTicker(r.timings.heartbeat)
	defer tick.Stop()
	var last time.Time           // the last publish
	var pending <-chan time.Time // a change waits for minInterval to pass
	changes := r.changes
	for {
		select {
		case <-r.stop:
			return
		case now := <-tick.C:
			r.publish(false)
			last = now
			r.sweep(now)
		case <-changes:
			if wait := r.timings.minInterval - time.Since(last); wait > 0 {
				pending, changes = time.After(wait), nil
				continue
			}
			last = r.publishChange()
		case <-pending:
			pending, changes = nil, r.changes
			last = r.publishChange()
		}
	}
}

// publishChange publishes this instance's members after a change, if another instance
// is there to hear it, and returns the time it did (or the zero time).
func (r *RoomMembers) publishChange() time.Time {
	r.mu.Lock()
	alone := len(r.peers) == 0
	r.mu.Unlock()
	if alone {
		return time.Time{}
	}
	r.publish(false)
	return time.Now()
}

func (r *RoomMembers) publish(bye bool) {
	m := roomMembersMsg{Instance: r.instance, Boot: r.boot, Bye: bye}
	r.mu.Lock()
	m.Summary = !bye && len(r.peers) == 0
	if !bye && !m.Summary {
		m.Rooms = make(map[string][]rooms.Member, len(r.local))
		for room, list := range r.local {
			m.Rooms[room] = list
		}
	}
	data, err := json.Marshal(m)
	r.mu.Unlock()
	if err == nil {
		_ = r.nc.Publish(roomMembersSubject+"."+r.instance, data) // best effort: the next heartbeat repeats it
	}
}

func (r *RoomMembers) receive(msg *nats.Msg) {
	if msg.Subject == roomMembersSubject+"."+r.instance {
		return // its own: not decoded (it holds all its rooms)
	}
	var m roomMembersMsg
	if json.Unmarshal(msg.Data, &m) != nil || m.Boot == r.boot {
		return
	}
	r.mu.Lock()
	old := r.peers[m.Instance]
	var before map[string][]rooms.Member
	if old != nil {
		before = old.rooms
	}
	known := old != nil && old.boot == m.Boot
	if m.Summary && known {
		m.Rooms = old.rooms
	}
	if m.Bye {
		delete(r.peers, m.Instance)
		m.Rooms = nil
	} else {
		r.peers[m.Instance] = &roomPeer{boot: m.Boot, rooms: m.Rooms,
			expires: time.Now().Add(time.Duration(r.timings.missed) * r.timings.heartbeat)}
	}
	changes := r.diffLocked(m.Instance, before, m.Rooms)
	r.mu.Unlock()
	if !known && !m.Bye {
		r.publish(false) // a new instance: tell it this one's members without waiting for a heartbeat
	}
	changes()
}

// sweep drops the instances that missed their heartbeats.
func (r *RoomMembers) sweep(now time.Time) {
	r.mu.Lock()
	var calls []func()
	for name, p := range r.peers {
		if now.After(p.expires) {
			delete(r.peers, name)
			calls = append(calls, r.diffLocked(name, p.rooms, nil))
		}
	}
	r.mu.Unlock()
	for _, c := range calls {
		c()
	}
}

// diffLocked returns the calls of changed for the rooms whose members on the instance went
// from before to after.
func (r *RoomMembers) diffLocked(instance string, before, after map[string][]rooms.Member) func() {
	type change struct {
		room          string
		before, after []rooms.Member
	}
	var changes []change
	others := func(room string) []rooms.Member {
		var list []rooms.Member
		for name, p := range r.peers {
			if name != instance {
				list = append(list, p.rooms[room]...)
			}
		}
		return list
	}
	seen := map[string]bool{}
	for _, m := range []map[string][]rooms.Member{before, after} {
		for room := range m {
			if seen[room] || sameMembers(before[room], after[room]) {
				seen[room] = true
				continue
			}
			seen[room] = true
			rest := others(room)
			changes = append(changes, change{room, append(append([]rooms.Member(nil), rest...), before[room]...),
				append(rest, after[room]...)})
		}
	}
	return func() {
		for _, c := range changes {
			r.changed(c.room, c.before, c.after)
		}
	}
}

func sameMembers(a, b []rooms.Member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
