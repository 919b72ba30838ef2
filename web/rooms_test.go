package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/session"
	"wscalc/web"
)

// GET /api/rooms/NAME (rooms.md §8).
func TestRoomInfo(t *testing.T) {
	log := roomstest.Start(t).Log()
	d := session.NewRooms(log, rooms.RoomConfig{}, rooms.DefaultLimits())
	t.Cleanup(d.Close)
	room, err := rooms.OpenRoom(context.Background(), log, "lab", rooms.RoomConfig{})
	require.NoError(t, err)
	t.Cleanup(room.Close)
	eval := func(_ context.Context, s *calc.Session, line string) (rooms.Outcome, error) {
		res, err := s.Eval(line)
		return rooms.Outcome{Display: res.Display, Effect: s.EffectOf(res, err)}, nil
	}
	for _, line := range []string{"x = 1/4", "x * 8"} {
		_, err := room.Evaluate(context.Background(), rooms.Member{ID: "1", Nick: "a"}, line, new(calc.Session), eval)
		require.NoError(t, err)
	}
	e := newEnv(t, func(c *web.Config) { c.Rooms = d })

	resp, body := e.get(t, "/api/rooms/LAB")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var info map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	assert.Equal(t, "room", info["type"])
	assert.Equal(t, "lab", info["room"])
	assert.Equal(t, room.Position().Epoch, info["epoch"])
	assert.Equal(t, float64(2), info["seq"])
	assert.Equal(t, map[string]any{"total": float64(0)}, info["members"])
	assert.Equal(t, []any{map[string]any{"name": "x", "display": "0.25", "kind": "rational", "value": "1/4"}}, info["vars"])
	assert.Equal(t, map[string]any{"display": "2", "kind": "integer", "value": "2"}, info["ans"])

	resp, body = e.get(t, "/api/rooms/nothere")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "no such room 'nothere'", errorObject(t, resp, body))
	resp, body = e.get(t, "/api/rooms/no.way")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, errorObject(t, resp, body), "invalid room name 'no.way'")
	resp, body = e.do(t, http.MethodPost, "/api/rooms/lab", nil, "")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	errorObject(t, resp, body)

	unavailable := newEnv(t, func(c *web.Config) { c.Rooms = session.NewRooms(nil, rooms.RoomConfig{}, rooms.DefaultLimits()) })
	resp, body = unavailable.get(t, "/api/rooms/lab")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "rooms unavailable, try again", errorObject(t, resp, body))
}

// The API is stateless: the room commands need a connection.
func TestEvalRefusesRoomCommands(t *testing.T) {
	e := newEnv(t, nil)
	for _, line := range []string{"join lab", "leave", "WHO", "nick bob"} {
		resp, body := e.do(t, http.MethodPost, "/api/eval", http.Header{"Content-Type": {"text/plain"}}, line)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, line)
		assert.Equal(t, "rooms need a TCP or WebSocket connection", errorObject(t, resp, body), line)
	}
	resp, _ := e.do(t, http.MethodPost, "/api/eval", http.Header{"Content-Type": {"text/plain"}}, "join = 3")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the words are not reserved")
}
