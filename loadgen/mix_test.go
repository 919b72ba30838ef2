package loadgen

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

// BenchmarkBuiltinMix is the calculator's share of a request of the built-in load: one
// session evaluating the mix in turn, as a benchmark connection does (the budget lifted),
// so that BENCHMARKS.md can split the server's CPU per request into core and transport.
func BenchmarkBuiltinMix(b *testing.B) {
	exprs := Builtin()
	s := calc.Session{Limits: calc.Limits{Budget: 1 << 50}}
	i := 0
	for b.Loop() {
		s.Eval(exprs[i].Line)
		if i++; i == len(exprs) {
			i = 0
		}
	}
}
