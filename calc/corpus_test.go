package calc_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/calc/calctest"
)

// reply is what a transport would send for one line: the display line, the error line,
// or nothing (ok false) for blank lines and quit.
func reply(s *calc.Session, line string) (string, bool) {
	res, err := s.Eval(line)
	switch {
	case errors.Is(err, calc.ErrQuit):
		return "", false
	case err != nil:
		return err.Error(), true
	case res.Kind == calc.KindNone:
		return "", false
	}
	return res.Display, true
}

func TestCorpus(t *testing.T) {
	cases, err := calctest.LoadAll()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cases), 300, "the corpus must hold at least 300 cases")
	for _, c := range cases {
		var s calc.Session
		for _, step := range c.Steps {
			got, ok := reply(&s, step.Input)
			if step.NoReply {
				assert.False(t, ok, "%s:%d: %q must get no reply, got %q", c.Name(), step.Line, step.Input, got)
				continue
			}
			assert.True(t, ok, "%s:%d: %q got no reply", c.Name(), step.Line, step.Input)
			assert.Equal(t, step.Want, got, "%s:%d: %q", c.Name(), step.Line, step.Input)
		}
	}
}
