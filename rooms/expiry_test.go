package rooms

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A join on another instance that this one's presence does not know of yet: the expiry
// here must not forget the room under the new member (who would then get "# lab was
// reset", its variables gone, while it is in the room).
func TestExpiryRacingAJoinElsewhere(t *testing.T) {
	ts := startServer(t)
	logA, logB := ts.instance(), ts.instance()
	limits := DefaultLimits()
	limits.RoomTTL = 0
	var onB atomic.Int64 // B's members as presence tells A: it lags, less than the quiet period
	a := NewRegistry(logA, RoomConfig{ExpiryQuiet: time.Second}, limits, func(string) int { return int(onB.Load()) })
	t.Cleanup(a.Close)
	b := newRegistry(t, logB, limits, nil)
	ctx := testContext(t)
	ra, err := a.Join(ctx, "lab")
	require.NoError(t, err)
	alice := &member{Member: Member{ID: "a", Nick: "alice"}}
	alice.say(t, ra, "x = 1")

	rb, err := b.Join(ctx, "lab") // bob joins on B and gets the room as it is
	require.NoError(t, err)
	bob := join(t, rb, "b", "bob")
	require.Equal(t, "x = 1", vars(t, bob.view.State))
	a.Leave("lab") // alice leaves A before B's presence tells A of bob
	time.Sleep(50 * time.Millisecond)
	onB.Store(1)                        // presence catches up
	time.Sleep(1500 * time.Millisecond) // A's expiry has confirmed, or not

	ev := bob.say(t, rb, "y = x + 1")
	assert.Equal(t, "y = 2", ev.Display, "bob still sees x")
	assert.Equal(t, uint64(2), ev.Seq)
	assert.Equal(t, bob.view.Epoch, ev.Epoch)
	bob.mu.Lock()
	defer bob.mu.Unlock()
	assert.Empty(t, bob.resets, "the room was reset under its member")
}

// Even when presence is slower than the quiet period, an expiry that noted the log before
// a join elsewhere touched it does not forget the room: the log refuses its end mark.
func TestExpiryLosesToATouch(t *testing.T) {
	ts := startServer(t)
	logA, logB := ts.instance(), ts.instance()
	limits := DefaultLimits()
	limits.RoomTTL = 0
	a := NewRegistry(logA, RoomConfig{ExpiryQuiet: time.Second}, limits,
		func(string) int { return 0 }) // presence never tells A of bob
	t.Cleanup(a.Close)
	b := newRegistry(t, logB, limits, nil)
	ctx := testContext(t)
	ra, err := a.Join(ctx, "lab")
	require.NoError(t, err)
	alice := &member{Member: Member{ID: "a", Nick: "alice"}}
	alice.say(t, ra, "x = 1")
	a.Leave("lab")
	time.Sleep(100 * time.Millisecond) // A's expiry has noted the log
	rb, err := b.Join(ctx, "lab")
	require.NoError(t, err)
	bob := join(t, rb, "b", "bob")
	time.Sleep(1500 * time.Millisecond) // A's expiry has tried to confirm

	_, ok, err := logA.Exists(ctx, "lab")
	require.NoError(t, err)
	assert.True(t, ok, "the room was forgotten under its member")
	ev := bob.say(t, rb, "y = x + 1")
	assert.Equal(t, "y = 2", ev.Display)
	assert.Equal(t, uint64(2), ev.Seq)
	bob.mu.Lock()
	defer bob.mu.Unlock()
	assert.Empty(t, bob.resets)
}

// A join that comes right after the room expired gets a new room, never the old one
// forgotten under it: on this instance as on another, whatever the order.
func TestJoinsRightAfterExpiry(t *testing.T) {
	ts := startServer(t)
	logA, logB := ts.instance(), ts.instance()
	limits := DefaultLimits()
	limits.RoomTTL = 0
	a := newRegistry(t, logA, limits, nil)
	b := newRegistry(t, logB, limits, nil)
	ctx := testContext(t)
	for i := range 20 {
		ra, err := a.Join(ctx, "lab")
		require.NoError(t, err)
		alice := &member{Member: Member{ID: "a", Nick: "alice"}}
		alice.say(t, ra, "x = 1")
		a.Leave("lab") // expires at once
		g := a
		if i%2 == 1 {
			g = b
		}
		r, err := g.Join(ctx, "lab")
		require.NoError(t, err)
		bob := &member{Member: Member{ID: "b", Nick: "bob"}}
		var leave func()
		bob.view, leave = r.Subscribe(func(u Update) {
			if u.Reset != nil {
				bob.mu.Lock()
				bob.resets = append(bob.resets, *u.Reset)
				bob.mu.Unlock()
			}
		})
		ev := bob.say(t, r, "y = 2")
		assert.Equal(t, bob.view.Epoch, ev.Epoch, "join %d", i)
		assert.Equal(t, bob.view.Seq+1, ev.Seq, "join %d", i)
		bob.mu.Lock()
		assert.Empty(t, bob.resets, "join %d", i)
		bob.mu.Unlock()
		leave() // as a session leaves: its subscription first
		g.Leave("lab")
		require.Eventually(t, func() bool { // nothing left of any epoch
			evs, err := logA.events(ctx, "lab")
			require.NoError(t, err)
			return len(evs) == 0
		}, 5*time.Second, 5*time.Millisecond, "join %d", i)
	}
}

