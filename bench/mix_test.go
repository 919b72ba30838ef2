package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"wscalc/calc"
)

// The built-in mix's expected replies are the calculator's: a fresh session per line, as a
// connection may send any line first.
func TestBuiltinMixMatchesTheCore(t *testing.T) {
	exprs := Builtin()
	assert.GreaterOrEqual(t, len(exprs), 20)
	for _, e := range exprs {
		var s calc.Session
		r, err := s.Eval(e.Line)
		got := r.Display
		if err != nil {
			got = err.Error()
		}
		assert.True(t, e.Checked, e.Line)
		assert.Equal(t, e.Want, got, e.Line)
	}
}
