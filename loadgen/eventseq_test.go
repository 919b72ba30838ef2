package loadgen_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"wscalc/loadgen"
	"wscalc/wire"
)

// EventSeq reads the seq of an event message as the server encodes it, whatever the input
// holds, and refuses every other message.
func TestEventSeq(t *testing.T) {
	ev, err := json.Marshal(wire.Event{Type: "event", Room: "lab-2_x", Seq: 18446744073709551615,
		Member: wire.RoomMember{ID: "ab", Nick: "n"}, Input: `x = 1 # "seq":5`, Result: json.RawMessage(`{"type":"result","seq":7}`)})
	require.NoError(t, err)
	seq, ok := loadgen.EventSeq(ev)
	require.True(t, ok, "%s", ev)
	require.Equal(t, uint64(18446744073709551615), seq)

	seq, ok = loadgen.EventSeq([]byte(`{"type":"event","room":"r","seq":42,"member":{}}`))
	require.True(t, ok)
	require.Equal(t, uint64(42), seq)

	for _, msg := range []string{
		`{"type":"result","room":"r","seq":42,"value":"1"}`,
		`{"type":"event","room":"r","seq":}`,
		`{"type":"event","room":"r","seq":12`,
		`{"type":"event","room":"r"}`,
		`{"type":"event","room":"r","seq":123456789012345678901}`,
		``,
	} {
		_, ok := loadgen.EventSeq([]byte(msg))
		require.False(t, ok, msg)
	}
}
