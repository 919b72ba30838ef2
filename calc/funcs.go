package calc

import (
	"math"
	"math/big"
)

// function is a built-in function: its argument counts and its implementation. The table
// is read-only after initialisation.
type function struct {
	min, max int
	arity    string // as the arity message words it: "1", "2", "1 or 2", "1 to 8"
	fn       func(e *evaluator, t token, args []value) (value, error)
}

func (f *function) checkArity(t token, n int) error {
	if n >= f.min && n <= f.max {
		return nil
	}
	if t.text == "log" && n == 1 {
		return errAt(t, "log(x) is ambiguous; use ln(x), log10(x) or log(x, base)")
	}
	return arityError(t, f.arity, n)
}

// constants are the approximate named constants.
var constants = map[string]float64{
	"pi":  math.Pi,
	"e":   math.E,
	"tau": 2 * math.Pi,
	"deg": math.Pi / 180,
}

func one(fn func(e *evaluator, t token, x value) (value, error)) *function {
	return &function{min: 1, max: 1, arity: "1", fn: func(e *evaluator, t token, a []value) (value, error) {
		return fn(e, t, a[0])
	}}
}

func two(fn func(e *evaluator, t token, x, y value) (value, error)) *function {
	return &function{min: 2, max: 2, arity: "2", fn: func(e *evaluator, t token, a []value) (value, error) {
		return fn(e, t, a[0], a[1])
	}}
}

// approxFn wraps a binary64 function; domain reports whether x is in its real domain.
func approxFn(f func(float64) float64, domain func(float64) bool) *function {
	return one(func(e *evaluator, t token, x value) (value, error) {
		f0, err := float1(t, x)
		if err != nil {
			return value{}, err
		}
		if domain != nil && !domain(f0) {
			return value{}, errAt(t, "complex results are not supported")
		}
		return checkFloat(f(f0), t)
	})
}

func unitInterval(x float64) bool { return x >= -1 && x <= 1 }

var functions = map[string]*function{
	"abs":   one(fnAbs),
	"sign":  one(func(e *evaluator, t token, x value) (value, error) { return small(int64(x.sign())), nil }),
	"floor": one(func(e *evaluator, t token, x value) (value, error) { return e.roundWith(x, rFloor) }),
	"ceil":  one(func(e *evaluator, t token, x value) (value, error) { return e.roundWith(x, rCeil) }),
	"trunc": one(func(e *evaluator, t token, x value) (value, error) { return e.roundWith(x, rTrunc) }),
	"round": {min: 1, max: 2, arity: "1 or 2", fn: fnRound},
	"sqrt":  one(func(e *evaluator, t token, x value) (value, error) { return root(e, t, x, 2, math.Sqrt) }),
	"cbrt":  one(func(e *evaluator, t token, x value) (value, error) { return root(e, t, x, 3, math.Cbrt) }),
	"exp":   approxFn(math.Exp, nil),
	"ln":    one(func(e *evaluator, t token, x value) (value, error) { return e.logarithm(t, x, 0) }),
	"log10": one(func(e *evaluator, t token, x value) (value, error) { return e.logarithm(t, x, 10) }),
	"log2":  one(func(e *evaluator, t token, x value) (value, error) { return e.logarithm(t, x, 2) }),
	"log":   {min: 2, max: 2, arity: "2", fn: fnLog},
	"sin":   approxFn(fSin, nil),
	"cos":   approxFn(fCos, nil),
	"tan":   approxFn(fTan, nil),
	"asin":  approxFn(fAsin, unitInterval),
	"acos":  approxFn(fAcos, unitInterval),
	"atan":  approxFn(math.Atan, nil),
	"atan2": two(func(e *evaluator, t token, y, x value) (value, error) {
		f0, f1, err := floats2(t, y, x)
		if err != nil {
			return value{}, err
		}
		return checkFloat(math.Atan2(f0, f1), t)
	}),
	"sinh":      approxFn(fSinh, nil),
	"cosh":      approxFn(fCosh, nil),
	"tanh":      approxFn(math.Tanh, nil),
	"gcd":       two(func(e *evaluator, t token, x, y value) (value, error) { return gcdLcm(e, t, x, y, false) }),
	"lcm":       two(func(e *evaluator, t token, x, y value) (value, error) { return gcdLcm(e, t, x, y, true) }),
	"factorial": one(func(e *evaluator, t token, x value) (value, error) { return e.factorial(t, x) }),
	"min":       {min: 1, max: maxArgs, arity: "1 to 8", fn: func(e *evaluator, t token, a []value) (value, error) { return e.pick(a, -1) }},
	"max":       {min: 1, max: maxArgs, arity: "1 to 8", fn: func(e *evaluator, t token, a []value) (value, error) { return e.pick(a, 1) }},
	"xor": two(func(e *evaluator, t token, x, y value) (value, error) {
		if !x.isInt() || !y.isInt() {
			return value{}, errNeedsIntegers(t)
		}
		if x.kind == vSmall && y.kind == vSmall {
			return small(x.i ^ y.i), nil
		}
		size := math.Max(x.numBits(), y.numBits())
		if err := e.spend(x, y, linearCost(size), size); err != nil {
			return value{}, err
		}
		return intValue(new(big.Int).Xor(x.rat().Num(), y.rat().Num())), nil
	}),
}

