package calc_test

import (
	"context"
	"testing"

	"wscalc/calc"
	"wscalc/loadgen"
)

func benchLine(b *testing.B, line string, wantErr bool) {
	var s calc.Session
	s.Limits.Budget = 1 << 62 // measure evaluation, not the budget
	b.ReportAllocs()
	for b.Loop() {
		_, err := s.Eval(line)
		if (err != nil) != wantErr {
			b.Fatalf("%s: %v", line, err)
		}
	}
}

// benchAppend measures a line through EvalAppend, the path of a transport that reads and
// writes bytes: the line read from bytes, the reply appended to a reused buffer.
func benchAppend(b *testing.B, line string) {
	var s calc.Session
	s.Limits.Budget = 1 << 62 // measure evaluation, not the budget
	buf, text := make([]byte, 0, 256), []byte(line)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = s.EvalAppend(context.Background(), buf[:0], text); err != nil {
			b.Fatalf("%s: %v", line, err)
		}
	}
}

const typicalLine = "(1 + 2) * 3 / 4 - 5 ** 2 % 7"

// A typical line (issue 13: goal ≤ 0.4 µs on the machine of the record, no allocation),
// through Eval (its one allocation is the Display string) and through EvalAppend.
func BenchmarkTypical(b *testing.B)       { benchLine(b, typicalLine, false) }
func BenchmarkTypicalAppend(b *testing.B) { benchAppend(b, typicalLine) }

func BenchmarkRational(b *testing.B) {
	benchLine(b, "(1/3 + 2/7) * (5/11 - 3/13) / (7/17) + 1/19", false)
}

func BenchmarkFunctions(b *testing.B) {
	benchLine(b, "sqrt(2) * sin(pi / 4) + ln(10) - max(1, abs(-3)) + round(2.5)", false)
}

func BenchmarkAssignment(b *testing.B) { benchLine(b, "x = 2 ** 64 + 1", false) }

// Size bombs: each must be refused, from estimates, in well under 100 µs.
func BenchmarkBombPowerTower(b *testing.B)  { benchLine(b, "9 ** 9 ** 9", true) }
func BenchmarkBombNestedPower(b *testing.B) { benchLine(b, "(((9**64)**64)**64)**64", true) }
func BenchmarkBombShift(b *testing.B)       { benchLine(b, "1 << 10000000", true) }
func BenchmarkBombFactorial(b *testing.B)   { benchLine(b, "100000!", true) }
func BenchmarkBombLiteral(b *testing.B)     { benchLine(b, "1e1000000000", true) }

// BenchmarkBuiltinMixAppend is the load generator's built-in mix through EvalAppend, as
// the TCP server evaluates it (loadgen's BenchmarkBuiltinMix goes through Eval).
func BenchmarkBuiltinMixAppend(b *testing.B) {
	exprs := loadgen.Builtin()
	s := calc.Session{Limits: calc.Limits{Budget: 1 << 50}}
	buf, lines := make([]byte, 0, 256), make([][]byte, len(exprs))
	for i, e := range exprs {
		lines[i] = []byte(e.Line)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf, _, _ = s.EvalAppend(context.Background(), buf[:0], lines[i])
		if i++; i == len(lines) {
			i = 0
		}
	}
}
