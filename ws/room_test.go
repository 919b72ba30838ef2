package ws_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/session"
	"wscalc/ws"
)

// roomsEnv is a server whose sessions have rooms on a room log of their own.
func roomsEnv(t *testing.T) *env { return roomsEnvWith(t, rooms.DefaultLimits()) }

func roomsEnvWith(t *testing.T, limits rooms.Limits) *env {
	log := roomstest.Start(t).Log()
	d := session.NewRooms(log, rooms.RoomConfig{}, limits)
	t.Cleanup(d.Close) // registered before the env's: runs after the handler is closed
	return newEnv(t, envConfig{opts: func(c *ws.Config) { c.Session.Rooms = d }})
}

// ask sends a line and returns the next message.
func ask(t *testing.T, c *websocket.Conn, line string) string {
	t.Helper()
	write(t, c, line)
	return readText(t, c)
}

func expectLines(t *testing.T, c *websocket.Conn, want ...string) {
	t.Helper()
	for _, w := range want {
		require.Equal(t, w, readText(t, c))
	}
}

// The contract's example (rooms.md, Examples) in text mode: one line per message.
func TestRoomTextMode(t *testing.T) {
	e := roomsEnv(t)
	alice := e.dial(t, false)
	require.Regexp(t, `^joined lab as guest-[0-9a-f]{4} \(1 member, seq 0\)$`, ask(t, alice, "join lab"))
	require.Regexp(t, `^guest-[0-9a-f]{4} is now alice$`, ask(t, alice, "nick alice"))
	require.Equal(t, "x = 1/3 ≈ 0.33333333333333333333", ask(t, alice, "x = 1/3"))

	bob := e.dial(t, false)
	require.Regexp(t, `^guest-[0-9a-f]{4} is now bob$`, ask(t, bob, "nick bob"))
	write(t, bob, "join lab")
	expectLines(t, bob, "joined lab as bob (2 members, seq 1)", "# 1 alice: x = 1/3 → x = 1/3 ≈ 0.33333333333333333333")
	expectLines(t, alice, "# bob joined lab (2 members)")
	require.Equal(t, "1", ask(t, bob, "x * 3"))
	expectLines(t, alice, "# 2 bob: x * 3 → 1")
	require.Equal(t, "2", ask(t, alice, "* 2"))
	expectLines(t, bob, "# 3 alice: * 2 → 2")
	require.Equal(t, "Error at column 7: division by zero", ask(t, bob, "y = x / 0"))
	expectLines(t, alice, "# 4 bob: y = x / 0 → Error at column 7: division by zero")
	require.Equal(t, "lab (2 members): alice, bob", ask(t, bob, "who"))
	require.Equal(t, "Error: already in lab", ask(t, bob, "join LAB"))
	require.Equal(t, "left lab", ask(t, bob, "leave"))
	expectLines(t, alice, "# bob left lab (1 member)")
	require.Equal(t, "Error: not in a room", ask(t, bob, "leave"))
	require.Equal(t, "join = 9", ask(t, bob, "join = 9"), "the words are not reserved")
	require.Equal(t, "18", ask(t, bob, "join * 2"))

	write(t, alice, "exit")
	requireClose(t, alice, websocket.StatusNormalClosure, "quit")
}

// nextOf reads messages until one of type typ (skipping the presence pushes of other
// types) and returns it decoded.
func nextOf(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	for range 50 {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(readText(t, c)), &m))
		if m["type"] == typ {
			return m
		}
		require.Contains(t, []any{"clients", "members"}, m["type"], "unexpected %v", m)
	}
	t.Fatalf("no %s message", typ)
	return nil
}