func fnAbs(e *evaluator, t token, x value) (value, error) {
	if x.sign() < 0 {
		return e.neg(x)
	}
	return x, nil
}

// floorRat returns ⌊r⌋.
func floorRat(r *big.Rat) *big.Int {
	// Div is Euclidean; with the positive denominator it is the floor.
	return new(big.Int).Div(r.Num(), r.Denom())
}

// rounding is an integer-valued rounding.
type rounding uint8

const (
	rFloor    rounding = iota
	rCeil              // -floor(-x)
	rTrunc             // towards zero
	rHalfAway          // to the nearest, halves away from zero: round(x)
)

// roundWith applies an integer-valued rounding to x: always an exact integer, computed
// from the exact value of a binary64 operand. Its fast path (roundSmall, roundFloat) works
// in int64s and binary64, both exact; math/big is for the rest.
func (e *evaluator) roundWith(x value, mode rounding) (value, error) {
	if x.isInt() {
		return x, nil
	}
	if v, ok := roundFast(x, mode); ok {
		return v, nil
	}
	if x.isBig() {
		if err := e.spend(x, value{}, divCost(x.numBits(), x.denBits()), x.numBits()); err != nil {
			return value{}, err
		}
	}
	return intValue(roundBig(exactOf(x), mode)), nil
}

// roundFast is the fast path of roundWith, for a fraction held in int64s or a binary64
// within int64's range.
func roundFast(x value, mode rounding) (value, bool) {
	switch x.kind {
	case vFrac:
		return small(roundSmall(x.i, x.d, mode)), true
	case vFloat:
		var f float64
		switch mode {
		case rFloor:
			f = math.Floor(x.f)
		case rCeil:
			f = math.Ceil(x.f)
		case rTrunc:
			f = math.Trunc(x.f)
		default:
			f = math.Round(x.f) // halves away from zero, as roundBig
		}
		if f >= -(1<<63) && f < 1<<63 { // every integral binary64 here is an int64
			return small(int64(f)), true
		}
	}
	return value{}, false
}

// roundSmall rounds n/d (d ≥ 2) in int64s; |n/d| < 2^62, so no step overflows.
func roundSmall(n, d int64, mode rounding) int64 {
	q, r := n/d, n%d // truncated: r has n's sign
	switch mode {
	case rFloor:
		if r < 0 {
			q--
		}
	case rCeil:
		if r > 0 {
			q++
		}
	case rHalfAway:
		if r != 0 && absU(r) >= uint64(d)-absU(r) { // |r|/d ≥ 1/2
			if n < 0 {
				q--
			} else {
				q++
			}
		}
	}
	return q
}

// roundBig is the general path of roundWith.
func roundBig(r *big.Rat, mode rounding) *big.Int {
	switch mode {
	case rFloor:
		return floorRat(r)
	case rCeil:
		n := floorRat(new(big.Rat).Neg(r))
		return n.Neg(n)
	case rTrunc:
		return new(big.Int).Quo(r.Num(), r.Denom())
	}
	return roundHalfAway(r)
}

