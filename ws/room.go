package ws

import (
	"github.com/coder/websocket"

	"wscalc/calc"
	"wscalc/rooms"
	"wscalc/session"
)

// roomSink sends a room member's messages (session.RoomSink): in text mode the lines of
// rooms.md §4, one per message.
type roomSink struct{ c *conn }

func (r roomSink) Deliver(msgs []session.RoomMsg) error {
	line := func(s string) error { return r.c.out.Send([]byte(s)) }
	for _, m := range msgs {
		if err := session.TextLines(m, line); err != nil {
			return err
		}
	}
	return nil
}

// TooFarBehind closes the session with 1008 "too far behind", after the reply in
// progress if any.
func (r roomSink) TooFarBehind() {
	r.c.requestClose(websocket.StatusPolicyViolation, rooms.CloseTooFarBehind)
}

func (roomSink) Result(calc.Result, error) []byte { return nil }

func (roomSink) MembersChanged() {}
