package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/presence"
	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/sched"
	"wscalc/session"
)

// patience bounds the tests' waits; a guard, not a speed assertion.
const patience = 10 * time.Second

// sink is a member's connection: it records the lines, and blocks while hold is set.
type sink struct {
	mu    sync.Mutex
	lines []string
	hold  chan struct{} // Deliver waits until it is closed
	cut   chan struct{}
}

func newSink() *sink { return &sink{cut: make(chan struct{})} }

func (k *sink) Deliver(msgs []session.RoomMsg) error {
	if k.hold != nil {
		<-k.hold
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, m := range msgs {
		session.TextLines(m, func(s string) error { k.lines = append(k.lines, s); return nil })
	}
	return nil
}
func (k *sink) TooFarBehind()   { close(k.cut) }
func (k *sink) MembersChanged() {}
func (k *sink) last() string    { k.mu.Lock(); defer k.mu.Unlock(); return k.lines[len(k.lines)-1] }
func (k *sink) all() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.lines...)
}
func (k *sink) count() int { k.mu.Lock(); defer k.mu.Unlock(); return len(k.lines) }

var _ session.RoomSink = (*sink)(nil)

func roomsConfig(t *testing.T, limits calc.Limits) *session.Config {
	d := session.NewRooms(roomstest.Start(t).Log(), rooms.RoomConfig{}, rooms.DefaultLimits())
	t.Cleanup(d.Close)
	cfg := &session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{MaxMemory: -1}),
		Logger: slog.New(slog.DiscardHandler), Limits: limits, Rooms: d}
	require.NoError(t, cfg.Prepare(presence.TCP))
	return cfg
}

func newMember(t *testing.T, cfg *session.Config, k *sink) *session.Session {
	s := new(session.Session)
	s.Init(context.Background(), cfg, "192.0.2.1:1")
	s.SetRoomSink(k)
	t.Cleanup(func() { s.EndRoom(); s.Cancel() })
	return s
}

// line hands a line in, as a transport does, and waits for its reply.
func line(t *testing.T, s *session.Session, k *sink, l string) string {
	t.Helper()
	n := k.count()
	handled, _ := s.RoomLine(l, nil)
	require.True(t, handled, l)
	require.Eventually(t, func() bool { return k.count() > n }, patience, time.Millisecond, l)
	return k.all()[n]
}

// A member that does not read is cut off after rooms.MaxUnsent messages waiting, and the
// room goes on at its pace meanwhile.
func TestSlowMemberIsCutOff(t *testing.T) {
	cfg := roomsConfig(t, calc.Limits{})
	slow, fast := newSink(), newSink()
	slow.hold = make(chan struct{})
	defer close(slow.hold)
	a, b := newMember(t, cfg, slow), newMember(t, cfg, fast)
	handled, _ := a.RoomLine("join lab", nil)
	require.True(t, handled)
	require.Regexp(t, `^joined lab as guest-[0-9a-f]{4} \(2 members, seq 0\)$`, line(t, b, fast, "join lab"))
	for i := range rooms.MaxUnsent + 1 {
		require.Equal(t, fmt.Sprint(i), line(t, b, fast, fmt.Sprintf("x = %d", i))[4:])
	}
	select {
	case <-slow.cut:
	case <-time.After(patience):
		t.Fatal("the slow member was not cut off")
	}
	require.Equal(t, rooms.CloseTooFarBehind, a.Reason())
}

// The budget stays with the member: join, leave and nick cost rooms.CommandCost each, and
// a line refused for the budget is not an event.
func TestRoomBudgetPerMember(t *testing.T) {
	cfg := roomsConfig(t, calc.Limits{Budget: 2*rooms.CommandCost + 500})
	ka, kb := newSink(), newSink()
	a, b := newMember(t, cfg, ka), newMember(t, cfg, kb)
	require.Contains(t, line(t, a, ka, "join lab"), "(1 member, seq 0)")
	require.Equal(t, "x = 2", line(t, a, ka, "x = 2"))
	require.Contains(t, line(t, a, ka, "nick alice"), "is now alice")
	require.Contains(t, line(t, a, ka, "nick bob"), "Error: session budget exhausted")
	require.Contains(t, line(t, b, kb, "join lab"), "(2 members, seq 1)", "b has a budget of its own")
}

// A private session's line costs the room checks no allocation (nor lock).
func TestPrivateLineAllocatesNothingForRooms(t *testing.T) {
	cfg := &session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{MaxMemory: -1}),
		Logger: slog.New(slog.DiscardHandler), Rooms: session.NewRooms(nil, rooms.RoomConfig{}, rooms.DefaultLimits())}
	require.NoError(t, cfg.Prepare(presence.TCP))
	s := newMember(t, cfg, newSink())
	for _, l := range []string{"2 + 3 * 4", "  x = 1", "Who * 2", "nick = 3", "# join lab"} {
		allocs := testing.AllocsPerRun(100, func() {
			if handled, _ := s.RoomLine(l, nil); handled {
				t.Fatalf("%q handled as a room line", l)
			}
		})
		require.Zero(t, allocs, l)
	}
}

func BenchmarkPrivateLineRoomCheck(b *testing.B) {
	var s session.Session
	cfg := &session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{MaxMemory: -1}),
		Logger: slog.New(slog.DiscardHandler), Rooms: session.NewRooms(nil, rooms.RoomConfig{}, rooms.DefaultLimits())}
	require.NoError(b, cfg.Prepare(presence.TCP))
	s.Init(context.Background(), cfg, "192.0.2.1:1")
	s.SetRoomSink(newSink())
	for b.Loop() {
		s.RoomLine("2 + 3 * 4", nil)
	}
}

// A room's members message is encoded once until its members change (a join, a rename),
// and then again from the new list.
func TestMembersMessageEncodedOncePerChange(t *testing.T) {
	cfg := roomsConfig(t, calc.Limits{})
	d := cfg.Rooms
	ka, kb := newSink(), newSink()
	a, b := newMember(t, cfg, ka), newMember(t, cfg, kb)
	line(t, a, ka, "join lab")
	encodes := 0
	encode := func(total int, list []rooms.Member) ([]byte, error) {
		encodes++
		nicks := make([]string, 0, len(list))
		for _, m := range list {
			nicks = append(nicks, m.Nick)
		}
		return []byte(fmt.Sprint(total, nicks)), nil
	}
	first, err := d.MembersMessage("lab", encode)
	require.NoError(t, err)
	again, err := d.MembersMessage("lab", encode)
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Equal(t, 1, encodes)

	line(t, b, kb, "join lab")
	line(t, b, kb, "nick zed")
	after, err := d.MembersMessage("lab", encode)
	require.NoError(t, err)
	require.Equal(t, 2, encodes)
	require.Regexp(t, `^2 \[guest-[0-9a-f]{4} zed\]$`, string(after))
}
