package calc_test

import (
	"math/big"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"wscalc/calc"
)

// exactOperand draws an exact number and writes it as an expression: a small or big
// integer, or a fraction n/d.
func exactOperand(t *rapid.T, label string) string {
	num := rapid.Custom(func(t *rapid.T) *big.Int {
		digits := rapid.StringMatching(`[1-9][0-9]{0,40}`).Draw(t, "digits")
		n, _ := new(big.Int).SetString(digits, 10)
		if rapid.Bool().Draw(t, "negative") {
			n.Neg(n)
		}
		return n
	})
	switch rapid.IntRange(0, 2).Draw(t, label+"-kind") {
	case 0:
		return "(" + big.NewInt(rapid.Int64().Draw(t, label)).String() + ")"
	case 1:
		return "(" + num.Draw(t, label).String() + ")"
	}
	return "(" + num.Draw(t, label+"-num").String() + "/" + num.Draw(t, label+"-den").String() + ")"
}

func evalOK(t *rapid.T, s *calc.Session, line string) calc.Result {
	res, err := s.Eval(line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return res
}

func nonZero(t *rapid.T, s *calc.Session, label string) string {
	for {
		b := exactOperand(t, label)
		if evalOK(t, s, b).Value != "0" {
			return b
		}
	}
}

// a == (a//b)*b + a%b for exact a and b ≠ 0.
func TestPropertyFloorDivision(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s calc.Session
		a, b := exactOperand(t, "a"), nonZero(t, &s, "b")
		line := a + " - ((" + a + " // " + b + ") * " + b + " + " + a + " % " + b + ")"
		if got := evalOK(t, &s, line).Display; got != "0" {
			t.Fatalf("%s = %s, want 0", line, got)
		}
		// The remainder takes the sign of the divisor and is smaller than it.
		r := evalOK(t, &s, "sign("+a+" % "+b+") * sign("+b+")").Display
		if r == "-1" {
			t.Fatalf("%s %% %s has the wrong sign", a, b)
		}
	})
}

// (a/b)*b == a for exact a and b ≠ 0.
func TestPropertyDivisionIsExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s calc.Session
		a, b := exactOperand(t, "a"), nonZero(t, &s, "b")
		want := evalOK(t, &s, a).Value
		if got := evalOK(t, &s, "("+a+" / "+b+") * "+b).Value; got != want {
			t.Fatalf("(%s/%s)*%s = %s, want %s", a, b, b, got, want)
		}
	})
}

// The exact text of a result (n/d, or its terminating decimal) evaluates back to it.
func TestPropertyExactTextRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s calc.Session
		a, b := exactOperand(t, "a"), exactOperand(t, "b")
		op := rapid.SampledFrom([]string{"+", "-", "*"}).Draw(t, "op")
		res := evalOK(t, &s, a+" "+op+" "+b)
		if res.Value == "" {
			t.Fatalf("exact result without exact text: %+v", res)
		}
		if got := evalOK(t, &s, res.Value).Value; got != res.Value {
			t.Fatalf("%s re-evaluates to %s", res.Value, got)
		}
		if res.Kind == calc.KindRational && !strings.Contains(res.Display, "≈") {
			if got := evalOK(t, &s, res.Decimal).Value; got != res.Value {
				t.Fatalf("decimal %s re-evaluates to %s, want %s", res.Decimal, got, res.Value)
			}
		}
	})
}