// roundHalfAway rounds to the nearest integer, halves away from zero.
func roundHalfAway(r *big.Rat) *big.Int {
	n := new(big.Int).Abs(r.Num())
	n.Lsh(n, 1).Add(n, r.Denom())
	n.Quo(n, new(big.Int).Lsh(r.Denom(), 1))
	if r.Sign() < 0 {
		n.Neg(n)
	}
	return n
}

const maxRoundDigits = 100

func fnRound(e *evaluator, t token, a []value) (value, error) {
	x := a[0]
	if len(a) == 1 {
		return e.roundWith(x, rHalfAway)
	}
	d := a[1]
	if d.kind != vSmall || d.i < -maxRoundDigits || d.i > maxRoundDigits {
		return value{}, errAt(t, "round() digits must be an integer from -%d to %d", maxRoundDigits, maxRoundDigits)
	}
	if v, ok := roundDigitsSmall(x, d.i); ok {
		return v, nil
	}
	return e.roundDigits(t, x, d.i)
}

// roundDigitsSmall is the fast path of round(x, k): x held in int64s, and 10^|k| and the
// scaled value too.
func roundDigitsSmall(x value, k int64) (value, bool) {
	n, d, ok := smallParts(x)
	if !ok || absI64(k) >= int64(len(pow10s)) {
		return value{}, false
	}
	p := pow10s[absI64(k)]
	if k >= 0 { // round(n/d · p) / p
		np, ok := mul64(n, p)
		if !ok {
			return value{}, false
		}
		return fracValue(roundHalfSmall(np, d), p)
	}
	dp, ok := mul64(d, p) // round(n / (d·p)) · p
	if !ok {
		return value{}, false
	}
	q, ok := mul64(roundHalfSmall(n, dp), p)
	return small(q), ok
}

// roundHalfSmall is n/d (d ≥ 1) rounded to the nearest, halves away from zero.
func roundHalfSmall(n, d int64) int64 {
	if d == 1 {
		return n
	}
	return roundSmall(n, d, rHalfAway)
}

// roundDigits is the general path of round(x, k), in math/big.
func (e *evaluator) roundDigits(t token, x value, k int64) (value, error) {
	if x.isBig() {
		p := float64(absI64(k)) * log2of10
		cost := ratCost(bitsOf(x), p, x.numBits()+p, x.denBits()+p) + divCost(x.numBits()+p, x.denBits())
		if err := e.spend(x, value{}, cost, x.numBits()+p); err != nil {
			return value{}, err
		}
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(absI64(k)), nil))
	if k < 0 {
		scale.Inv(scale)
	}
	r := new(big.Rat).Mul(exactOf(x), scale)
	r.SetInt(roundHalfAway(r))
	r.Quo(r, scale)
	if x.isExact() {
		return e.checkRat(t, r)
	}
	f, _ := r.Float64()
	return checkFloat(f, t)
}

// root is sqrt (q = 2) and cbrt (q = 3): exact on perfect powers of rationals.
func root(e *evaluator, t token, x value, q int, f func(float64) float64) (value, error) {
	if x.sign() < 0 && q%2 == 0 {
		return value{}, errAt(t, "complex results are not supported")
	}
	if n, d, ok := smallParts(x); ok && q == 2 {
		// Both parts exact in binary64 (≤ 2^53): the square root's rounding is exact, and
		// a perfect square is recognised without math/big.
		if n <= 1<<53 && d <= 1<<53 {
			rn, okn := isqrt(n)
			rd, okd := isqrt(d)
			if okn && okd {
				v, _ := fracValue(rn, rd)
				return v, nil
			}
			return checkFloat(math.Sqrt(float64(n)/float64(d)), t)
		}
	}
	if x.isExact() {
		if err := e.force(x); err != nil {
			return value{}, err
		}
		r, ok, err := e.rootRat(x.rat(), q)
		if err != nil {
			return value{}, err
		}
		if ok {
			return ratValue(r), nil
		}
	}
	f0, err := float1(t, x)
	if err != nil {
		return value{}, err
	}
	return checkFloat(f(f0), t)
}

