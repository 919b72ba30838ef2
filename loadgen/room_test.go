package loadgen_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/loadgen"
	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/session"
	"wscalc/ws"
)

// roomServer is wscalc's WebSocket handler with rooms, in-process; its address is returned.
func roomServer(t *testing.T, limits calc.Limits) string {
	addr, _ := roomServerOn(t, roomstest.Start(t).Log(), limits)
	return addr
}

// roomServerOn is roomServer on a given room log: several on Logs of one server are the
// instances of a cluster. Its address and rooms are returned.
func roomServerOn(t *testing.T, log *rooms.Log, limits calc.Limits) (string, *session.Rooms) {
	d := session.NewRooms(log, rooms.RoomConfig{}, rooms.DefaultLimits())
	t.Cleanup(d.Close) // registered first: runs after the handler is closed
	cfg := sessions(limits)
	cfg.Rooms = d
	h, err := ws.New(ws.Config{Session: cfg})
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		hs.Close()
	})
	return hs.Listener.Addr().String(), d
}

func runRoom(t *testing.T, cfg loadgen.RoomConfig) *loadgen.RoomSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := loadgen.RunRoom(ctx, cfg)
	require.NoError(t, err)
	return sum
}

// Several writers, as fast as their replies allow: every member sees every event once, in
// order, and no increment is lost.
func TestRoomLoadContention(t *testing.T) {
	addr := roomServer(t, unlimited)
	sum := runRoom(t, loadgen.RoomConfig{Addrs: []string{addr}, Room: "bench", Members: 5, Writers: 3, Duration: 300 * time.Millisecond})
	require.True(t, sum.OK(), "%+v", sum)
	require.Positive(t, sum.Events)
	require.Equal(t, sum.Sent, sum.Events)
	require.Equal(t, sum.Increments, sum.FinalX)
	// Every member receives every event: the writers' lines and the start line.
	require.Equal(t, int64(5)*(sum.Events+1), sum.Deliveries)
	require.Positive(t, sum.Max)
}

// With a rate, the writers send on a schedule.
func TestRoomLoadAtARate(t *testing.T) {
	addr := roomServer(t, unlimited)
	sum := runRoom(t, loadgen.RoomConfig{Addrs: []string{addr}, Room: "rate", Members: 4, Writers: 2, Rate: 50, Duration: 400 * time.Millisecond})
	require.True(t, sum.OK(), "%+v", sum)
	// 25 lines/s per writer for 0.4 s: at most 10 each (+1 for a first tick at once).
	require.Positive(t, sum.Sent)
	require.LessOrEqual(t, sum.Sent, int64(22))
	require.Equal(t, int64(4)*(sum.Events+1), sum.Deliveries)
}

// Refusals (here the session budget) are error replies, and fail the run.
func TestRoomLoadCountsErrorReplies(t *testing.T) {
	addr := roomServer(t, calc.Limits{Budget: 20})
	sum := runRoom(t, loadgen.RoomConfig{Addrs: []string{addr}, Room: "poor", Members: 2, Writers: 1, Duration: 200 * time.Millisecond})
	require.False(t, sum.OK())
	require.Positive(t, sum.ErrorReplies)
	require.Zero(t, sum.Missing+sum.OutOfOrder+sum.Incomplete)
}

// Members and writers are spread round-robin over the servers of a cluster (here three
// instances on one NATS server): each server has its share, and every member still sees
// every event once, in order, whichever instance stored it.
func TestRoomLoadAcrossServers(t *testing.T) {
	ns := roomstest.Start(t)
	var addrs []string
	var servers []*session.Rooms
	for range 3 {
		addr, d := roomServerOn(t, ns.Log(), unlimited)
		addrs, servers = append(addrs, addr), append(servers, d)
	}
	counts := make(chan [3]int, 1)
	sum := runRoom(t, loadgen.RoomConfig{Addrs: addrs, Room: "spread", Members: 7, Writers: 3, Duration: 300 * time.Millisecond,
		OnLoad: func() func() {
			var n [3]int
			for i, d := range servers {
				n[i], _ = d.LocalMembers()
			}
			counts <- n
			return func() {}
		}})
	require.True(t, sum.OK(), "%+v", sum)
	require.Equal(t, [3]int{3, 2, 2}, <-counts)
	require.Positive(t, sum.Events)
	require.Equal(t, int64(7)*(sum.Events+1), sum.Deliveries)
	require.Equal(t, sum.Increments, sum.FinalX)
}

func TestRoomLoadConfigErrors(t *testing.T) {
	_, err := loadgen.RunRoom(context.Background(), loadgen.RoomConfig{Addrs: []string{"x:1"}, Room: "a b", Members: 1, Writers: 1})
	require.ErrorContains(t, err, "invalid room name 'a b'")
	_, err = loadgen.RunRoom(context.Background(), loadgen.RoomConfig{Addrs: []string{"x:1"}, Room: "ok", Members: 1, Writers: 2})
	require.EqualError(t, err, "writers must be 1 to members (1), not 2")
	_, err = loadgen.RunRoom(context.Background(), loadgen.RoomConfig{Room: "ok", Members: 1, Writers: 1})
	require.EqualError(t, err, "no server address")
}
