package wire

import (
	"encoding/json"

	"wscalc/calc"
)

// The messages of rooms in JSON mode (rooms.md §5).

// RoomMember is a member as event and room messages name it; Transport only in member
// lists.
type RoomMember struct {
	ID        string `json:"id"`
	Nick      string `json:"nick"`
	Transport string `json:"transport,omitempty"`
}

// Event is another member's event: result is the sender's reply without id and seq.
type Event struct {
	Type   string          `json:"type"` // "event"
	Room   string          `json:"room"`
	Seq    uint64          `json:"seq"`
	Member RoomMember      `json:"member"`
	Input  string          `json:"input"`
	Result json.RawMessage `json:"result"`
}

// MemberList is a room's member count (the whole cluster's) and its first members.
type MemberList struct {
	Total   int          `json:"total"`
	Members []RoomMember `json:"members"`
}

// Value is a variable's or ans's value, as a result shows it.
type Value struct {
	Display string `json:"display"`
	Kind    string `json:"kind"`
	Value   string `json:"value,omitempty"`
}

// Var is a room's variable.
type Var struct {
	Name string `json:"name"`
	Value
}

// Room is the room as a member now sees it: after a join's reply, on a URL join, after a
// reset.
type Room struct {
	Type      string     `json:"type"` // "room"
	Room      string     `json:"room"`
	Epoch     string     `json:"epoch"`
	Seq       uint64     `json:"seq"`
	You       RoomMember `json:"you"`
	Members   MemberList `json:"members"`
	Vars      []Var      `json:"vars"`
	Ans       *Value     `json:"ans"`
	History   []Event    `json:"history"`
	Recovered bool       `json:"recovered"`
}

// Members is pushed when a room's members or nicks change.
type Members struct {
	Type string `json:"type"` // "members"
	Room string `json:"room"`
	MemberList
}

// Left follows the reply to a leave, or to a join that left Room.
type Left struct {
	Type string `json:"type"` // "left"
	Room string `json:"room"`
}

// RoomInfo answers GET /api/rooms/NAME: the room without its members' list and history.
type RoomInfo struct {
	Type    string `json:"type"` // "room"
	Room    string `json:"room"`
	Epoch   string `json:"epoch"`
	Seq     uint64 `json:"seq"`
	Members struct {
		Total int `json:"total"`
	} `json:"members"`
	Vars []Var  `json:"vars"`
	Ans  *Value `json:"ans"`
}

// RoomValues converts a room's state: its variables in first-assignment order (never nil)
// and ans (nil before any result).
func RoomValues(st calc.State) (vars []Var, ans *Value) {
	vars = make([]Var, 0, len(st.Vars))
	for _, v := range st.Vars {
		if val, ok := shown(v.StoredValue); ok {
			vars = append(vars, Var{Name: v.Name, Value: *val})
		}
	}
	if st.Ans != nil {
		ans, _ = shown(*st.Ans)
	}
	return vars, ans
}

func shown(sv calc.StoredValue) (*Value, bool) {
	display, kind, value, ok := sv.Shown()
	if !ok {
		return nil, false
	}
	return &Value{Display: display, Kind: string(kind), Value: value}, true
}
