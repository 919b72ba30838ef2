package cluster

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"wscalc/rooms"
)

// wireLog records the room members messages an instance publishes.
type wireLog struct {
	mu   sync.Mutex
	msgs []roomMembersMsg
}

func watchWire(t *testing.T, n *Node, instance string) *wireLog {
	w := &wireLog{}
	sub, err := n.Conn().Subscribe(roomMembersSubject+"."+instance, func(msg *nats.Msg) {
		var m roomMembersMsg
		if err := json.Unmarshal(msg.Data, &m); err != nil {
			t.Error(err)
		}
		w.mu.Lock()
		w.msgs = append(w.msgs, m)
		w.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return w
}

func (w *wireLog) snapshot() []roomMembersMsg {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]roomMembersMsg(nil), w.msgs...)
}

// What the members of rooms cost on the wire: an instance alone publishes no member
// lists (heartbeats are summaries), one with a peer publishes its changes at most every
// minInterval however many joins come (each message holds all its rooms), and a peer that
// comes later still learns every member at once.
func TestRoomMembersCostOnTheWire(t *testing.T) {
	nodes := startCluster(t, 2)
	timings := presenceTimings{heartbeat: 200 * time.Millisecond, minInterval: 100 * time.Millisecond, missed: 3}
	wire := watchWire(t, nodes[0], "a")
	var wa, wb roomWatch
	a := startRoomMembers(t, nodes[0], "a", &wa, timings)
	const joins = 200
	for i := range joins {
		a.Set(fmt.Sprint("r", i), []rooms.Member{{ID: fmt.Sprint(i), Nick: "m", Transport: "tcp"}})
	}
	time.Sleep(3 * timings.heartbeat)
	for _, m := range wire.snapshot() {
		if !m.Summary || len(m.Rooms) > 0 {
			t.Fatalf("alone, a published %d rooms (summary %v)", len(m.Rooms), m.Summary)
		}
	}

	b := startRoomMembers(t, nodes[1], "b", &wb, timings)
	eventually(t, "b learns a's members", func() bool { return len(b.Members("r199")) == 1 })
	before := len(wire.snapshot())
	start := time.Now()
	for i := range joins {
		a.Set(fmt.Sprint("r", i), []rooms.Member{{ID: fmt.Sprint(i), Nick: "m"}, {ID: fmt.Sprint("x", i), Nick: "n"}})
	}
	eventually(t, "b sees the second members", func() bool { return len(b.Members("r199")) == 2 })
	took := time.Since(start)
	sent := len(wire.snapshot()) - before
	// At most one change message per minInterval and one heartbeat per heartbeat, plus
	// the one already pending: never one per join.
	most := int(took/timings.minInterval) + int(took/timings.heartbeat) + 2
	if sent > most {
		t.Fatalf("%d joins in %v: a published %d messages (at most %d)", joins, took, sent, most)
	}
}
