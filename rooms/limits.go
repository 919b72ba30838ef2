package rooms

import "time"

// Limits bound the rooms of one server (§7). Start from DefaultLimits: a zero RoomTTL
// means empty rooms are not kept.
type Limits struct {
	MembersPerRoom int           // members of one room, the whole cluster's (1000)
	MaxRooms       int           // rooms with members or empty within the TTL (10000)
	RoomTTL        time.Duration // how long an empty room is kept (10 min; 0: not kept)
}

// DefaultLimits returns the limits of rooms.md §7.
func DefaultLimits() Limits {
	return Limits{MembersPerRoom: 1000, MaxRooms: 10000, RoomTTL: 10 * time.Minute}
}

// Fixed sizes of the contract.
const (
	// HistoryEvents and HistoryBytes bound a room's history: the oldest go first.
	HistoryEvents = 1000
	HistoryBytes  = 1 << 20
	// JoinHistoryLines is how many of the last events a join shows as "# " lines.
	JoinHistoryLines = 20
	// RoomHistoryMessages is how many of the last events a JSON room message carries when
	// it does not recover.
	RoomHistoryMessages = 100
	// WhoMaxNicks is how many nicks who lists, and MembersListMax how many members a
	// members message lists.
	WhoMaxNicks    = 100
	MembersListMax = 100
	// MembersPushesPerSecond bounds the members messages pushed to a member.
	MembersPushesPerSecond = 4
	// MaxUnsent is how many lines or messages a member may have waiting; beyond, it is
	// disconnected (WebSocket: 1008 "too far behind").
	MaxUnsent = 1000
	// CommandCost is what join, leave and nick cost a member's budget, in units.
	CommandCost = 1000
	// MaxAttempts bounds the evaluations of one line that lose the race to store it.
	MaxAttempts = 8
)

// HelpText is the commands' part of the help line.
const HelpText = "rooms: join NAME, leave, who, nick NAME"
