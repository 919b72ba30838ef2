package loadgen

import (
	"bytes"
	"strconv"
)

// eventPrefix starts every room event message (wire.Event: its fields in that order).
var eventPrefix = []byte(`{"type":"event","room":"`)

// EventSeq is the seq of a room's event message (rooms.md §5) without decoding the rest:
// a member that checks the order of 100 000 events a second needs only this. ok is false
// for any other message. The room's name (letters, digits, '-', '_') comes before the
// seq and cannot hold a quote, so the first `"seq":` after it is the event's.
func EventSeq(msg []byte) (seq uint64, ok bool) {
	if !bytes.HasPrefix(msg, eventPrefix) {
		return 0, false
	}
	rest := msg[len(eventPrefix):]
	i := bytes.Index(rest, []byte(`","seq":`))
	if i < 0 {
		return 0, false
	}
	rest = rest[i+len(`","seq":`):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == len(rest) { // cut short: the message goes on after the seq
		return 0, false
	}
	seq, err := strconv.ParseUint(string(rest[:n]), 10, 64)
	return seq, err == nil
}
