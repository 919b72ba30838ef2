package calc

import (
	"math"
	"math/big"
	"sync"
)

// This file holds the binary64 functions whose math package versions are not within a few
// units in the last place of the true result everywhere (the reference, §3): logarithms of
// subnormal values (math.Log reads them as normal numbers), log2 just above 1
// (cancellation), powers (math.Pow takes exp of a rounded logarithm: hundreds of ulps
// off, and subnormal bases go through math.Log), asin and acos near ±1 (cancellation),
// sin, cos and tan of huge arguments (math's reduction loses bits next to multiples of
// π/4), and sinh and cosh just below overflow (an intermediate exp overflows). Where the
// math package is accurate it is used as it is, so typical lines cost what they did.

// dd is a double-double: the unevaluated sum hi + lo with |lo| ≤ ulp(hi)/2, about 106 bits.
type dd struct{ hi, lo float64 }

// twoSum returns a + b exactly as s + e.
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// twoProd returns a·b exactly as p + e.
func twoProd(a, b float64) (p, e float64) {
	p = a * b
	return p, math.FMA(a, b, -p)
}

func quickTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

func ddAdd(a, b dd) dd {
	s, e := twoSum(a.hi, b.hi)
	t, f := twoSum(a.lo, b.lo)
	e += t
	r := quickTwoSum(s, e)
	r.lo += f
	return quickTwoSum(r.hi, r.lo)
}

func ddMul(a, b dd) dd {
	p, e := twoProd(a.hi, b.hi)
	e += a.hi*b.lo + a.lo*b.hi
	return quickTwoSum(p, e)
}

func ddMulF(a dd, b float64) dd {
	p, e := twoProd(a.hi, b)
	e += a.lo * b
	return quickTwoSum(p, e)
}

func ddDiv(a, b dd) dd {
	q1 := a.hi / b.hi
	r := ddAdd(a, ddMulF(b, -q1))
	q2 := r.hi / b.hi
	r = ddAdd(r, ddMulF(b, -q2))
	q3 := r.hi / b.hi
	q := quickTwoSum(q1, q2)
	return ddAdd(q, dd{q3, 0})
}

// ln2DD is ln 2 to about 107 bits.
var ln2DD = dd{0x1.62e42fefa39efp-1, 0x1.abc9e3b39803fp-56}

// Reciprocals for the series below, in double-double.
var (
	invOdd [24]dd // 1/(2k+1)
	invInt [14]dd // 1/k
)

func init() {
	for k := range invOdd {
		invOdd[k] = ddDiv(dd{1, 0}, dd{float64(2*k + 1), 0})
	}
	for k := 1; k < len(invInt); k++ {
		invInt[k] = ddDiv(dd{1, 0}, dd{float64(k), 0})
	}
}

// log1pDD returns ln(1 + t) for |t| ≤ 0.42 as 2·atanh(t/(2+t)), whose series in
// s = t/(2+t), |s| ≤ 0.18, reaches 106 bits within the terms summed.
func log1pDD(t dd) dd {
	s := ddDiv(t, ddAdd(dd{2, 0}, t))
	s2 := ddMul(s, s)
	p := invOdd[len(invOdd)-1]
	for k := len(invOdd) - 2; k >= 0; k-- {
		p = ddAdd(ddMul(p, s2), invOdd[k])
	}
	return ddMulF(ddMul(s, p), 2)
}

// logDD returns ln x for a finite x > 0, subnormal or not, to about 100 bits.
func logDD(x float64) dd {
	m, e := math.Frexp(x) // m in [0.5, 1), exact for subnormal x too
	if m < math.Sqrt2/2 {
		m *= 2
		e--
	}
	// m - 1 is exact (Sterbenz): ln x = e·ln 2 + ln(1 + (m - 1)).
	return ddAdd(ddMulF(ln2DD, float64(e)), log1pDD(dd{m - 1, 0}))
}

