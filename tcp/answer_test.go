package tcp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/rooms"
	"wscalc/rooms/roomstest"
)

// The replies the calculator appends to the writer's buffer (conn.answer) are its Display
// byte for byte, the help of a server with rooms included, whose reply names the room
// commands too.
func TestRepliesAreTheCalculatorsDisplay(t *testing.T) {
	var cs calc.Session
	want := func(line string) string {
		t.Helper()
		res, err := cs.Eval(line)
		require.NoError(t, err)
		return res.Display
	}
	help := want("help")
	plain := dial(t, start(t, nil).addr)
	for _, line := range []string{"(1 + 2) * 3 / 4 - 5 ** 2 % 7", "1/3 + 2/7", "sqrt(2)", "2 ** 200", "x = 1/3", "x * 3", "vars"} {
		assert.Equal(t, want(line), plain.ask(line), line)
	}
	assert.Equal(t, help, plain.ask("help"), "no rooms: the calculator's help alone")

	withRoom := dial(t, start(t, withRooms(t, roomstest.Start(t).Log())).addr)
	assert.Equal(t, help+"; "+rooms.HelpText, withRoom.ask("help"))
	assert.Equal(t, help+"; "+rooms.HelpText, withRoom.ask("  HELP # and rooms?"))
	assert.Equal(t, "2", withRoom.ask("1 + 1"))
}
