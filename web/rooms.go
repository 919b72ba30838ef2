package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"wscalc/calc"
	"wscalc/rooms"
	"wscalc/session"
	"wscalc/wire"
)

// peekTimeout bounds reading a room from the log.
const peekTimeout = 5 * time.Second

// roomInfo answers GET /api/rooms/NAME (rooms.md §8): the room's position, member count and
// values, without creating it or keeping it alive.
func roomInfo(d *session.Rooms) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		typed := chi.URLParam(r, "name")
		fail := func(status int, err error) {
			var re *rooms.Error
			if errors.As(err, &re) {
				err = &calc.Error{Msg: re.Msg}
			}
			writeJSON(w, status, wire.NewError(nil, typed, err))
		}
		name, err := rooms.RoomName(typed)
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		if d == nil {
			fail(http.StatusServiceUnavailable, rooms.ErrUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), peekTimeout)
		defer cancel()
		v, members, ok, err := d.Peek(ctx, name)
		switch {
		case err != nil:
			fail(http.StatusServiceUnavailable, err)
			return
		case !ok:
			fail(http.StatusNotFound, rooms.NoSuchRoom(name))
			return
		}
		info := wire.RoomInfo{Type: "room", Room: v.Room, Epoch: v.Epoch, Seq: v.Seq}
		info.Members.Total = members
		info.Vars, info.Ans = wire.RoomValues(v.State)
		writeJSON(w, http.StatusOK, info)
	}
}
