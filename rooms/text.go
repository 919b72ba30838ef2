package rooms

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Member is one member of a room, as member lists show it.
type Member struct {
	ID        string `json:"id"` // the session id
	Nick      string `json:"nick"`
	Transport string `json:"transport,omitempty"` // "ws" or "tcp"
}

// SortMembers sorts members by nick (byte order), then by id (§1).
func SortMembers(members []Member) {
	slices.SortFunc(members, func(a, b Member) int {
		return cmp.Or(strings.Compare(a.Nick, b.Nick), strings.Compare(a.ID, b.ID))
	})
}

// Count is a member count as replies and notices write it: "1 member", "3 members".
func Count(n int) string {
	if n == 1 {
		return "1 member"
	}
	return strconv.Itoa(n) + " members"
}

// The replies to the commands (§2), one line each.

// JoinedReply answers a join: seq is the room's last seq.
func JoinedReply(room, nick string, members int, seq uint64) string {
	return "joined " + room + " as " + nick + " (" + Count(members) + ", seq " + strconv.FormatUint(seq, 10) + ")"
}

// LeftReply answers a leave.
func LeftReply(room string) string { return "left " + room }

// RenamedReply answers a nick.
func RenamedReply(old, nick string) string { return old + " is now " + nick }

// WhoReply answers who: the room, its member count (the whole cluster's), and the nicks of
// members sorted as SortMembers does, at most WhoMaxNicks of them; beyond, how many more.
func WhoReply(room string, total int, members []Member) string {
	var b strings.Builder
	b.WriteString(room + " (" + Count(total) + "): ")
	shown := members[:min(len(members), WhoMaxNicks)]
	for i, m := range shown {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.Nick)
	}
	if more := max(total, len(members)) - len(shown); more > 0 {
		b.WriteString(", and " + strconv.Itoa(more) + " more")
	}
	return b.String()
}

// The lines a member receives besides its replies (§4): each starts with "# ", so that a
// reply never looks like one, and echoed back each is a comment.

// EventLine shows another member's event: its seq, the sender's nick when it was stored,
// its input with control characters as spaces, and the sender's reply.
func EventLine(seq uint64, nick, input, display string) string {
	return "# " + strconv.FormatUint(seq, 10) + " " + nick + ": " + Printable(input) + " → " + display
}

// JoinedNotice tells the others a member joined; members is the count after the join.
func JoinedNotice(nick, room string, members int) string {
	return "# " + nick + " joined " + room + " (" + Count(members) + ")"
}

// LeftNotice tells the others a member left, disconnected or was dropped with its
// instance; members is the count after.
func LeftNotice(nick, room string, members int) string {
	return "# " + nick + " left " + room + " (" + Count(members) + ")"
}

// RenamedNotice tells the others a member renamed.
func RenamedNotice(old, nick string) string { return "# " + old + " is now " + nick }

// ResetNotice tells the members the room's log was lost: new epoch, no variables, seq
// from 1.
func ResetNotice(room string) string { return "# " + room + " was reset" }

// Printable writes each control character (U+0000–U+001F, U+007F–U+009F) as a space, so
// that an input fits on its "# " line.
func Printable(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r <= 0x1F || r >= 0x7F && r <= 0x9F }