// expDD returns e**a rounded to binary64 (±Inf beyond its range, 0 below it).
func expDD(a dd) float64 {
	switch {
	case math.IsNaN(a.hi):
		return a.hi
	case a.hi > 710:
		return math.Inf(1)
	case a.hi < -746:
		return 0
	}
	k := math.Round(a.hi / math.Ln2)
	r := ddAdd(a, ddMulF(ln2DD, -k)) // |r| ≤ ln2/2, plus a little
	// e**r = (e**(r/256))**256: a short Taylor series of expm1, then 8 squarings kept in
	// expm1 form ((1+u)² - 1 = 2u + u²), which loses nothing near 0.
	r = dd{r.hi / 256, r.lo / 256}
	u := dd{1, 0} // Horner: expm1 r = r·(1 + r/2·(1 + r/3·(1 + …)))
	for n := len(invInt) - 1; n >= 2; n-- {
		u = ddAdd(dd{1, 0}, ddMul(ddMul(u, r), invInt[n]))
	}
	u = ddMul(u, r) // r + r²/2! + … + r^13/13!
	for range 8 {
		u = ddAdd(ddMulF(u, 2), ddMul(u, u))
	}
	v := ddAdd(dd{1, 0}, u)
	return math.Ldexp(v.hi+v.lo, int(k))
}

// fLog is ln x for x > 0; math.Log reads a subnormal x as if it were normal.
func fLog(x float64) float64 {
	if x < 0x1p-1022 && x > 0 {
		return math.Log(x*0x1p64) - 64*math.Ln2
	}
	return math.Log(x)
}

// fLog10 is log10 x for x > 0.
func fLog10(x float64) float64 { return fLog(x) * (1 / math.Ln10) }

// fLog2 is log2 x for x > 0: exact for powers of 2; math.Log2 subtracts nearly equal
// numbers just above 1.
func fLog2(x float64) float64 {
	frac, exp := math.Frexp(x)
	switch {
	case frac == 0.5:
		return float64(exp - 1)
	case exp == 1: // 1 ≤ x < 2
		return math.Log(x) * (1 / math.Ln2)
	}
	return math.Log(frac)*(1/math.Ln2) + float64(exp)
}

// fPow is x**y for binary64 x and y where the reference allows it (x < 0 only with an
// integer y; x = 0 only with y ≥ 0): e**(y·ln|x|) in double-double, so the result is
// rounded once, nearly always to the nearest binary64.
func fPow(x, y float64) float64 {
	switch {
	case y == 0 || x == 1:
		return 1
	case y == 1:
		return x
	case y == 2:
		return x * x
	case y == -1:
		return 1 / x
	case y == 0.5 && x >= 0:
		return math.Sqrt(x)
	case x == 0:
		return 0
	case math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y):
		return math.Pow(x, y)
	}
	neg := false
	if x < 0 {
		// y is an integer here: odd ones keep the sign (|y| ≥ 2^53 is even).
		neg = math.Abs(y) < 1<<53 && math.Mod(y, 2) != 0
		x = -x
	}
	r := expDD(ddMulF(logDD(x), y))
	if neg {
		return -r
	}
	return r
}

// fSinh and fCosh are sinh and cosh, finite up to their own overflow: math.Sinh and
// math.Cosh compute exp(x)/2, whose exp overflows first (sinh(710) ≈ 1.117e308).
func fSinh(x float64) float64 {
	if math.Abs(x) <= 709 {
		return math.Sinh(x)
	}
	return math.Copysign(expDD(ddAdd(dd{math.Abs(x), 0}, dd{-ln2DD.hi, -ln2DD.lo})), x)
}

func fCosh(x float64) float64 {
	if math.Abs(x) <= 709 {
		return math.Cosh(x)
	}
	return expDD(ddAdd(dd{math.Abs(x), 0}, dd{-ln2DD.hi, -ln2DD.lo}))
}

// fAsin and fAcos are asin and acos for -1 ≤ x ≤ 1 through atan2 of the exact 1 - x and
// 1 + x: math.Asin and math.Acos cancel near ±1 (acos(0.9999999999999949) was off in its
// fourth digit).
func fAsin(x float64) float64 { return math.Atan2(x, math.Sqrt((1-x)*(1+x))) }
func fAcos(x float64) float64 { return math.Atan2(math.Sqrt((1-x)*(1+x)), x) }