// isqrt returns √n for 0 ≤ n ≤ 2^53 and whether n is a perfect square.
func isqrt(n int64) (int64, bool) {
	r := int64(math.Sqrt(float64(n)))
	for r*r > n {
		r--
	}
	for (r+1)*(r+1) <= n {
		r++
	}
	return r, r*r == n
}

// logDomain checks the argument of a logarithm.
func logDomain(t token, x value) error {
	switch x.sign() {
	case 0:
		return errAt(t, "math domain error")
	case -1:
		return errAt(t, "complex results are not supported")
	}
	return nil
}

// logarithm is ln (base 0), log10 and log2: exact when x is an exact integer power of the
// base; otherwise approximate, computed from the exact value for an exact x.
func (e *evaluator) logarithm(t token, x value, base int64) (value, error) {
	if err := logDomain(t, x); err != nil {
		return value{}, err
	}
	if base != 0 && x.isExact() {
		if k, ok, err := e.exactLog(x, big.NewRat(base, 1)); ok || err != nil {
			return small(k), err
		}
	}
	l, err := e.log(x, base)
	if err != nil {
		return value{}, err
	}
	return checkFloat(l, t)
}

// log returns the logarithm of x > 0 to the base (0 for e, 2 or 10) within a few units in
// the last place. An exact x is not rounded to binary64 first, which could overflow,
// underflow or lose the digits that matter (ln(1 + 10**-20)): x = 2^k·(1 + f) with k the
// integer nearest log2 x, f computed exactly and then rounded once, and the logarithm
// is k·ln 2 + log1p(f), where the two terms never cancel.
func (e *evaluator) log(x value, base int64) (float64, error) {
	if x.kind == vFloat {
		switch base {
		case 2:
			return fLog2(x.f), nil
		case 10:
			return fLog10(x.f), nil
		}
		return fLog(x.f), nil
	}
	if x.kind == vSmall { // an integer ≥ 1: rounding it to binary64 changes its logarithm by < 2^-53
		f := float64(x.i)
		switch base {
		case 2:
			return fLog2(f), nil
		case 10:
			return math.Log10(f), nil
		}
		return math.Log(f), nil
	}
	times := 1.0
	r := (*big.Rat)(nil)
	if x.kind == vLazy { // log(b**n) = n·log b: no need for the digits
		r, times = x.lz.base, float64(x.lz.exp)
	} else {
		r = x.rat()
	}
	num, den := new(big.Int).Abs(r.Num()), r.Denom()
	size := float64(num.BitLen() + den.BitLen())
	if err := e.m.spend(4*linearCost(size)+divCost(size+64, size/2), 0); err != nil {
		return 0, err
	}
	k := math.Round(log2Abs(num) - log2Abs(den))
	var n, d *big.Int // f = n/d = x/2^k - 1
	if k >= 0 {
		d = new(big.Int).Lsh(den, uint(k))
		n = new(big.Int).Sub(num, d)
	} else {
		n = new(big.Int).Lsh(num, uint(-k))
		n.Sub(n, den)
		d = den
	}
	q := new(big.Rat).SetInt(n)
	q.Denom().Set(d) // not in lowest terms: Float64 rounds any quotient correctly
	f, _ := q.Float64()
	l := math.Log1p(f)
	switch base {
	case 2:
		return times * (k + l*(1/math.Ln2)), nil
	case 10:
		return times * (k*(math.Ln2/math.Ln10) + l*(1/math.Ln10)), nil
	}
	return times * (k*math.Ln2 + l), nil
}

// exactLog returns k with base**k == x (x, base > 0), if such an integer exists. With
// base = p/q in lowest terms and k > 0, base**k is p**k/q**k in lowest terms, so x's
// numerator and denominator must have the sizes of those powers: that is checked first,
// which rejects at once a base near 1 whose power would be enormous (log(2, 1.0000001)
// would otherwise build a number of 10^8 bits), and the one power computed to confirm is
// no larger than x.
func (e *evaluator) exactLog(xv value, base *big.Rat) (int64, bool, error) {
	if err := e.force(xv); err != nil {
		return 0, false, err
	}
	x := xv.rat()
	lb := log2Abs(base.Num()) - log2Abs(base.Denom())
	if lb == 0 {
		return 0, false, nil
	}
	k := math.Round((log2Abs(x.Num()) - log2Abs(x.Denom())) / lb)
	if math.Abs(k) > 1<<31 {
		return 0, false, nil
	}
	b, n := base, int64(k)
	if n < 0 {
		b, n = new(big.Rat).Inv(base), -n
	}
	if !powSizeMatches(b.Num(), n, x.Num()) || !powSizeMatches(b.Denom(), n, x.Denom()) {
		return 0, false, nil
	}
	if err := e.m.spend(powCost(float64(x.Num().BitLen()))+powCost(float64(x.Denom().BitLen())), 0); err != nil {
		return 0, false, err
	}
	return int64(k), powRat(b, n).Cmp(x) == 0, nil
}