// A room whose last members were on an instance that died: the instances that survive
// are told (Emptied) and forget it after the TTL, although none of them ever held it.
func TestEmptiedRoomExpiresElsewhere(t *testing.T) {
	ts := startServer(t)
	logA, logB := ts.instance(), ts.instance()
	limits := DefaultLimits()
	limits.RoomTTL = time.Second
	var onB atomic.Int64
	a := newRegistry(t, logA, limits, func(string) int { return int(onB.Load()) })
	b := NewRegistry(logB, RoomConfig{}, limits, nil)
	ctx := testContext(t)
	rb, err := b.Join(ctx, "lab")
	require.NoError(t, err)
	onB.Store(1)
	bob := &member{Member: Member{ID: "b", Nick: "bob"}}
	bob.say(t, rb, "x = 1")
	b.Close() // B dies: its pending expiries die with it, and its member never leaves
	onB.Store(0)
	a.Emptied("lab") // presence drops B's members
	time.Sleep(100 * time.Millisecond)
	_, ok, err := logA.Exists(ctx, "lab")
	require.NoError(t, err)
	assert.True(t, ok, "kept within the TTL")
	require.Eventually(t, forgotten(t, logA, "lab"), 5*time.Second, 10*time.Millisecond)
	assert.Zero(t, a.Rooms())
}

// Touches take room among the log's last HistoryEvents messages of a room: however many
// joins come between two events, a replica loaded afterwards still has the room.
func TestTouchesDoNotLoseTheRoom(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	ctx := testContext(t)
	a := openRoom(t, log, "lab", RoomConfig{})
	alice := &member{Member: Member{ID: "a", Nick: "alice"}}
	alice.say(t, a, "x = 1")
	alice.say(t, a, "x = x + 1") // seq 2: no snapshot yet
	b := openRoom(t, log, "lab", RoomConfig{})
	for range HistoryEvents + 1 {
		require.NoError(t, b.touch(ctx))
	}
	c := openRoom(t, log, "lab", RoomConfig{})
	v := c.View()
	assert.Equal(t, a.View().Epoch, v.Epoch)
	assert.Equal(t, uint64(2), v.Seq)
	assert.Equal(t, "x = 2", vars(t, v.State))
	ev := alice.say(t, a, "x = x + 1")
	assert.Equal(t, uint64(3), ev.Seq)
}

// After a restart, the rooms kept in the log are forgotten after the TTL if nobody comes
// back, although no member will ever leave them (rooms.md §12: the TTL restarts).
func TestAdoptedRoomsExpire(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	limits := DefaultLimits()
	limits.RoomTTL = time.Hour
	before := NewRegistry(log, RoomConfig{}, limits, nil)
	ctx := testContext(t)
	for _, name := range []string{"lab", "pair"} {
		r, err := before.Join(ctx, name)
		require.NoError(t, err)
		(&member{Member: Member{ID: "a", Nick: "alice"}}).say(t, r, "x = 1")
	}
	before.Close() // the instance stops with its members in: nothing counts down

	limits.RoomTTL = time.Second
	after := newRegistry(t, log, limits, nil)
	require.NoError(t, after.AdoptRooms(ctx))
	time.Sleep(100 * time.Millisecond)
	_, ok, err := log.Exists(ctx, "lab")
	require.NoError(t, err)
	assert.True(t, ok, "kept within the TTL")
	require.Eventually(t, forgotten(t, log, "lab"), 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, forgotten(t, log, "pair"), 5*time.Second, 10*time.Millisecond)
}
