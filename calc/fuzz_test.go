package calc_test

import (
	"errors"
	"testing"
	"unicode/utf8"

	"wscalc/calc"
	"wscalc/calc/calctest"
)

// FuzzEval checks, for any line: no panic; an error's column lies within the line (or just
// past its end) and its end is not before it; a successful exact result's text evaluates
// back to itself. Seeded from the golden corpus; crashers found are kept in
// testdata/fuzz/FuzzEval and replayed by go test.
func FuzzEval(f *testing.F) {
	cases, err := calctest.LoadAll()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		for _, step := range c.Steps {
			f.Add(step.Input)
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		var viaString, viaAppend calc.Session
		sameReply(t, &viaString, &viaAppend, line) // EvalAppend's reply is Eval's
		var s calc.Session
		res, err := s.Eval(line)
		if errors.Is(err, calc.ErrQuit) {
			return
		}
		if err != nil {
			var e *calc.Error
			if !errors.As(err, &e) {
				t.Fatalf("%q: error %v is not a *calc.Error", line, err)
			}
			checkColumns(t, line, e)
			return
		}
		if res.Kind != calc.KindInteger && res.Kind != calc.KindRational || res.Value == "" ||
			len(res.Value) > calc.DefaultLimits().MaxLineBytes { // too long to be a line itself
			return
		}
		var fresh calc.Session
		again, err := fresh.Eval(res.Value)
		if err != nil || again.Value != res.Value {
			t.Fatalf("%q = %q, which re-evaluates to %q (%v)", line, res.Value, again.Value, err)
		}
	})
}

func checkColumns(t *testing.T, line string, e *calc.Error) {
	if e.Column == 0 {
		if e.End != 0 {
			t.Fatalf("%q: whole-line error with end %d", line, e.End)
		}
		return
	}
	n := utf8.RuneCountInString(line)
	if e.Column < 1 || e.Column > n+1 || e.End < e.Column || e.End > n+1 {
		t.Fatalf("%q (%d code points): error columns %d..%d out of range: %s", line, n, e.Column, e.End, e.Msg)
	}
}
