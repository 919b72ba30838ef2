package rooms

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoomName(t *testing.T) {
	for typed, want := range map[string]string{
		"lab": "lab", "Lab": "lab", "LAB-2_x": "lab-2_x", "a": "a", strings.Repeat("Z", 32): strings.Repeat("z", 32),
	} {
		got, err := RoomName(typed)
		require.NoError(t, err, typed)
		assert.Equal(t, want, got)
	}
	for _, typed := range []string{"", strings.Repeat("a", 33), "la b", "lab!", "läb", "a.b", "a/b", "*", ">"} {
		_, err := RoomName(typed)
		require.Error(t, err, typed)
		assert.Equal(t, "Error: invalid room name '"+typed+"' (use 1-32 letters, digits, '-' or '_')", err.Error())
		assert.Equal(t, "invalid room name", err.(*Error).Close)
		assert.Equal(t, 1008, err.(*Error).Code)
	}
}

func TestNick(t *testing.T) {
	for _, nick := range []string{"bob", "Bob", "guest-3fa2", "a", strings.Repeat("x", 24), "_-"} {
		assert.NoError(t, CheckNick(nick), nick)
	}
	for _, nick := range []string{"", strings.Repeat("x", 25), "bob smith", "bob!", "bøb", "a.b"} {
		err := CheckNick(nick)
		require.Error(t, err, nick)
		assert.Equal(t, "Error: invalid nick '"+nick+"' (use 1-24 letters, digits, '-' or '_')", err.Error())
		assert.Equal(t, "invalid nick", err.(*Error).Close)
	}
	assert.Equal(t, "guest-3fa2", DefaultNick("3fa2c81d09b7e654"))
	assert.Equal(t, "guest-81c0", DefaultNick("81c07a3e5d2f9b10"))
}

func TestEpoch(t *testing.T) {
	assert.True(t, ValidEpoch("Yk3q9TzR"))
	assert.True(t, ValidEpoch(strings.Repeat("a", 64)))
	assert.False(t, ValidEpoch(""))
	assert.False(t, ValidEpoch(strings.Repeat("a", 65)))
	assert.False(t, ValidEpoch("a.b"))
}

func TestParseCommand(t *testing.T) {
	for line, want := range map[string]Command{
		"join lab":           {Join, "lab"},
		"JOIN Lab":           {Join, "Lab"},
		"  join\tlab  ":      {Join, "lab"},
		"join lab # the lab": {Join, "lab"},
		"join lab＃note":      {Join, "lab"},
		"join":               {Join, ""},
		"Join  # alone":      {Join, ""},
		"join 1+2":           {Join, "1+2"},
		"join =":             {}, // not a command: see below
		"leave":              {Leave, ""},
		"LEAVE":              {Leave, ""},
		"who":                {Who, ""},
		" Who ":              {Who, ""},
		"who\u3000":          {Who, ""},
		"nick bob":           {Nick, "bob"},
		"nick":               {Nick, ""},
		"nick bob!":          {Nick, "bob!"},
		"nick\u3000bob":      {Nick, "bob"},
		"help":               {},
	} {
		got, ok := ParseCommand(line)
		assert.Equal(t, want.Verb != 0, ok, "%q", line)
		assert.Equal(t, want, got, "%q", line)
	}
	// Lines for the calculator: the words are not reserved.
	for _, line := range []string{
		"join = 3", "join =3", "nick = 1", "who * 2", "who = 4", "leave + 1", "leave lab", "who lab",
		"join lab now", "nick bob smith", "join=3", "joined lab", "x = join", "", "# join lab", "vars", "quit",
		"ｊｏｉｎ lab",
	} {
		_, ok := ParseCommand(line)
		assert.False(t, ok, "%q", line)
	}
}

func TestCommandCheck(t *testing.T) {
	for _, tc := range []struct {
		line, arg, err string
	}{
		{"join", "", "Error: join needs a room name"},
		{"nick", "", "Error: nick needs a name"},
		{"join Lab", "lab", ""},
		{"join 1+2", "", "Error: invalid room name '1+2' (use 1-32 letters, digits, '-' or '_')"},
		{"nick Bob", "Bob", ""},
		{"nick bob!", "bob!", "Error: invalid nick 'bob!' (use 1-24 letters, digits, '-' or '_')"},
		{"who", "", ""},
		{"leave", "", ""},
	} {
		c, ok := ParseCommand(tc.line)
		require.True(t, ok, tc.line)
		c, err := c.Check()
		if tc.err == "" {
			require.NoError(t, err, tc.line)
			assert.Equal(t, tc.arg, c.Arg, tc.line)
			continue
		}
		require.Error(t, err, tc.line)
		assert.Equal(t, tc.err, err.Error())
	}
}

func TestErrorTexts(t *testing.T) {
	for err, want := range map[error]string{
		ErrNotInRoom:        "Error: not in a room",
		AlreadyIn("lab"):    "Error: already in lab",
		ErrNeedConnection:   "Error: rooms need a TCP or WebSocket connection",
		ErrUnavailable:      "Error: rooms unavailable, try again",
		RoomFull(1000):      "Error: room is full (limit 1000 members)",
		TooManyRooms(10000): "Error: too many rooms (limit 10000)",
		NoSuchRoom("lab"):   "Error: no such room 'lab'",
	} {
		assert.Equal(t, want, err.Error())
	}
	assert.Equal(t, "room is full (limit 1000 members)", RoomFull(1000).Close)
	assert.Equal(t, 1013, RoomFull(1000).Code)
	assert.Equal(t, "too many rooms (limit 10000)", TooManyRooms(10000).Close)
	assert.Equal(t, "rooms unavailable, try again", ErrUnavailable.Close)
	assert.Equal(t, 1013, ErrUnavailable.Code)
	assert.Equal(t, "invalid since", ErrInvalidSince.Close)
	assert.Equal(t, 1008, ErrInvalidSince.Code)
	assert.True(t, IsUnavailable(ErrUnavailable))
}

func TestLimitsDefaults(t *testing.T) {
	l := DefaultLimits()
	assert.Equal(t, 1000, l.MembersPerRoom)
	assert.Equal(t, 10000, l.MaxRooms)
	assert.Equal(t, "10m0s", l.RoomTTL.String())
}