// powSizeMatches reports whether p**n may equal want (p, want > 0): their base-2
// logarithms agree to within one.
func powSizeMatches(p *big.Int, n int64, want *big.Int) bool {
	return math.Abs(float64(n)*log2Abs(p)-log2Abs(want)) < 1
}

func fnLog(e *evaluator, t token, a []value) (value, error) {
	x, b := a[0], a[1]
	if err := logDomain(t, x); err != nil {
		return value{}, err
	}
	if b.sign() <= 0 {
		return value{}, errAt(t, "math domain error")
	}
	// A base of 1, or one that rounds to binary64 1 (whose binary64 logarithm is 0), is a
	// division by zero. A lazy power of more than 65536 bits is far from 1.
	if bf, _ := b.float(); b.kind != vLazy && bf == 1 {
		return value{}, errAt(t, "division by zero")
	}
	if x.isExact() && b.isExact() {
		if err := e.force(b); err != nil {
			return value{}, err
		}
		if k, ok, err := e.exactLog(x, b.rat()); ok || err != nil {
			return small(k), err
		}
	}
	lx, err := e.log(x, 0)
	if err != nil {
		return value{}, err
	}
	lb, err := e.log(b, 0)
	if err != nil {
		return value{}, err
	}
	if lb == 0 { // a base that rounds to 1 was refused above; this is the same case
		return value{}, errAt(t, "division by zero")
	}
	return checkFloat(lx/lb, t)
}

func gcdLcm(e *evaluator, t token, x, y value, lcm bool) (value, error) {
	if !x.isInt() || !y.isInt() {
		return value{}, errNeedsIntegers(t)
	}
	if x.kind == vSmall && y.kind == vSmall && x.i != math.MinInt64 && y.i != math.MinInt64 {
		if g := int64(gcd64(absU(x.i), absU(y.i))); !lcm || g == 0 {
			return small(g), nil
		}
	}
	xb, yb := x.numBits(), y.numBits()
	cost := gcdCost(xb, yb)
	if lcm {
		cost += divCost(xb, xb/2) + mulCost(xb, yb) // the quotient of a by the gcd, times b
	}
	if err := e.spend(x, y, cost, xb+yb); err != nil {
		return value{}, err
	}
	a := new(big.Int).Abs(x.rat().Num())
	b := new(big.Int).Abs(y.rat().Num())
	g, err := e.gcd(a, b)
	if err != nil {
		return value{}, err
	}
	if !lcm {
		return intValue(g), nil
	}
	if g.Sign() == 0 {
		return small(0), nil
	}
	if a.BitLen()-g.BitLen()+b.BitLen()-1 > e.lim.MaxBits { // the least lcm's size: refused before multiplying
		return value{}, errTooLarge(t, e.lim.MaxBits)
	}
	return e.checkInt(t, a.Mul(a.Quo(a, g), b))
}

// pick returns the argument that compares as dir (-1 min, 1 max), unchanged; the first
// of equals wins.
func (e *evaluator) pick(args []value, dir int) (value, error) {
	best := args[0]
	for _, v := range args[1:] {
		if v.isBig() || best.isBig() {
			cost := mulCost(v.numBits(), best.denBits()) + mulCost(best.numBits(), v.denBits())
			if err := e.spend(v, best, cost, 0); err != nil {
				return value{}, err
			}
		}
		if compare(v, best) == dir {
			best = v
		}
	}
	return best, nil
}

func compare(a, b value) int {
	if a.kind == vSmall && b.kind == vSmall {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	return exactOf(a).Cmp(exactOf(b))
}
