package session_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/cluster"
	"wscalc/presence"
	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/sched"
	"wscalc/session"
)

// instance is one wscalc instance's rooms on a shared NATS server, with presence of the
// others' members (cluster.RoomMembers) on a connection of its own.
type instance struct {
	cfg     *session.Config
	members *cluster.RoomMembers
	conn    interface{ Close() }
}

func startInstance(t *testing.T, ts *roomstest.Server, name string, limits rooms.Limits) *instance {
	d := session.NewRooms(nil, rooms.RoomConfig{ExpiryQuiet: 100 * time.Millisecond}, limits)
	nc := ts.Conn()
	members, err := cluster.NewRoomMembersOn(nc, name, d.RemoteChanged)
	require.NoError(t, err)
	t.Cleanup(members.Close)
	d.SetRemote(members)
	d.Open(ts.Log())
	t.Cleanup(d.Close)
	cfg := &session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{MaxMemory: -1}),
		Logger: slog.New(slog.DiscardHandler), Rooms: d}
	require.NoError(t, cfg.Prepare(presence.TCP))
	return &instance{cfg: cfg, members: members, conn: nc}
}

// A room whose members were all on an instance that died is forgotten after the TTL by
// the instances that survive, although none of them ever held it (rooms.md §1, §10).
func TestRoomOfADeadInstanceExpires(t *testing.T) {
	ts := roomstest.Start(t)
	limits := rooms.DefaultLimits()
	limits.RoomTTL = 300 * time.Millisecond
	a, b := startInstance(t, ts, "a", limits), startInstance(t, ts, "b", limits)
	log := ts.Log()
	kb := newSink()
	bob := newMember(t, b.cfg, kb)
	line(t, bob, kb, "join lab")
	require.Equal(t, "x = 1", line(t, bob, kb, "x = 1"))
	require.Eventually(t, func() bool { return a.cfg.Rooms.Count("lab") == 1 }, patience, 10*time.Millisecond)

	b.conn.Close()      // b dies: no goodbye, no more heartbeats
	b.cfg.Rooms.Close() // and its expiries die with it
	start := time.Now()
	require.Eventually(t, func() bool { return a.cfg.Rooms.Count("lab") == 0 }, 3*patience, 50*time.Millisecond,
		"presence drops b's members")
	t.Logf("b's members left lab after %v", time.Since(start).Round(100*time.Millisecond))
	exists := func() bool {
		_, ok, err := log.Exists(context.Background(), "lab")
		require.NoError(t, err)
		return ok
	}
	require.Eventually(t, func() bool { return !exists() }, patience, 20*time.Millisecond, "lab is forgotten")

	// Joining it again on a starts a new room.
	ka := newSink()
	alice := newMember(t, a.cfg, ka)
	require.Regexp(t, `^joined lab as guest-[0-9a-f]{4} \(1 member, seq 0\)$`, line(t, alice, ka, "join lab"))
	require.Contains(t, line(t, alice, ka, "x"), "unknown name 'x'")
}
