package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"wscalc/rooms"
)

// Room is the room a client joins on connect (wscalc client -room NAME [-nick NICK]).
type Room struct {
	Name string // as typed; checked by NewRoom
	Nick string // "" keeps the server's default (guest-…)
}

// NewRoom checks the name and nick with the rooms package's rules before anything is sent,
// so a bad one is refused with the server's own message.
func NewRoom(name, nick string) (Room, error) {
	if _, err := rooms.RoomName(name); err != nil {
		return Room{}, err
	}
	if nick != "" {
		if err := rooms.CheckNick(nick); err != nil {
			return Room{}, err
		}
	}
	return Room{Name: name, Nick: nick}, nil
}

// IsNotice reports whether a line from the server is a room line (rooms.md §4): another
// member's event or a notice. Replies never start with '#', so such a line answers no
// request and is printed as it comes.
func IsNotice(line string) bool { return strings.HasPrefix(line, "#") }

// roomURL adds the URL join of rooms.md §6 (room=NAME, nick=NICK) to a /ws URL.
func roomURL(wsURL string, r Room) (string, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("room", r.Name)
	if r.Nick != "" {
		q.Set("nick", r.Nick)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DialWSRoom connects to the WebSocket endpoint and joins the room with the URL, and
// returns the connection with the server's "joined …" line; the room's history follows
// as '#' lines. A refused join (the server closes at once) is an error with its reason.
func DialWSRoom(ctx context.Context, rawURL string, r Room) (Conn, string, error) {
	u, err := WSURL(rawURL)
	if err != nil {
		return nil, "", err
	}
	if u, err = roomURL(u, r); err != nil {
		return nil, "", err
	}
	c, err := DialWS(ctx, u)
	if err != nil {
		return nil, "", err
	}
	joined, err := c.Recv()
	if err != nil {
		c.Close()
		return nil, "", joinFailed(r, err)
	}
	return inRoom(c, r), joined, nil
}

// DialTCPRoom connects to a TCP line-protocol server and joins the room there with
// JoinTCP.
func DialTCPRoom(ctx context.Context, addr string, r Room) (Conn, string, error) {
	c, err := DialTCP(ctx, addr)
	if err != nil {
		return nil, "", err
	}
	joined, err := JoinTCP(c, r)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	return inRoom(c, r), joined, nil
}

// JoinTCP joins the room on a TCP connection just opened: nick NICK (if any), then
// join NAME, and returns the server's "joined …" line. An error reply is an error.
func JoinTCP(c Conn, r Room) (string, error) {
	var lines []string
	if r.Nick != "" {
		lines = append(lines, "nick "+r.Nick)
	}
	lines = append(lines, "join "+r.Name)
	for _, l := range lines {
		if err := c.Send(l); err != nil {
			return "", joinFailed(r, err)
		}
	}
	if err := c.Flush(); err != nil {
		return "", joinFailed(r, err)
	}
	var reply string
	for range lines {
		var err error
		if reply, err = c.Recv(); err != nil {
			return "", joinFailed(r, err)
		}
		if isHTTPStatus(reply) {
			return "", &HTTPError{Addr: strings.TrimPrefix(c.String(), "tcp "), Status: reply}
		}
		if IsError(reply) {
			return "", joinFailed(r, errors.New(reply))
		}
	}
	return reply, nil
}

func joinFailed(r Room, err error) error {
	return fmt.Errorf("cannot join room %s: %w", r.Name, err)
}

// NoticeEvent splits another member's event line, "# <seq> <nick>: <input> → <display>"
// (rooms.md §4), into its input and display; ok is false for the other '#' lines.
func NoticeEvent(line string) (input, display string, ok bool) {
	rest, ok := strings.CutPrefix(line, "# ")
	if !ok {
		return "", "", false
	}
	seq, rest, ok := strings.Cut(rest, " ")
	if !ok || seq == "" || strings.Trim(seq, "0123456789") != "" {
		return "", "", false
	}
	if _, rest, ok = strings.Cut(rest, ": "); !ok {
		return "", "", false
	}
	return strings.Cut(rest, " → ")
}

// roomConn is a connection that joined a room on connect.
type roomConn struct {
	Conn
	room string // as shown by the server: lower-cased
}

// RoomOf returns the room c joined on connect (by DialWSRoom or JoinTCP), if any.
func RoomOf(c Conn) (string, bool) {
	rc, ok := c.(*roomConn)
	if !ok {
		return "", false
	}
	return rc.room, true
}

func inRoom(c Conn, r Room) Conn {
	name, _ := rooms.RoomName(r.Name)
	return &roomConn{Conn: c, room: name}
}
