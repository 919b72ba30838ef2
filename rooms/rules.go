package rooms

import "strings"

// Name and nick lengths (§1).
const (
	maxRoomName = 32
	maxNick     = 24
)

// RoomName checks a room name and returns it as shown: lower-cased (names are
// case-insensitive). The error quotes the name as typed.
func RoomName(typed string) (string, error) {
	if !validToken(typed, maxRoomName) {
		return "", InvalidRoomName(typed)
	}
	return strings.ToLower(typed), nil
}

// CheckNick checks a nick; its case is kept.
func CheckNick(nick string) error {
	if !validToken(nick, maxNick) {
		return InvalidNick(nick)
	}
	return nil
}

// DefaultNick is a member's nick until it picks one: "guest-" and the first 4 hex digits
// of its session id.
func DefaultNick(sessionID string) string {
	return "guest-" + sessionID[:min(4, len(sessionID))]
}

// validToken reports whether s is 1 to max characters from [A-Za-z0-9_-]: a room name or
// a nick, and so also a valid NATS subject token and key-value key.
func validToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// maxEpoch is the longest epoch (§3).
const maxEpoch = 64

// ValidEpoch reports whether e can be an epoch: 1 to 64 characters from [A-Za-z0-9_-].
// A client's epoch that is not valid is simply another epoch than the room's.
func ValidEpoch(e string) bool { return validToken(e, maxEpoch) }