// JSON mode (rooms.md §5): the reply to an own event carries its seq; the others' events,
// the room message after a join, the members pushes and left.
func TestRoomJSONMode(t *testing.T) {
	e := roomsEnv(t)
	carol := e.dial(t, true)
	bob := e.dial(t, false)
	require.Contains(t, ask(t, bob, "join lab"), "(1 member, seq 0)")
	require.Equal(t, "x = 7", ask(t, bob, "x = 7"))

	request(t, carol, 1, "join lab")
	reply := nextOf(t, carol, "result")
	require.Equal(t, float64(1), reply["id"])
	require.Regexp(t, `^joined lab as guest-[0-9a-f]{4} \(2 members, seq 1\)$`, reply["display"])
	room := nextOf(t, carol, "room")
	require.Equal(t, "lab", room["room"])
	require.Equal(t, float64(1), room["seq"])
	require.Equal(t, false, room["recovered"])
	require.Equal(t, []any{map[string]any{"name": "x", "display": "7", "kind": "integer", "value": "7"}}, room["vars"])
	require.Equal(t, map[string]any{"display": "7", "kind": "integer", "value": "7"}, room["ans"])
	history := room["history"].([]any)
	require.Len(t, history, 1)
	require.Equal(t, "x = 7", history[0].(map[string]any)["input"])
	members := room["members"].(map[string]any)
	require.Equal(t, float64(2), members["total"])

	request(t, carol, "a", "x * 2")
	reply = nextOf(t, carol, "result")
	require.Equal(t, "a", reply["id"])
	require.Equal(t, "14", reply["display"])
	require.Equal(t, float64(2), reply["seq"])
	require.Regexp(t, `^# guest-[0-9a-f]{4} joined lab \(2 members\)$`, readText(t, bob))
	require.Regexp(t, `^# 2 guest-[0-9a-f]{4}: x \* 2 → 14$`, readText(t, bob))

	require.Equal(t, "Error at column 2: division by zero", ask(t, bob, "1/0"))
	ev := nextOf(t, carol, "event")
	require.Equal(t, float64(3), ev["seq"])
	require.Equal(t, "1/0", ev["input"])
	result := ev["result"].(map[string]any)
	require.Equal(t, "error", result["type"])
	require.Equal(t, "Error at column 2: division by zero", result["display"])
	require.NotContains(t, result, "id")

	require.Regexp(t, `is now bob$`, ask(t, bob, "nick bob"))
	require.Eventually(t, func() bool {
		m := nextOf(t, carol, "members")
		list := m["members"].([]any)
		return len(list) == 2 && list[0].(map[string]any)["nick"] == "bob" && list[0].(map[string]any)["transport"] == "ws"
	}, ioTimeout, time.Millisecond)

	request(t, carol, 2, "leave")
	reply = nextOf(t, carol, "result")
	require.Equal(t, "left lab", reply["display"])
	require.Equal(t, map[string]any{"type": "left", "room": "lab"}, nextOf(t, carol, "left"))
	request(t, carol, 3, "who")
	reply = nextOf(t, carol, "error")
	require.Equal(t, "Error: not in a room", reply["display"])
	require.Equal(t, "not in a room", reply["message"])
}

