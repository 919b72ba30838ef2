package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"wscalc/calc"
	"wscalc/rooms"
	"wscalc/session"
	"wscalc/wire"
)

// roomSink sends a room member's messages (session.RoomSink): in text mode the lines of
// rooms.md §4, one per message; in JSON mode the messages of §5.
type roomSink struct{ c *conn }

// Deliver writes msgs in one write to the socket, when it can (batchConn's hold).
func (r roomSink) Deliver(msgs []session.RoomMsg) (err error) {
	c := r.c
	if c.sock != nil {
		c.sock.hold()
		defer func() {
			if werr := c.sock.release(); err == nil {
				err = werr
			}
		}()
	}
	if !c.json {
		line := func(s string) error { return c.out.Send([]byte(s)) }
		for _, m := range msgs {
			if err := session.TextLines(m, line); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range msgs {
		b, err := c.roomJSON(m)
		if err != nil {
			return err
		}
		if b == nil {
			continue
		}
		if err := c.out.Send(b); err != nil {
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

// MembersChanged has a members message pushed, with the presence pushes and at their pace
// (presenceInterval: rooms.MembersPushesPerSecond a second, the last state always
// delivered); JSON mode only.
func (r roomSink) MembersChanged() {
	if r.c.json {
		r.c.membersChanged.Store(true)
		r.c.out.Changed()
	}
}

// roomJSON is a room message in JSON mode; nil for what JSON members are not sent (the
// text notices).
func (c *conn) roomJSON(m session.RoomMsg) ([]byte, error) {
	id, _ := m.Req.(json.RawMessage)
	switch m.Kind {
	case session.RoomReply:
		switch {
		case m.Event != nil:
			return ownEventReply(m.Event.Result, id, m.Event.Seq), nil
		case m.Result != nil:
			return wire.AppendResult(nil, wire.NewResult(id, m.Input, *m.Result)), nil
		case m.Err:
			return wire.AppendError(nil, wire.NewError(id, m.Input, calcError(m))), nil
		}
		return wire.AppendResult(nil, wire.Result{Type: "result", ID: id, Input: m.Input, Display: m.Text, Kind: string(calc.KindText)}), nil
	case session.RoomEvent: // the same for every member of the room: encoded once
		return m.Event.EncodedOnce(func() ([]byte, error) { return marshal(eventMessage(m.Room, m.Event)) })
	case session.RoomState:
		return marshal(c.roomMessage(m))
	case session.RoomLeft:
		return marshal(wire.Left{Type: "left", Room: m.Room})
	}
	return nil, nil
}

// calcError is a reply's error as calc's, which the JSON error replies are made of.
func calcError(m session.RoomMsg) error {
	var re *rooms.Error
	switch {
	case errors.As(m.Error, &re):
		return &calc.Error{Msg: re.Msg}
	case m.Error != nil:
		return m.Error
	}
	return &calc.Error{Msg: strings.TrimPrefix(m.Text, "Error: ")}
}

// ownEventReply is the reply to a member's own event: the stored result with the request's
// id and the event's seq.
func ownEventReply(result []byte, id json.RawMessage, seq uint64) []byte {
	comma := bytes.IndexByte(result, ',') // after "type"; the id comes next, as in every reply
	if comma < 0 || len(result) < 2 {
		return result
	}
	b := make([]byte, 0, len(result)+len(id)+32)
	b = append(b, result[:comma]...)
	if len(id) > 0 {
		b = append(append(b, `,"id":`...), id...)
	}
	b = append(b, result[comma:len(result)-1]...)
	b = strconv.AppendUint(append(b, `,"seq":`...), seq, 10)
	return append(b, '}')
}

func eventMessage(room string, ev *rooms.Event) wire.Event {
	return wire.Event{Type: "event", Room: room, Seq: ev.Seq, Member: wire.RoomMember{ID: ev.Member.ID, Nick: ev.Member.Nick},
		Input: ev.Input, Result: ev.Result}
}

// roomMessage is the room message of a join or a reset.
func (c *conn) roomMessage(m session.RoomMsg) wire.Room {
	v := m.View
	msg := wire.Room{Type: "room", Room: v.Room, Epoch: v.Epoch, Seq: v.Seq,
		You:     wire.RoomMember{ID: c.sess.ID(), Nick: c.sess.Nick()},
		Members: c.memberList(v.Room), History: []wire.Event{}, Recovered: m.Recovered}
	msg.Vars, msg.Ans = wire.RoomValues(v.State)
	history := v.History
	if !m.Recovered {
		history = v.Last(rooms.RoomHistoryMessages)
	}
	for i := range history {
		msg.History = append(msg.History, eventMessage(v.Room, &history[i]))
	}
	return msg
}

// memberList is the room's member count and its first rooms.MembersListMax members.
func (c *conn) memberList(room string) wire.MemberList {
	d := c.h.cfg.Session.Rooms
	all := d.Members(room)
	return memberListOf(max(d.Count(room), len(all)), all)
}

// memberListOf is total and the first rooms.MembersListMax members of the sorted list all.
func memberListOf(total int, all []rooms.Member) wire.MemberList {
	list := wire.MemberList{Total: total, Members: make([]wire.RoomMember, 0, min(len(all), rooms.MembersListMax))}
	for _, m := range all[:min(len(all), rooms.MembersListMax)] {
		list.Members = append(list.Members, wire.RoomMember{ID: m.ID, Nick: m.Nick, Transport: m.Transport})
	}
	return list
}

// membersPush is the members message the presence push carries when the member list
// changed, if the session is in a room.
func (c *conn) membersPush() ([]byte, bool) {
	if !c.membersChanged.Swap(false) {
		return nil, false
	}
	room := c.sess.RoomName()
	if room == "" {
		return nil, false
	}
	b, err := c.h.cfg.Session.Rooms.MembersMessage(room, func(total int, list []rooms.Member) ([]byte, error) {
		return marshal(wire.Members{Type: "members", Room: room, MemberList: memberListOf(total, list)})
	})
	return b, err == nil
}
