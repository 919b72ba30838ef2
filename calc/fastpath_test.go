package calc

import (
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

// smallOperand draws a value held in int64s: an integer, often near a boundary of int64
// or of the small range, or a fraction in lowest terms.
func smallOperand(t *rapid.T, label string) value {
	n := rapid.OneOf(
		rapid.Int64Range(-20, 20),
		rapid.Int64Range(-1<<32, 1<<32),
		rapid.Int64(),
		rapid.SampledFrom([]int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64, -1 << 62, 1 << 62, 1<<31 - 1, -1 << 31, 3037000499, 3037000500}),
	).Draw(t, label+"_num")
	if !rapid.Bool().Draw(t, label+"_frac") {
		return small(n)
	}
	d := rapid.OneOf(rapid.Int64Range(2, 100), rapid.Int64Range(2, math.MaxInt64)).Draw(t, label+"_den")
	v, ok := fracValue(n, d)
	if !ok {
		return small(n)
	}
	return v
}

// The fast path of each binary operator (smallBinary) gives exactly the value, in the
// same representation, that its general path (math/big or the operator's own rules)
// gives; where it declines, the general path decides alone.
func TestFastPathsAgreeWithGeneral(t *testing.T) {
	ops := []opKind{nAdd, nSub, nMul, nDiv, nFloorDiv, nMod, nPow, nShl, nShr, nAnd, nOr}
	rapid.Check(t, func(t *rapid.T) {
		op := rapid.SampledFrom(ops).Draw(t, "op")
		a, b := smallOperand(t, "a"), smallOperand(t, "b")
		if op == nPow || op == nShl { // keep the general path's results small enough to compute
			b = small(rapid.Int64Range(-3, 70).Draw(t, "exp"))
		}
		lim := DefaultLimits()
		var fast value
		ok := smallBinary(op, &a, &b, &fast, lim.MaxBits)
		if !ok {
			return
		}
		e := &evaluator{lim: &lim}
		n := &node{op: op, tok: token{text: opText[tPlus]}}
		want, err := binaryTable[op].general(e, n, a, b)
		if err != nil {
			t.Fatalf("%v %d %v: fast path %v, general path error %v", a, op, b, fast, err)
		}
		if fast != want {
			t.Fatalf("%v %d %v: fast path %+v, general path %+v", a, op, b, fast, want)
		}
	})
}

// With a bit limit below 64, ** and << are left to the general path, whose estimates
// refuse what the limit refuses.
func TestFastPathsLeavePowersToTheLimit(t *testing.T) {
	for _, op := range []opKind{nPow, nShl} {
		var v value
		if smallBinary(op, &value{i: 3}, &value{i: 10}, &v, 8) {
			t.Errorf("op %d with 8 bits: fast path took it (%v)", op, v)
		}
	}
}

// The fast paths of the roundings (floor, ceil, trunc, round, round(x, k)) give what
// their general paths in math/big give.
func TestRoundingFastPathsAgreeWithGeneral(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := smallOperand(t, "x")
		if rapid.Bool().Draw(t, "float") {
			x = approx(rapid.Float64Range(-1e19, 1e19).Draw(t, "f"))
		}
		mode := rounding(rapid.IntRange(int(rFloor), int(rHalfAway)).Draw(t, "mode"))
		if fast, ok := roundFast(x, mode); ok {
			if want := intValue(roundBig(exactOf(x), mode)); fast != want {
				t.Fatalf("%+v mode %d: fast path %+v, general path %+v", x, mode, fast, want)
			}
		}
		if x.kind == vFloat {
			return
		}
		k := rapid.Int64Range(-20, 20).Draw(t, "k")
		if fast, ok := roundDigitsSmall(x, k); ok {
			lim := DefaultLimits()
			e := &evaluator{lim: &lim}
			want, err := e.roundDigits(token{text: "round"}, x, k)
			if err != nil || fast != want {
				t.Fatalf("round(%+v, %d): fast path %+v, general path %+v (%v)", x, k, fast, want, err)
			}
		}
	})
}

// The fast path of number literals (smallDecimal) gives the value of the general path,
// math/big's reading of the same text, in the same representation.
func TestLiteralFastPathAgreesWithGeneral(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lit := rapid.StringMatching(`[0-9]{0,12}(\.[0-9]{0,10})?`).Draw(t, "lit")
		v, ok := smallDecimal([]byte(lit))
		if !ok {
			return
		}
		r, okBig := new(big.Rat).SetString(lit)
		if !okBig {
			t.Fatalf("%q: fast path %+v, not a number for math/big", lit, v)
		}
		if want := ratValue(r); v != want {
			t.Fatalf("%q: fast path %+v, general path %+v", lit, v, want)
		}
	})
}

// The fast paths of - and ~ give what their general paths in math/big give.
func TestUnaryFastPathsAgreeWithGeneral(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := smallOperand(t, "x")
		if got, want := neg(x), negBig(x); !sameValue(got, want) {
			t.Fatalf("-%+v: fast path %+v, general path %+v", x, got, want)
		}
		if x.kind != vSmall || x.i == math.MinInt64 {
			return
		}
		e := &evaluator{lim: &Limits{MaxBits: 1_000_000}}
		got, err1 := e.unary(&node{op: nNot}, x)
		want, err2 := e.checkInt(token{}, new(big.Int).Not(big.NewInt(x.i)))
		if err1 != nil || err2 != nil || got != want {
			t.Fatalf("~%+v: fast path %+v, general path %+v (%v, %v)", x, got, want, err1, err2)
		}
	})
}

// sameValue reports whether a and b are the same value in the same representation.
func sameValue(a, b value) bool {
	if a.kind == vRat && b.kind == vRat {
		return a.r.Cmp(b.r) == 0
	}
	return a == b
}
