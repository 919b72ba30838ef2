package cluster

import (
	"sync"
	"testing"

	"wscalc/rooms"
)

// roomWatch records what RoomMembers tells of one room.
type roomWatch struct {
	mu     sync.Mutex
	last   map[string][]rooms.Member // by room: the members elsewhere after the last change
	events int
}

func (w *roomWatch) changed(room string, _, after []rooms.Member) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[string][]rooms.Member{}
	}
	w.last[room] = after
	w.events++
}

func (w *roomWatch) members(room string) []rooms.Member {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[room]
}

func startRoomMembers(t *testing.T, n *Node, instance string, w *roomWatch, timings presenceTimings) *RoomMembers {
	t.Helper()
	r, err := newRoomMembers(n.Conn(), instance, w.changed, timings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// Each instance learns the others' room members (a late one at once), renames, leaves;
// an instance that dies silently has its members leave after the missed heartbeats, one
// that says goodbye at once.
func TestRoomMembersAcrossInstances(t *testing.T) {
	nodes := startCluster(t, 3)
	var wa, wb, wc roomWatch
	a := startRoomMembers(t, nodes[0], "a", &wa, fast)
	alice := rooms.Member{ID: "1", Nick: "alice", Transport: "tcp"}
	a.Set("lab", []rooms.Member{alice})
	b := startRoomMembers(t, nodes[1], "b", &wb, fast)
	eventually(t, "b sees alice in lab", func() bool { return len(b.Members("lab")) == 1 && len(wb.members("lab")) == 1 })
	bob := rooms.Member{ID: "2", Nick: "bob", Transport: "ws"}
	b.Set("lab", []rooms.Member{bob})
	eventually(t, "a sees bob in lab", func() bool { m := a.Members("lab"); return len(m) == 1 && m[0] == bob })

	alice.Nick = "al"
	a.Set("lab", []rooms.Member{alice})
	eventually(t, "b sees the rename", func() bool { m := wb.members("lab"); return len(m) == 1 && m[0].Nick == "al" })

	c := startRoomMembers(t, nodes[2], "c", &wc, fast)
	eventually(t, "c sees both", func() bool { return len(c.Members("lab")) == 2 })

	b.close(false) // dies
	eventually(t, "a and c drop bob", func() bool { return len(a.Members("lab")) == 0 && len(c.Members("lab")) == 1 })
	eventually(t, "c told bob left", func() bool { m := wc.members("lab"); return len(m) == 1 && m[0].ID == "1" })
	a.Close() // goodbye
	eventually(t, "c drops alice", func() bool { return len(c.Members("lab")) == 0 && len(wc.members("lab")) == 0 })
}