// hugeTrig is the size from which math reduces a trigonometric argument by Payne and
// Hanek's method, which loses bits next to multiples of π/4; below it math is accurate.
const hugeTrig = 1 << 29

// halfPi is π/2 to 1400 bits: enough to reduce any binary64 (up to 2^1024) to within
// 2^-300 of its remainder.
var halfPi = sync.OnceValue(func() *big.Float {
	const prec = 1400
	// Machin: π/4 = 4·atan(1/5) - atan(1/239).
	atanInv := func(n int64) *big.Float {
		x := new(big.Float).SetPrec(prec).Quo(new(big.Float).SetPrec(prec).SetInt64(1), new(big.Float).SetPrec(prec).SetInt64(n))
		x2 := new(big.Float).SetPrec(prec).Mul(x, x)
		sum := new(big.Float).SetPrec(prec).Set(x)
		term := new(big.Float).SetPrec(prec).Set(x)
		tmp := new(big.Float).SetPrec(prec)
		for k := int64(1); ; k++ {
			term.Mul(term, x2)
			tmp.Quo(term, new(big.Float).SetPrec(prec).SetInt64(2*k+1))
			if tmp.Sign() == 0 || tmp.MantExp(nil)-sum.MantExp(nil) < -prec-8 {
				break
			}
			if k%2 == 1 {
				sum.Sub(sum, tmp)
			} else {
				sum.Add(sum, tmp)
			}
		}
		return sum
	}
	p := new(big.Float).SetPrec(prec).Mul(atanInv(5), new(big.Float).SetInt64(4))
	p.Sub(p, atanInv(239))
	return p.Mul(p, new(big.Float).SetInt64(2)) // π/2 = 2·(π/4)
})

// reduceHuge returns x = k·π/2 + r with |r| ≤ π/4 (a little more), r in double-double and
// k mod 4, for |x| ≥ hugeTrig.
func reduceHuge(x float64) (int, dd) {
	const prec = 1400
	hp := halfPi()
	bx := new(big.Float).SetPrec(prec).SetFloat64(x)
	t := new(big.Float).SetPrec(prec).Quo(bx, hp)
	k, _ := t.Int(nil)
	frac := new(big.Float).SetPrec(prec).Sub(t, new(big.Float).SetPrec(prec).SetInt(k))
	if frac.Abs(frac).Cmp(big.NewFloat(0.5)) > 0 { // round to the nearest k
		k.Add(k, big.NewInt(int64(t.Sign())))
	}
	r := new(big.Float).SetPrec(prec).Mul(hp, new(big.Float).SetPrec(prec).SetInt(k))
	r.Sub(bx, r)
	hi, _ := r.Float64()
	lo, _ := r.Sub(r, new(big.Float).SetFloat64(hi)).Float64()
	q := int(new(big.Int).And(k, big.NewInt(3)).Int64())
	return q, dd{hi, lo}
}

// sinCosReduced returns sin r and cos r for |r| ≤ π/4 in double-double.
func sinCosReduced(r dd) (s, c float64) {
	sh, ch := math.Sincos(r.hi)
	return sh + r.lo*ch, ch - r.lo*sh
}

func fSin(x float64) float64 {
	if math.Abs(x) < hugeTrig || math.IsInf(x, 0) {
		return math.Sin(x)
	}
	q, r := reduceHuge(x)
	s, c := sinCosReduced(r)
	return [4]float64{s, c, -s, -c}[q]
}

func fCos(x float64) float64 {
	if math.Abs(x) < hugeTrig || math.IsInf(x, 0) {
		return math.Cos(x)
	}
	q, r := reduceHuge(x)
	s, c := sinCosReduced(r)
	return [4]float64{c, -s, -c, s}[q]
}

func fTan(x float64) float64 {
	if math.Abs(x) < hugeTrig || math.IsInf(x, 0) {
		return math.Tan(x)
	}
	q, r := reduceHuge(x)
	s, c := sinCosReduced(r)
	if q%2 == 1 {
		return -c / s
	}
	return s / c
}
