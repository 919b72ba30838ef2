package ws_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/calc/calctest"
	"wscalc/ws"
)

// TestCorpus replays the core's golden corpus over WebSocket in both protocols, each case
// on a fresh connection (a fresh session). After the last step the client sends quit and
// expects the close, so a reply to a line that must get none cannot go unnoticed.
func TestCorpus(t *testing.T) {
	cases, err := calctest.LoadAll()
	require.NoError(t, err)
	e := newEnv(t, envConfig{})

	t.Run("text", func(t *testing.T) {
		for _, tc := range cases {
			c := e.dial(t, false)
			quit := false
			for _, st := range tc.Steps {
				write(t, c, st.Input)
				if quit = isQuit(st.Input); quit {
					break
				}
				if !st.NoReply {
					got := readText(t, c)
					require.True(t, calctest.SameReply(got, st.Want), "%s:%d: %q: got %q, want %q", tc.Name(), st.Line, st.Input, got, st.Want)
				}
			}
			if !quit {
				write(t, c, "quit")
			}
			code, _, extra := readClosed(t, c)
			require.Empty(t, extra, "%s: replies to lines that must get none", tc.Name())
			require.Equal(t, websocket.StatusNormalClosure, code, tc.Name())
		}
	})

	t.Run("json", func(t *testing.T) {
		// A JSON reply carries every digit of an exact value, work the text replies skip: the
		// session-memory case's 33 million-bit values take most of a default budget that way,
		// and all of it under -race. The JSON replay gets a larger budget, so the cases about
		// the default budget are left to the text replay above.
		e := newEnv(t, envConfig{opts: func(o *ws.Config) { o.Session.Limits = calc.Limits{Budget: 10_000_000} }})
		for _, tc := range cases {
			if slices.ContainsFunc(tc.Steps, func(st calctest.Step) bool { return strings.Contains(st.Want, "budget") }) {
				continue
			}
			c := e.dial(t, true)
			quit := false
			for i, st := range tc.Steps {
				request(t, c, i, st.Input)
				if quit = isQuit(st.Input); quit {
					break
				}
				r := readReply(t, c)
				where := tc.Name() + ":" + st.Input
				require.Equal(t, strconv.Itoa(i), string(r.ID), where)
				require.Equal(t, st.Input, r.Input, where)
				if st.NoReply {
					require.Equal(t, "result", r.Type, where)
					require.Equal(t, "none", r.Kind, where)
					require.Empty(t, r.Display, where)
					continue
				}
				require.Equal(t, st.Want, r.Display, "%s:%d: %q", tc.Name(), st.Line, st.Input)
				if strings.HasPrefix(st.Want, "Error") {
					require.Equal(t, "error", r.Type, where)
				} else {
					require.Equal(t, "result", r.Type, where)
				}
			}
			if !quit {
				request(t, c, "end", "quit")
			}
			code, _, extra := readClosed(t, c)
			for _, m := range extra {
				require.Contains(t, m, `"type":"clients"`, "%s: unexpected message", tc.Name())
			}
			require.Equal(t, websocket.StatusNormalClosure, code, tc.Name())
		}
	})
}

func isQuit(line string) bool {
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "quit", "exit":
		return true
	}
	return false
}
