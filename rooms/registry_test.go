package rooms

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newRegistry(t *testing.T, log *Log, limits Limits, members func(string) int) *Registry {
	g := NewRegistry(log, RoomConfig{ExpiryQuiet: 100 * time.Millisecond}, limits, members)
	t.Cleanup(g.Close)
	return g
}

func forgotten(t *testing.T, log *Log, room string) func() bool {
	return func() bool {
		_, ok, err := log.Exists(testContext(t), room)
		require.NoError(t, err)
		return !ok
	}
}

// With a TTL of 0 an empty room is not kept: its next join finds a new room.
func TestExpiryWithoutTTL(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	limits := DefaultLimits()
	limits.RoomTTL = 0
	g := newRegistry(t, log, limits, nil)
	r, err := g.Join(testContext(t), "lab")
	require.NoError(t, err)
	m := &member{Member: Member{ID: "a", Nick: "a"}}
	m.say(t, r, "x = 1")
	epoch := r.View().Epoch
	g.Leave("lab")
	require.Eventually(t, forgotten(t, log, "lab"), 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return g.Rooms() == 0 }, 5*time.Second, 5*time.Millisecond)
	r, err = g.Join(testContext(t), "lab")
	require.NoError(t, err)
	view := r.View()
	assert.NotEqual(t, epoch, view.Epoch)
	assert.Zero(t, view.Seq)
	assert.Equal(t, "no variables", vars(t, view.State))
}

// Within the TTL an empty room is kept as it was; after it, forgotten.
func TestExpiryAfterTTL(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	limits := DefaultLimits()
	limits.RoomTTL = 300 * time.Millisecond
	g := newRegistry(t, log, limits, nil)
	r, err := g.Join(testContext(t), "lab")
	require.NoError(t, err)
	m := &member{Member: Member{ID: "a", Nick: "a"}}
	m.say(t, r, "x = 1")
	epoch := r.View().Epoch
	g.Leave("lab")
	r, err = g.Join(testContext(t), "lab") // at once: well within the TTL
	require.NoError(t, err)
	assert.Equal(t, epoch, r.View().Epoch)
	assert.Equal(t, "x = 1", vars(t, r.View().State))
	g.Leave("lab")
	assert.Equal(t, 1, g.Rooms(), "an empty room within its TTL counts")
	require.Eventually(t, forgotten(t, log, "lab"), 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return g.Rooms() == 0 }, 5*time.Second, 5*time.Millisecond)
}

// A room with members elsewhere in the cluster is kept, and checked again later.
func TestExpiryWaitsForTheCluster(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	limits := DefaultLimits()
	limits.RoomTTL = 50 * time.Millisecond
	var elsewhere atomic.Int64
	elsewhere.Store(1)
	g := newRegistry(t, log, limits, func(string) int { return int(elsewhere.Load()) })
	r, err := g.Join(testContext(t), "lab")
	require.NoError(t, err)
	m := &member{Member: Member{ID: "a", Nick: "a"}}
	m.say(t, r, "x = 1")
	g.Leave("lab")
	time.Sleep(300 * time.Millisecond) // several TTLs: not forgotten, a member is elsewhere
	_, ok, err := log.Exists(testContext(t), "lab")
	require.NoError(t, err)
	assert.True(t, ok)
	elsewhere.Store(0)
	require.Eventually(t, forgotten(t, log, "lab"), 5*time.Second, 10*time.Millisecond)
}

func TestRoomLimits(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	limits := Limits{MembersPerRoom: 2, MaxRooms: 2, RoomTTL: time.Minute}
	var elsewhere atomic.Int64
	g := newRegistry(t, log, limits, func(string) int { return int(elsewhere.Load()) })
	ctx := testContext(t)
	_, err := g.Join(ctx, "a")
	require.NoError(t, err)
	_, err = g.Join(ctx, "a")
	require.NoError(t, err)
	_, err = g.Join(ctx, "a")
	require.Error(t, err)
	assert.Equal(t, "Error: room is full (limit 2 members)", err.Error())
	_, err = g.Join(ctx, "b")
	require.NoError(t, err)
	_, err = g.Join(ctx, "c")
	require.Error(t, err)
	assert.Equal(t, "Error: too many rooms (limit 2)", err.Error())
	g.Leave("b")
	_, err = g.Join(ctx, "c")
	require.Error(t, err, "an empty room within its TTL still counts")
	// Members on other instances count toward a room's limit.
	g.Leave("a")
	elsewhere.Store(2)
	_, err = g.Join(ctx, "a")
	require.Error(t, err)
	assert.Equal(t, "Error: room is full (limit 2 members)", err.Error())
}