// A join by URL (rooms.md §6): refusals close at once with no message; text mode gets the
// joined line and the history; JSON mode the room message after hello and clients, and
// recovers from epoch and since.
func TestRoomURLJoin(t *testing.T) {
	e := roomsEnv(t)
	for query, want := range map[string]string{
		"room=no%20way": "invalid room name", "nick=%C3%BC": "invalid nick", "room=lab&since=-1": "invalid since",
	} {
		conn, _, err := websocket.Dial(t.Context(), e.url+"?"+query, e.dialOpts(true))
		require.NoError(t, err, query)
		requireClose(t, conn, websocket.StatusPolicyViolation, want)
	}

	alice, _, err := websocket.Dial(t.Context(), e.url+"?room=Lab&nick=alice", e.dialOpts(false))
	require.NoError(t, err)
	t.Cleanup(func() { alice.CloseNow() })
	require.Equal(t, "joined lab as alice (1 member, seq 0)", readText(t, alice))
	for i := range 3 {
		require.Equal(t, fmt.Sprint(i), ask(t, alice, fmt.Sprintf("x = %d", i))[4:])
	}

	carol := func(query string) (*websocket.Conn, map[string]any) {
		c, _, err := websocket.Dial(t.Context(), e.url+"?"+query, e.dialOpts(true))
		require.NoError(t, err)
		t.Cleanup(func() { c.CloseNow() })
		require.Equal(t, "hello", readMsg(t, c).Type)
		require.Equal(t, "clients", readMsg(t, c).Type)
		return c, nextOf(t, c, "room")
	}
	c1, room := carol("room=lab&nick=carol")
	require.Equal(t, float64(3), room["seq"])
	require.Equal(t, false, room["recovered"])
	require.Len(t, room["history"], 3)
	require.Equal(t, map[string]any{"id": room["you"].(map[string]any)["id"], "nick": "carol"}, room["you"])
	epoch := room["epoch"].(string)
	c1.Close(websocket.StatusNormalClosure, "")
	write(t, alice, "x = 3")
	for l := readText(t, alice); l != "x = 3"; l = readText(t, alice) {
		require.Regexp(t, `^# carol (joined|left) lab`, l)
	}

	_, room = carol("room=lab&nick=carol&epoch=" + epoch + "&since=2")
	require.Equal(t, true, room["recovered"])
	history := room["history"].([]any)
	require.Len(t, history, 2)
	require.Equal(t, float64(3), history[0].(map[string]any)["seq"])
	require.Equal(t, float64(4), history[1].(map[string]any)["seq"])

	_, room = carol("room=lab&epoch=other&since=2")
	require.Equal(t, false, room["recovered"])
	require.Len(t, room["history"], 4)
}

// The limits refuse a URL join with 1013 and no message, and a join command with its
// error, the member staying where it was.
func TestRoomLimits(t *testing.T) {
	limits := rooms.DefaultLimits()
	limits.MembersPerRoom, limits.MaxRooms = 1, 2
	e := roomsEnvWith(t, limits)
	alice, _, err := websocket.Dial(t.Context(), e.url+"?room=lab", e.dialOpts(false))
	require.NoError(t, err)
	t.Cleanup(func() { alice.CloseNow() })
	require.Contains(t, readText(t, alice), "joined lab")

	full, _, err := websocket.Dial(t.Context(), e.url+"?room=lab", e.dialOpts(true))
	require.NoError(t, err)
	requireClose(t, full, websocket.StatusTryAgainLater, "room is full (limit 1 members)")

	bob := e.dial(t, false)
	require.Equal(t, "Error: room is full (limit 1 members)", ask(t, bob, "join lab"))
	require.Equal(t, "Error: not in a room", ask(t, bob, "who"), "a refused join leaves the member where it was")
	require.Contains(t, ask(t, bob, "join two"), "joined two")
	require.Equal(t, "Error: too many rooms (limit 2)", ask(t, bob, "join three"))
	require.Regexp(t, `is now bob$`, ask(t, bob, "nick bob"))
	require.Equal(t, "two (1 member): bob", ask(t, bob, "who"))
}

// Without its room log, a server refuses a URL join with 1013 and a join with the error.
func TestRoomsUnavailable(t *testing.T) {
	d := session.NewRooms(nil, rooms.RoomConfig{}, rooms.DefaultLimits())
	e := newEnv(t, envConfig{opts: func(c *ws.Config) { c.Session.Rooms = d }})
	c, _, err := websocket.Dial(t.Context(), e.url+"?room=lab", e.dialOpts(false))
	require.NoError(t, err)
	requireClose(t, c, websocket.StatusTryAgainLater, "rooms unavailable, try again")
	bob := e.dial(t, false)
	require.Equal(t, "Error: rooms unavailable, try again", ask(t, bob, "join lab"))
	require.Equal(t, "2", ask(t, bob, "1 + 1"), "private sessions unaffected")
}
