package rooms

import (
	"errors"
	"strconv"
)

// Error is a refusal a member is answered with, as one line: "Error: " and Msg.
type Error struct {
	Msg string
	// Close is the reason a WebSocket joining by URL is closed with when this refuses it
	// (rooms.md §6), or "" when the error cannot refuse such a join.
	Close string
	// Code is the WebSocket close code for Close: 1008 (policy) or 1013 (try again later).
	Code int
}

func (e *Error) Error() string { return "Error: " + e.Msg }

// WebSocket close codes of refused joins (§6).
const (
	closePolicy   = 1008
	closeTryLater = 1013
)

// The errors of room commands (§2) and of room evaluation (§3).
var (
	ErrJoinNeedsName = &Error{Msg: "join needs a room name"}
	ErrNickNeedsName = &Error{Msg: "nick needs a name"}
	ErrNotInRoom     = &Error{Msg: "not in a room"}
	// ErrNeedConnection answers the room commands where there is no connection to be a
	// member with: wscalc eval and /api/eval (status 400).
	ErrNeedConnection = &Error{Msg: "rooms need a TCP or WebSocket connection"}
	// ErrUnavailable: the room log cannot be used now (no quorum, too much contention).
	ErrUnavailable = &Error{Msg: "rooms unavailable, try again", Close: "rooms unavailable, try again", Code: closeTryLater}
	// ErrInvalidSince refuses a URL join whose since is not a decimal integer ≥ 0.
	ErrInvalidSince = &Error{Msg: "invalid since", Close: "invalid since", Code: closePolicy}
)

// AlreadyIn refuses a join of the room the member is in.
func AlreadyIn(room string) *Error { return &Error{Msg: "already in " + room} }

// InvalidRoomName refuses a room name, quoted as typed.
func InvalidRoomName(name string) *Error {
	return &Error{Msg: "invalid room name '" + name + "' (use 1-32 letters, digits, '-' or '_')",
		Close: "invalid room name", Code: closePolicy}
}

// InvalidNick refuses a nick, quoted as typed.
func InvalidNick(nick string) *Error {
	return &Error{Msg: "invalid nick '" + nick + "' (use 1-24 letters, digits, '-' or '_')",
		Close: "invalid nick", Code: closePolicy}
}

// RoomFull refuses a join of a room that has limit members.
func RoomFull(limit int) *Error {
	msg := "room is full (limit " + strconv.Itoa(limit) + " members)"
	return &Error{Msg: msg, Close: msg, Code: closeTryLater}
}

// TooManyRooms refuses a join of a new room when limit rooms are held already.
func TooManyRooms(limit int) *Error {
	msg := "too many rooms (limit " + strconv.Itoa(limit) + ")"
	return &Error{Msg: msg, Close: msg, Code: closeTryLater}
}

// NoSuchRoom answers GET /api/rooms/NAME (404) for a room that does not exist.
func NoSuchRoom(room string) *Error { return &Error{Msg: "no such room '" + room + "'"} }

// IsUnavailable reports whether err means the room log cannot be used now.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// CloseTooFarBehind is the WebSocket close reason (code 1008) of a member disconnected
// with MaxUnsent lines or messages waiting.
const CloseTooFarBehind = "too far behind"
