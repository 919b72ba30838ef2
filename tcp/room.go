package tcp

import (
	"wscalc/session"
)

// roomSink sends a room member's lines (session.RoomSink): the text form of rooms.md §4.
type roomSink struct{ c *conn }

func (r roomSink) Deliver(msgs []session.RoomMsg) error {
	for _, m := range msgs {
		if err := session.TextLines(m, r.c.out.Send); err != nil {
			return err
		}
	}
	return r.c.flush()
}

// TooFarBehind closes the connection: its reader ends the session.
func (r roomSink) TooFarBehind() { r.c.Force() }

func (roomSink) MembersChanged() {}
