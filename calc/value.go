package calc

import (
	"math"
	"math/big"
	"math/bits"
)

// vkind says how a value is stored. Exact values are kept as int64 while they fit (the
// common case, and allocation-free), as *big.Rat otherwise, or as a lazy power whose
// computation waits until something needs the digits.
type vkind uint8

const (
	vSmall vkind = iota // exact integer in i
	vFrac               // exact non-integer i/d: d > 1, in lowest terms
	vRat                // exact rational in r (never mutated once stored)
	vLazy               // exact power in lz, computed on demand
	vFloat              // approximate binary64 in f
)

type value struct {
	kind vkind
	i    int64
	d    int64
	f    float64
	r    *big.Rat
	lz   *lazyPow
}

// lazyPow is base**exp for an exact base and a large integer exponent. Nested powers such as
// (((9**64)**64)**64)**64 are then refused by estimate before any intermediate is computed.
type lazyPow struct {
	base    *big.Rat
	exp     int64 // > 0
	numBits float64
	denBits float64
	val     *big.Rat
}

func small(i int64) value     { return value{kind: vSmall, i: i} }
func approx(f float64) value  { return value{kind: vFloat, f: f} }
func (v value) isExact() bool { return v.kind != vFloat }

// ratValue stores an exact rational, in int64s when it fits.
func ratValue(r *big.Rat) value {
	if r.Num().IsInt64() && r.Denom().IsInt64() {
		if r.IsInt() {
			return small(r.Num().Int64())
		}
		return value{kind: vFrac, i: r.Num().Int64(), d: r.Denom().Int64()}
	}
	return value{kind: vRat, r: r}
}

// fracValue returns n/d in lowest terms; ok is false when that does not fit in int64s.
func fracValue(n, d int64) (v value, ok bool) {
	if n, d, ok = lowestTerms(n, d); ok {
		v.setSmall(n, d)
	}
	return v, ok
}

// lowestTerms reduces n/d (d ≠ 0) to lowest terms with d > 0; ok is false when that does
// not fit in int64s.
func lowestTerms(n, d int64) (int64, int64, bool) {
	if n == math.MinInt64 || d == math.MinInt64 || d == 0 {
		return 0, 0, false
	}
	if d < 0 {
		n, d = -n, -d
	}
	g := int64(gcd64(absU(n), uint64(d)))
	return n / g, d / g, true
}

// setSmall makes v, the zero value, the exact n/d held in int64s (lowest terms, d ≥ 1). Only
// the fields of a small value are written: no pointer, so no write barrier.
func (v *value) setSmall(n, d int64) {
	v.i = n
	if d == 1 {
		v.kind = vSmall
		return
	}
	v.kind, v.d = vFrac, d
}

