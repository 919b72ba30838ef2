package tcp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/cluster"
	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/session"
	"wscalc/tcp"
)

// withRooms gives the server rooms on log.
func withRooms(t *testing.T, log *rooms.Log) func(*tcp.Config) {
	d := session.NewRooms(log, rooms.RoomConfig{}, rooms.DefaultLimits())
	t.Cleanup(d.Close)
	return func(c *tcp.Config) { c.Session.Rooms = d }
}

// withClusterRooms gives the server rooms as an instance of the cluster on nats.
func withClusterRooms(t *testing.T, nats *roomstest.Server, instance string) (func(*tcp.Config), *session.Rooms) {
	d := session.NewRooms(nats.Log(), rooms.RoomConfig{}, rooms.DefaultLimits())
	remote, err := cluster.NewRoomMembersOn(nats.Conn(), instance, d.RemoteChanged)
	require.NoError(t, err)
	d.SetRemote(remote)
	t.Cleanup(func() {
		remote.Close()
		d.Close()
	})
	return func(c *tcp.Config) { c.Session.Rooms = d }, d
}

// The contract's example (rooms.md, Examples), line for line, on one instance and on two
// instances of one cluster.
func TestRoomTwoMembers(t *testing.T) {
	nats := roomstest.Start(t)
	t.Run("one instance", func(t *testing.T) {
		ts := start(t, withRooms(t, nats.Log()))
		twoMembers(t, ts.addr, ts.addr, "lab", func() {})
	})
	t.Run("two instances", func(t *testing.T) {
		configA, _ := withClusterRooms(t, nats, "a")
		configB, roomsB := withClusterRooms(t, nats, "b")
		a, b := start(t, configA), start(t, configB)
		// Presence is not ordered with events: let b know alice's nick before bob joins.
		twoMembers(t, a.addr, b.addr, "lab-2", func() {
			require.Eventually(t, func() bool {
				m := roomsB.Members("lab-2")
				return len(m) == 1 && m[0].Nick == "alice"
			}, patience, time.Millisecond)
		})
	})
}

func twoMembers(t *testing.T, addrA, addrB, room string, aliceKnown func()) {
	lab := func(s string) string { return strings.ReplaceAll(s, "lab", room) }
	alice := dial(t, addrA)
	require.Regexp(t, `^joined lab(-2)? as guest-[0-9a-f]{4} \(1 member, seq 0\)$`, alice.ask(lab("join lab")))
	require.Regexp(t, `^guest-[0-9a-f]{4} is now alice$`, alice.ask("nick alice"))
	require.Equal(t, "x = 1/3 ≈ 0.33333333333333333333", alice.ask("x = 1/3"))

	aliceKnown()
	bob := dial(t, addrB)
	require.Regexp(t, `^guest-[0-9a-f]{4} is now bob$`, bob.ask("nick bob"))
	bob.send(lab("join lab\n"))
	bob.expect(lab("joined lab as bob (2 members, seq 1)"), "# 1 alice: x = 1/3 → x = 1/3 ≈ 0.33333333333333333333")
	alice.expect(lab("# bob joined lab (2 members)"))
	require.Equal(t, "1", bob.ask("x * 3"))
	alice.expect("# 2 bob: x * 3 → 1")
	require.Equal(t, "2", alice.ask("* 2"))
	bob.expect("# 3 alice: * 2 → 2")
	require.Equal(t, "Error at column 7: division by zero", bob.ask("y = x / 0"))
	alice.expect("# 4 bob: y = x / 0 → Error at column 7: division by zero")
	require.Equal(t, lab("lab (2 members): alice, bob"), bob.ask("who"))
	require.Contains(t, bob.ask("vars"), "x = 1/3")
	require.Equal(t, lab("left lab"), bob.ask("leave"))
	alice.expect(lab("# bob left lab (1 member)"))
	require.Equal(t, "Error: not in a room", bob.ask("who"))
	require.Equal(t, "Error at column 1: unknown name 'x'", bob.ask("x"))
	require.Contains(t, bob.ask("HELP # private"), "; rooms: join NAME, leave, who, nick NAME")
	alice.send("quit\n")
	alice.expectEOF()
}
