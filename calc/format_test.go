package calc

import (
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

// The int64 fast paths of the display must give exactly what the math/big path gives.
func TestSmallFractionFormatMatchesBig(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Int64Range(math.MinInt64+1, math.MaxInt64).Draw(t, "n")
		d := rapid.Int64Range(2, math.MaxInt64).Draw(t, "d")
		if rapid.Bool().Draw(t, "small") {
			n, d = n%100000, d%100000+2
		}
		v, ok := fracValue(n, d)
		if !ok || v.kind != vFrac {
			return
		}
		want := formatRat(big.NewRat(v.i, v.d))
		if got := format(&v); got != want {
			t.Fatalf("%d/%d: fast path %+v, big path %+v", v.i, v.d, got, want)
		}
	})
}

func TestSmallLiteralsMatchBig(t *testing.T) {
	for _, lit := range []string{"0.1", "2.25", "1.5e-7", "123.456e2", "1e18", "9.99e-18", "0.000_1", "1_0.5e+3"} {
		src := []byte(lit)
		fast, err := parseNumber(token{kind: tNum, pos: 1, end: int32(len(src))}, src, 1_000_000, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := new(big.Rat).SetString(stripUnderscores(lit))
		if fast.rat().Cmp(r) != 0 {
			t.Errorf("%s parsed as %s", lit, fast.rat())
		}
	}
}

func stripUnderscores(s string) string {
	out := []rune{}
	for _, r := range s {
		if r != '_' {
			out = append(out, r)
		}
	}
	return string(out)
}
