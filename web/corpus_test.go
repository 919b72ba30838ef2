package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/calc/calctest"
)

// TestGoldenCorpusOverAPI replays the core's golden corpus through POST /api/eval. The API
// is stateless by design (each request is a fresh session), so only the cases with a single
// step can be replayed here; the multi-step cases need a session and are replayed by the
// TCP and WebSocket tests.
func TestGoldenCorpusOverAPI(t *testing.T) {
	cases, err := calctest.LoadAll()
	require.NoError(t, err)
	e := newEnv(t, nil)
	replayed := 0
	for _, c := range cases {
		if len(c.Steps) != 1 {
			continue // needs a session: see the comment above
		}
		replayed++
		step := c.Steps[0]
		// The API's budget is its client address's: each case comes from an address of its
		// own (127.0.0.0/8 is all loopback), so that it starts with a full budget as the
		// corpus expects of a fresh session.
		e.client = clientFrom(t, fmt.Sprintf("127.1.%d.%d", replayed/250, 1+replayed%250))
		t.Run(c.Name(), func(t *testing.T) {
			wantStatus, wantDisplay, check := expectedReply(t, step)
			// JSON cannot carry invalid UTF-8 (it would arrive as U+FFFD), so such inputs go as
			// raw text; every other input goes both ways.
			if utf8.ValidString(step.Input) {
				resp, body := e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, step.Input))
				assert.Equal(t, wantStatus, resp.StatusCode, "json: %q", step.Input)
				if check {
					assert.Equal(t, wantDisplay, decodeReply(t, resp, body).Display, "json: %q", step.Input)
				}
			}
			resp, body := e.do(t, "POST", "/api/eval", plainHeader, step.Input)
			assert.Equal(t, wantStatus, resp.StatusCode, "text: %q", step.Input)
			if check {
				assert.Equal(t, wantDisplay, decodeReply(t, resp, body).Display, "text: %q", step.Input)
			}
		})
	}
	require.NotZero(t, replayed, "no single-step cases in the corpus")
}

// expectedReply maps a corpus step to the API's answer. A step with no reply is a blank or
// comment line (200, kind none, empty display) unless it is quit/exit, which has no
// connection to end over HTTP (400; the core itself tells which, so the test does not guess
// at the command syntax). The display of a quit reply is the API's own, so it is not compared.
func expectedReply(t *testing.T, step calctest.Step) (status int, display string, checkDisplay bool) {
	t.Helper()
	if step.NoReply {
		_, err := new(calc.Session).Eval(step.Input)
		if errors.Is(err, calc.ErrQuit) {
			return http.StatusBadRequest, "", false
		}
		return http.StatusOK, "", true
	}
	switch {
	case len(step.Input) > 4096:
		return http.StatusRequestEntityTooLarge, step.Want, true
	case strings.HasPrefix(step.Want, "Error"):
		return http.StatusUnprocessableEntity, step.Want, true
	}
	return http.StatusOK, step.Want, true
}