func gcd64(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// den is the denominator of a value held in int64s: 1 for an integer.
func (v *value) den() int64 {
	if v.kind == vSmall {
		return 1
	}
	return v.d
}

// smallParts returns an exact value held in int64s as numerator and denominator.
func smallParts(v value) (n, d int64, ok bool) {
	switch v.kind {
	case vSmall:
		return v.i, 1, true
	case vFrac:
		return v.i, v.d, true
	}
	return 0, 0, false
}

// mul64 and add64 are int64 arithmetic that report overflow.
func mul64(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(absU(a), absU(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	r := int64(lo)
	if (a < 0) != (b < 0) {
		r = -r
	}
	return r, true
}

func add64(a, b int64) (int64, bool) {
	r := a + b
	return r, (a >= 0) != (b >= 0) || (r >= 0) == (a >= 0)
}

func intValue(n *big.Int) value {
	if n.IsInt64() {
		return small(n.Int64())
	}
	return value{kind: vRat, r: new(big.Rat).SetInt(n)}
}

// rat returns the exact value; it must not be mutated. A lazy power is computed here.
func (v value) rat() *big.Rat {
	switch v.kind {
	case vSmall:
		return new(big.Rat).SetInt64(v.i)
	case vFrac:
		return big.NewRat(v.i, v.d)
	case vLazy:
		return v.lz.force()
	}
	return v.r
}

func (lz *lazyPow) force() *big.Rat {
	if lz.val == nil {
		lz.val = powRat(lz.base, lz.exp)
	}
	return lz.val
}

// isInt reports whether v is an exact integer.
func (v value) isInt() bool {
	switch v.kind {
	case vSmall:
		return true
	case vFrac:
		return false
	case vRat:
		return v.r.IsInt()
	case vLazy:
		return v.lz.base.IsInt()
	}
	return false
}

func (v value) sign() int {
	switch v.kind {
	case vSmall, vFrac:
		switch {
		case v.i < 0:
			return -1
		case v.i > 0:
			return 1
		}
		return 0
	case vRat:
		return v.r.Sign()
	case vLazy:
		if v.lz.base.Sign() < 0 && v.lz.exp%2 == 1 {
			return -1
		}
		return 1
	}
	switch {
	case v.f < 0:
		return -1
	case v.f > 0:
		return 1
	}
	return 0
}

// numBits and denBits are upper bounds on the bit lengths of the numerator and the
// denominator of an exact value, known without computing a lazy power.
func (v value) numBits() float64 {
	switch v.kind {
	case vSmall, vFrac:
		return float64(bits.Len64(absU(v.i)))
	case vLazy:
		return v.lz.numBits
	case vFloat: // the exact value of a binary64: at most 53 significant bits
		_, exp := math.Frexp(v.f)
		return float64(53 + max(exp, 0))
	}
	return float64(v.r.Num().BitLen())
}

func (v value) denBits() float64 {
	switch v.kind {
	case vSmall:
		return 1
	case vFrac:
		return float64(bits.Len64(uint64(v.d)))
	case vLazy:
		return v.lz.denBits
	case vFloat:
		_, exp := math.Frexp(v.f)
		return float64(1 + max(53-exp, 0))
	}
	return float64(v.r.Denom().BitLen())
}

func absU(i int64) uint64 {
	if i < 0 {
		return uint64(-i)
	}
	return uint64(i)
}

// float returns v as binary64. ok is false when |v| is beyond binary64's range; a value
// too small for it becomes ±0, as the reference says (underflow is not an error).
func (v value) float() (f float64, ok bool) {
	switch v.kind {
	case vFloat:
		return v.f, true
	case vSmall:
		return float64(v.i), true
	case vFrac:
		if absU(v.i) <= 1<<53 && v.d <= 1<<53 { // both exact: one correctly rounded division
			return float64(v.i) / float64(v.d), true
		}
		f, _ := v.rat().Float64()
		return f, true
	case vLazy:
		return bigToFloat(powFloat(v.lz.base, v.lz.exp))
	}
	if v.r.IsInt() {
		f, _ := new(big.Float).SetInt(v.r.Num()).Float64()
		return f, !math.IsInf(f, 0)
	}
	f, _ = v.r.Float64()
	return f, !math.IsInf(f, 0)
}

// floatPrec is the precision of intermediate big.Float work: a little more than binary64
// so that results round once, at the end.
const floatPrec = 80

func bigToFloat(b *big.Float) (float64, bool) {
	f, _ := b.Float64()
	return f, !math.IsInf(f, 0)
}

// bigFloat returns v as a big.Float, whose exponent range is wide enough for any value
// the limits allow.
func (v value) bigFloat() *big.Float {
	z := new(big.Float).SetPrec(floatPrec)
	switch v.kind {
	case vFloat:
		return z.SetFloat64(v.f)
	case vSmall:
		return z.SetInt64(v.i)
	case vLazy:
		return powFloat(v.lz.base, v.lz.exp)
	}
	return z.SetRat(v.rat())
}

// powFloat returns x**n (n ≥ 0) in big.Float, with log2(n) more bits than floatPrec for
// the roundings of the squarings, so that its binary64 rounding is that of the exact power
// (but in a near tie).
func powFloat(x *big.Rat, n int64) *big.Float {
	prec := uint(floatPrec + bits.Len64(uint64(n)))
	return bigFloatPow(new(big.Float).SetPrec(prec).SetRat(x), n)
}

// bigFloatPow returns x**n for n ≥ 0 by squaring, at x's precision.
func bigFloatPow(x *big.Float, n int64) *big.Float {
	result := new(big.Float).SetPrec(x.Prec()).SetInt64(1)
	base := new(big.Float).Copy(x)
	for n > 0 {
		if n&1 == 1 {
			result.Mul(result, base)
		}
		n >>= 1
		if n > 0 {
			base.Mul(base, base)
		}
	}
	return result
}

// powRat returns x**n for n ≥ 0 exactly.
func powRat(x *big.Rat, n int64) *big.Rat {
	e := big.NewInt(n)
	if x.IsInt() { // the power straight into the result's numerator: no copy
		r := new(big.Rat)
		r.Num().Exp(x.Num(), e, nil)
		return r
	}
	num := new(big.Int).Exp(x.Num(), e, nil)
	// num and den stay coprime: no GCD is needed to keep the result in lowest terms.
	return coprimeRat(num, new(big.Int).Exp(x.Denom(), e, nil))
}

// exactPow is base**n (n ≥ 0) for an exact base that is not a lazy power. An integer base
// held in int64 is powered straight into the result's numerator, without a big.Rat for
// the base: its allocations were a third of a line such as 2 ** 100.
func exactPow(base value, n int64) *big.Rat {
	if base.kind != vSmall {
		return powRat(base.rat(), n)
	}
	var b, e big.Int
	r := new(big.Rat)
	r.Num().Exp(b.SetInt64(base.i), e.SetInt64(n), nil)
	return r
}

// log2Abs returns log2|n| for n ≠ 0, accurate for integers of any size: from the top 64
// bits of |n|, read in place.
func log2Abs(n *big.Int) float64 {
	w := n.Bits() // |n|, least significant word first
	bl := n.BitLen()
	if bl <= 64 {
		var x uint64
		for i, d := range w {
			x |= uint64(d) << (bits.UintSize * i)
		}
		return math.Log2(float64(x))
	}
	shift := bl - 64
	top := wordAt(w, shift/bits.UintSize) >> (shift % bits.UintSize)
	if off := shift % bits.UintSize; off > 0 {
		top |= wordAt(w, shift/bits.UintSize+1) << (bits.UintSize - off)
	}
	return math.Log2(float64(top)) + float64(shift)
}

func wordAt(w []big.Word, i int) uint64 {
	if i < len(w) {
		return uint64(w[i])
	}
	return 0
}

// isBig reports whether v is held in math/big (or is a lazy power): the values whose
// operations are priced and checked against the clock. By pointer: for a value receiver
// the compiler copies the whole value, even inlined, and the copy of a result just
// written stalled on store forwarding (3 % of a line "1"; see parser.advance).
func (v *value) isBig() bool { return v.kind == vRat || v.kind == vLazy }

// bitsOf is the size of an exact value, numerator and denominator together.
func bitsOf(v value) float64 { return v.numBits() + v.denBits() }

// isOdd reports whether the exact integer v is odd, without computing a lazy power: b**k
// is odd exactly when b is.
func isOdd(v value) bool {
	switch v.kind {
	case vSmall:
		return v.i&1 != 0
	case vLazy:
		return v.lz.base.Num().Bit(0) == 1
	}
	return v.rat().Num().Bit(0) == 1
}
