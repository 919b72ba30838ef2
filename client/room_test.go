package client

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewRoomChecksNameAndNick(t *testing.T) {
	r, err := NewRoom("Lab-1", "alice")
	require.NoError(t, err)
	require.Equal(t, Room{Name: "Lab-1", Nick: "alice"}, r)
	_, err = NewRoom("a b", "")
	require.EqualError(t, err, "Error: invalid room name 'a b' (use 1-32 letters, digits, '-' or '_')")
	_, err = NewRoom("lab", "bob!")
	require.EqualError(t, err, "Error: invalid nick 'bob!' (use 1-24 letters, digits, '-' or '_')")
}

func TestRoomURLKeepsTheQuery(t *testing.T) {
	u, err := roomURL("ws://h:1/ws?x=1", Room{Name: "lab", Nick: "bob"})
	require.NoError(t, err)
	require.Equal(t, "ws://h:1/ws?nick=bob&room=lab&x=1", u)
}

// A WebSocket member (URL join) and a TCP member (join) in one room: each gets its own
// replies in order, and the other's events and notices as '#' lines, which count as no
// reply.
func TestRoomMembersOverBothTransports(t *testing.T) {
	s := startRoomServer(t)
	ctx := testCtx(t)
	alice, joined, err := DialWSRoom(ctx, s.WS, Room{Name: "Lab", Nick: "alice"})
	require.NoError(t, err)
	require.Equal(t, "joined lab as alice (1 member, seq 0)", joined)

	bob, err := DialTCP(ctx, s.TCP)
	require.NoError(t, err)
	joined, err = JoinTCP(bob, Room{Name: "lab", Nick: "bob"})
	require.NoError(t, err)
	require.Equal(t, "joined lab as bob (2 members, seq 0)", joined)
	var bobOut strings.Builder
	require.NoError(t, Pipe(ctx, bob, strings.NewReader("x = 2\nx * 3\n"), &bobOut))
	require.Equal(t, "x = 2\n6\n", bobOut.String())

	var aliceOut strings.Builder
	errs, err := Lines(ctx, alice, []string{"x + 1"}, &aliceOut)
	require.NoError(t, err)
	require.Zero(t, errs)
	// Presence is not ordered with events: bob's leaving may be told before alice's reply,
	// after it (then alice has already gone), or not at all.
	got := strings.Replace(aliceOut.String(), "# bob left lab (1 member)\n", "", 1)
	require.Equal(t, "# bob joined lab (2 members)\n"+
		"# 1 bob: x = 2 → x = 2\n"+
		"# 2 bob: x * 3 → 6\n"+
		"3\n", got)
}

// A late joiner over TCP gets the history as '#' lines after its joined line, before the
// replies to its own lines.
func TestRoomHistoryComesBeforeReplies(t *testing.T) {
	s := startRoomServer(t)
	ctx := testCtx(t)
	alice, err := DialTCP(ctx, s.TCP)
	require.NoError(t, err)
	_, err = JoinTCP(alice, Room{Name: "lab", Nick: "alice"})
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, Pipe(ctx, alice, strings.NewReader("y = 7\n"), &out))

	bob, _, err := DialWSRoom(ctx, s.WS, Room{Name: "lab"})
	require.NoError(t, err)
	out.Reset()
	_, err = Lines(ctx, bob, []string{"y * 2"}, &out)
	require.NoError(t, err)
	require.Equal(t, "# 1 alice: y = 7 → y = 7\n14\n", out.String())
}

func TestJoinRefused(t *testing.T) {
	s := startRoomServer(t)
	ctx := testCtx(t)
	c, err := DialTCP(ctx, s.TCP)
	require.NoError(t, err)
	defer c.Close()
	_, err = JoinTCP(c, Room{Name: "lab-" + strings.Repeat("x", 40)})
	require.ErrorContains(t, err, "cannot join room lab-xxx")
	require.ErrorContains(t, err, "Error: invalid room name")

	_, _, err = DialWSRoom(ctx, s.WS, Room{Name: strings.Repeat("x", 40)})
	require.ErrorContains(t, err, "invalid room name (WebSocket status 1008)")
}

func TestNoticeEvent(t *testing.T) {
	for _, c := range []struct {
		line, input, display string
		ok                   bool
	}{
		{"# 43 bob: 1/0 → Error at column 3: division by zero", "1/0", "Error at column 3: division by zero", true},
		{"# 1 alice: x = 1/3 → x = 1/3 ≈ 0.33333333333333333333", "x = 1/3", "x = 1/3 ≈ 0.33333333333333333333", true},
		{"# bob joined lab (2 members)", "", "", false},
		{"# bob left lab (1 member)", "", "", false},
		{"# guest-3fa2 is now bob", "", "", false},
		{"# lab was reset", "", "", false},
		{"x = 1", "", "", false},
	} {
		input, display, ok := NoticeEvent(c.line)
		require.Equal(t, c.ok, ok, c.line)
		if ok {
			require.Equal(t, c.input, input)
			require.Equal(t, c.display, display)
		}
	}
}

// Reconnecting in a room joins it again: the room's variables are still there.
func TestInteractiveReconnectsIntoTheRoom(t *testing.T) {
	srv := startRoomServer(t)
	lab := Room{Name: "Lab", Nick: "alice"}
	for name, dial := range map[string]Redial{
		"tcp": func(ctx context.Context) (Conn, error) { c, _, err := DialTCPRoom(ctx, srv.TCP, lab); return c, err },
		"ws":  func(ctx context.Context) (Conn, error) { c, _, err := DialWSRoom(ctx, srv.WS, lab); return c, err },
	} {
		t.Run(name, func(t *testing.T) {
			c, err := dial(testCtx(t))
			require.NoError(t, err)
			room, ok := RoomOf(c)
			require.True(t, ok)
			require.Equal(t, "lab", room)
			c.Close()

			s := runInteractive(t, dial, "")
			s.pty.Type(t, "x = 2\r")
			s.pty.Expect(t, "x = 2\r\n")
			srv.shutdown(t)
			s.pty.Expect(t, "the next line reconnects\r\n")
			srv.restart(t)
			s.pty.Type(t, "x * 10\r")
			s.pty.Expect(t, "wscalc: reconnected to ")
			s.pty.Expect(t, "and joined lab again: a new session in the room\r\n")
			s.pty.Expect(t, "20\r\n")
			s.pty.Type(t, "\x04")
			require.NoError(t, s.result(t))
		})
	}
	_, ok := RoomOf(nil)
	require.False(t, ok)
}
