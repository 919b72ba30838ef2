package ws_test

import (
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/session"
	"wscalc/ws"
)

// roomsEnv is a server whose sessions have rooms on a room log of their own.
func roomsEnv(t *testing.T) *env {
	log := roomstest.Start(t).Log()
	d := session.NewRooms(log, rooms.RoomConfig{}, rooms.DefaultLimits())
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
