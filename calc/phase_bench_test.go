package calc

import (
	"context"
	"testing"
)

// The phases of a line, apart, so that a profile of one of them is not averaged with the
// others (BENCHMARKS.md, "The calculator core"). The line is bench_test.go's Typical.
const typicalLine = "(1 + 2) * 3 / 4 - 5 ** 2 % 7"

// BenchmarkLineOne is the fixed cost of an expression line: the shortest one.
func BenchmarkLineOne(b *testing.B) {
	s := Session{Limits: Limits{Budget: 1 << 50}}
	b.ReportAllocs()
	for b.Loop() {
		s.Eval("1")
	}
}

func BenchmarkPhaseMapLine(b *testing.B) {
	var s Session
	for b.Loop() {
		mapLine(&s, typicalLine)
	}
}

// phaseSession returns a session with the typical line mapped and its meter started.
func phaseSession() (*Session, []byte, *Limits, *meter) {
	s := &Session{}
	lim := s.limits()
	src, _, _ := mapLine(s, typicalLine)
	m := &s.scratch.meter
	m.begin(context.Background(), s, lim, s.now())
	return s, append([]byte(nil), src...), lim, m
}

func BenchmarkPhaseParse(b *testing.B) {
	s, src, lim, m := phaseSession()
	for b.Loop() {
		s.parse(src, nil, lim, m)
		s.scratch.release()
	}
}

func BenchmarkPhaseEvaluate(b *testing.B) {
	s, src, lim, m := phaseSession()
	t, _ := s.parse(src, nil, lim, m)
	e := &s.scratch.eval
	for b.Loop() {
		e.begin(t, s, lim, m)
		e.run()
	}
}

func BenchmarkPhaseFormat(b *testing.B) {
	v, _ := fracValue(-7, 4) // the typical line's result
	b.ReportAllocs()
	for b.Loop() {
		format(&v)
	}
}

func BenchmarkPhaseClock(b *testing.B) {
	var s Session
	for b.Loop() {
		s.since(s.now())
	}
}

// BenchmarkPhaseLex is the lexer's share of PhaseParse: the typical line's tokens, scanned
// one after the other as the parser reads them, literals converted.
func BenchmarkPhaseLex(b *testing.B) {
	s, src, lim, m := phaseSession()
	p := &s.scratch.parser
	for b.Loop() {
		t := &s.scratch.tree
		t.reset()
		p.begin(src, nil, t, nil, lim, m)
		for p.advance(); p.tok.kind != tEOF; p.advance() {
		}
		p.end()
	}
}
