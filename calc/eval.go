package calc

import (
	"math"
	"math/big"
	"math/bits"
)

// maxRationalBits bounds an exact non-integer: past it (numerator and denominator
// together) the value is made approximate, which bounds the cost of the GCDs. For + - * /
// // % it is judged on the exact result once computed (checkRat), and an integer is never
// made approximate; for ** and literals, on the estimates before computing.
const maxRationalBits = 100_000

// lazyBits is the estimated size above which an exact power is kept lazy, so that a chain
// of powers is refused by estimate before any intermediate is computed.
const lazyBits = 1 << 16

// evaluator walks a parsed tree. Operands are evaluated left to right, then the operator.
// Every operation on big values is admitted by the meter with its estimated cost first.
type evaluator struct {
	t       *tree
	s       *Session
	lim     *Limits
	m       *meter
	steps   int
	dynCost int     // budget units for large exact results
	vals    []value // results by node index; the storage is reused from line to line
	args    []value // the arguments of a call (call); reused too
	held    int64   // bytes of the big results in vals (see hold)
	sawBig  bool    // a big value was in vals: they hold memory, to be let go
}

// begin readies the evaluator for a line, keeping its storage. Field by field: assigning
// a whole evaluator copies it through the runtime with write barriers, 7% of a line "1".
// Every field but the storage is set here.
func (e *evaluator) begin(t *tree, s *Session, lim *Limits, m *meter) {
	e.t, e.s, e.lim, e.m = t, s, lim, m
	e.steps, e.dynCost, e.held, e.sawBig = 0, 0, 0, false
}

// run evaluates the tree. The parser appends every node after its operands, so the
// nodes in index order are exactly the evaluation order the reference prescribes (left
// operand, right operand, operator; arguments left to right): one loop over them, each
// result stored by index, with no recursion and no large values passed up a call chain.
//
// Each result is written into its slot in place: a literal is copied there, a binary
// operator's fast path (smallBinary) writes its int64s there, and only the other nodes
// go through node, the general path, and return their value. Writing in place rather
// than returning a value through the calls made evaluation a third faster. The line's
// result is returned in its slot too, valid until release: a value returned in registers
// was stored to the caller's stack field by field and copied from there as a whole,
// which stalled on those stores (store forwarding, see parser.advance: 2 % of a line "1").
func (e *evaluator) run() (*value, error) {
	nodes, lits := e.t.nodes, e.t.lits
	vals := e.vals[:0]
	maxBits := e.lim.MaxBits
	for i := range nodes {
		n := &nodes[i]
		vals = append(vals, value{})
		switch {
		case n.op == nLit:
			if l := &lits[n.tok.lit]; l.kind <= vFrac {
				vals[i].setSmall(l.i, l.den())
			} else {
				vals[i] = *l
				e.sawBig = e.sawBig || l.isBig() // held by the tree: nothing to count
			}
			continue
		case n.op >= nAdd && smallBinary(n.op, &vals[n.x], &vals[n.y], &vals[i], maxBits):
		default:
			v, err := e.node(n, vals)
			if err == nil && v.isBig() {
				err = e.bigValue(n, v)
			}
			if err != nil {
				e.vals = vals[:i]
				return nil, err
			}
			vals[i] = v
			if e.sawBig { // values held in int64s or binary64 hold no memory
				e.dropOperands(n, vals)
			}
		}
		if n.op > nAns {
			// The clock is read every 64 operations; those on big values are checked
			// as they are admitted (spend).
			if e.steps++; e.steps%64 == 0 {
				if err := e.m.check(); err != nil {
					e.vals = vals
					return nil, err
				}
			}
		}
	}
	e.vals = vals
	return &vals[e.t.root], nil
}

// node evaluates one node other than a literal, its operands in vals, on the general
// path.
func (e *evaluator) node(n *node, vals []value) (value, error) {
	switch n.op {
	case nName:
		return e.lookup(n.tok)
	case nAns:
		if !e.s.hasAns {
			return value{}, errAt(n.tok, "no previous result")
		}
		return e.s.ans, nil
	case nCall:
		return e.call(n, vals)
	case nNeg, nPos, nNot:
		return e.unary(n, vals[n.x])
	case nFact:
		return e.factorial(n.tok, vals[n.x])
	}
	return e.binary(n, &vals[n.x], &vals[n.y])
}

// dropOperands forgets the operands of n once n is computed, so that the line holds only
// the values still to be used, not every intermediate: a line of 900 minus signs on a
// large value holds two of them at a time, not 900.
func (e *evaluator) dropOperands(n *node, vals []value) {
	switch {
	case n.op == nCall:
		for _, a := range e.t.argsOf(n) {
			e.drop(vals, a)
		}
	case n.op >= nAdd:
		e.drop(vals, n.x)
		e.drop(vals, n.y)
	case n.op >= nNeg:
		e.drop(vals, n.x)
	}
}

func (e *evaluator) drop(vals []value, i int32) {
	if vals[i].isBig() && e.t.nodes[i].op > nAns {
		e.held -= storedBytes(vals[i])
	}
	vals[i] = value{}
}

// release forgets every value of the line, so that nothing computed outlives it but the
// result the session keeps.
func (e *evaluator) release() {
	if e.sawBig {
		clear(e.vals)
	}
	e.vals = e.vals[:0]
}

// bigValue notes a big value entering vals, and for a result of the line, charges it to
// the budget when large and holds it (see hold).
func (e *evaluator) bigValue(n *node, v value) error {
	e.sawBig = true
	if n.op <= nAns { // a literal, variable or ans: held elsewhere already
		return nil
	}
	if b := int(bitsOf(v)); b > 1024 {
		e.dynCost += (b + 1023) / 1024
	}
	return e.hold(n, v)
}

// hold counts a big result while the line holds it: the results waiting for their
// operator at once (a chain of 250 powers or nested calls of 8 arguments keep that many)
// are capped at the session's memory limit too, as are the line's literals (parser).
func (e *evaluator) hold(n *node, v value) error {
	e.held += storedBytes(v)
	if e.held > e.lim.MaxSessionMemory {
		return errMemory(n.tok, e.lim.MaxSessionMemory)
	}
	return nil
}

// force computes the digits of a lazy power, priced like any operation, before anything
// reads them (value.rat); other values are left alone.
func (e *evaluator) force(v value) error {
	if v.kind != vLazy || v.lz.val != nil {
		return nil
	}
	if err := e.m.spend(powCost(v.lz.numBits)+powCost(v.lz.denBits), bitsOf(v)); err != nil {
		return err
	}
	v.lz.force()
	return nil
}

// force2 forces both operands of an operation.
func (e *evaluator) force2(a, b value) error {
	if err := e.force(a); err != nil {
		return err
	}
	return e.force(b)
}

// spend admits an operation on exact operands a and b that costs ns and gives a result
// of about bits bits, once their digits are ready.
func (e *evaluator) spend(a, b value, ns, bits float64) error {
	if err := e.force2(a, b); err != nil {
		return err
	}
	return e.m.spend(ns, bits)
}

// digits prepares x for a linear pass over its digits (copy, negation, bitwise): a lazy
// power is computed, and the pass priced.
func (e *evaluator) digits(x value) error {
	if !x.isBig() {
		return nil
	}
	return e.spend(x, value{}, linearCost(bitsOf(x)), bitsOf(x))
}

func (e *evaluator) lookup(t token) (value, error) {
	if k := t.known(); k != nil && k.isConst {
		return approx(k.constant), nil
	}
	if t.text == "ans" || t.text == "_" {
		if !e.s.hasAns {
			return value{}, errAt(t, "no previous result")
		}
		return e.s.ans, nil
	}
	if v, ok := e.s.vars[t.text]; ok {
		return v.v, nil
	}
	return value{}, errAt(t, "unknown name '%s'", t.text)
}

func errTooLarge(t token, maxBits int) *Error {
	return errAt(t, "result too large (limit %d bits)", maxBits)
}

func errApproxOverflow(t token) *Error {
	return errAt(t, "result too large for an approximate number")
}

func errNeedsIntegers(t token) *Error { return errAt(t, "'%s' needs integers", t.text) }

// checkFloat turns a binary64 result into a value: infinities are an overflow and NaN a
// domain error, since the language has neither.
func checkFloat(f float64, t token) (value, error) {
	switch {
	case math.IsInf(f, 0):
		return value{}, errApproxOverflow(t)
	case math.IsNaN(f):
		return value{}, errAt(t, "math domain error")
	}
	return approx(f), nil
}

// floats2 and float1 convert operands to binary64 for an approximate operation.
func floats2(t token, a, b value) (float64, float64, error) {
	x, err := float1(t, a)
	if err != nil {
		return 0, 0, err
	}
	y, err := float1(t, b)
	return x, y, err
}

func float1(t token, v value) (float64, error) {
	f, ok := v.float()
	if !ok {
		return 0, errApproxOverflow(t)
	}
	return f, nil
}

func (e *evaluator) unary(n *node, x value) (value, error) {
	switch n.op {
	case nPos:
		return x, nil
	case nNeg:
		return e.neg(x)
	}
	if !x.isInt() {
		return value{}, errNeedsIntegers(n.tok)
	}
	if x.kind == vSmall && x.i != math.MinInt64 {
		return small(-x.i - 1), nil
	}
	if err := e.digits(x); err != nil {
		return value{}, err
	}
	return e.checkInt(n.tok, new(big.Int).Not(x.rat().Num()))
}

// neg is -x: a copy of a big value's digits.
func (e *evaluator) neg(x value) (value, error) {
	if err := e.digits(x); err != nil {
		return value{}, err
	}
	return neg(x), nil
}

func neg(x value) value {
	switch x.kind {
	case vFloat:
		return approx(-x.f)
	case vSmall, vFrac: // the fast path: the numerator's sign
		if x.i != math.MinInt64 {
			x.i = -x.i
			return x
		}
	}
	return negBig(x)
}

// negBig is the general path of neg, in math/big.
func negBig(x value) value { return ratValue(new(big.Rat).Neg(x.rat())) }

// checkInt returns an integer result unless it is over the bit limit.
func (e *evaluator) checkInt(t token, n *big.Int) (value, error) {
	if n.BitLen() > e.lim.MaxBits {
		return value{}, errTooLarge(t, e.lim.MaxBits)
	}
	return intValue(n), nil
}

// checkRat judges an exact result once computed: an integer over the bit limit is refused;
// a non-integer over maxRationalBits (numerator and denominator together) becomes the
// binary64 nearest it, which may overflow (error) or underflow (≈ 0).
func (e *evaluator) checkRat(t token, r *big.Rat) (value, error) {
	if r.IsInt() { // checkInt, keeping r rather than copying its digits into a new one
		if r.Num().BitLen() > e.lim.MaxBits {
			return value{}, errTooLarge(t, e.lim.MaxBits)
		}
		return ratValue(r), nil
	}
	if size := float64(r.Num().BitLen() + r.Denom().BitLen()); size > maxRationalBits {
		if err := e.m.spend(linearCost(size), 0); err != nil {
			return value{}, err
		}
		f, _ := r.Float64() // the nearest binary64
		return checkFloat(f, t)
	}
	return ratValue(r), nil
}

// A binary operator is evaluated from its row of binaryTable, in two steps:
//
//  1. the fast path (smallBinary, tried by run): both operands held in int64s and a
//     result that fits — no math/big, no allocation, no pricing: what nearly every line
//     people type needs;
//  2. the general path of the row (binary): for + - * / // %, one promotion — an
//     approximate operand makes the operation approximate (floatBinary), otherwise it is
//     exact, in math/big, priced first (exactBinary); ** and the integer operators have
//     their own.
//
// The fast path returns what the general path would (TestFastPathsAgreeWithGeneral).

// binary is the general path of a binary operator whose fast path declined. The operands
// are passed by pointer into the evaluator's values: two values by copy take more
// registers than there are, and the copies were a tenth of a typical line.
func (e *evaluator) binary(n *node, a, b *value) (value, error) {
	return binaryTable[n.op].general(e, n, *a, *b)
}

// binaryOp is how one binary operator computes, by the representation of its operands, as
// ivy's binary-op table has it: each operation's fast paths and its general path in one
// row. A fast path returns its result as n/d in lowest terms (d = 1 for an integer), so
// that it passes in registers and is written into its slot without a whole value's copy.
type binaryOp struct {
	ints  func(x, y int64) (n, d int64, ok bool)           // integers held in int64s
	fracs func(an, ad, bn, bd int64) (n, d int64, ok bool) // fractions held in int64s (d = 1 for an integer); nil: none
	// bounded: the operator's result is refused by its estimate against MaxBits (§7), so
	// the fast path may take it only when the limit admits every int64 (MaxBits ≥ 64).
	bounded bool
	general func(e *evaluator, n *node, a, b value) (value, error)
}

var binaryTable = [...]binaryOp{
	nAdd:      {ints: addInts, fracs: addFracs, general: (*evaluator).arith},
	nSub:      {ints: subInts, fracs: subFracs, general: (*evaluator).arith},
	nMul:      {ints: mulInts, fracs: mulFracs, general: (*evaluator).arith},
	nDiv:      {ints: divInts, fracs: divFracs, general: (*evaluator).arith},
	nFloorDiv: {ints: floorDivInts, general: (*evaluator).arith},
	nMod:      {ints: modInts, general: (*evaluator).arith},
	nPow:      {ints: powInts, bounded: true, general: (*evaluator).powOp},
	nShl:      {ints: shlInts, bounded: true, general: (*evaluator).integerOp},
	nShr:      {ints: shrInts, general: (*evaluator).integerOp},
	nAnd:      {ints: func(x, y int64) (int64, int64, bool) { return x & y, 1, true }, general: (*evaluator).integerOp},
	nOr:       {ints: func(x, y int64) (int64, int64, bool) { return x | y, 1, true }, general: (*evaluator).integerOp},
}

// smallBinary is the fast path of a binary operator: operands held in int64s (integers,
// or fractions n/d in lowest terms) and a result that fits in them, written into dst,
// which must be the zero value. It reports false otherwise — overflow, a zero divisor,
// an operand in math/big or binary64, a fraction where the operator has no fraction path
// — and the general path decides, errors included.
func smallBinary(op opKind, a, b, dst *value, maxBits int) bool {
	row := &binaryTable[op]
	if a.kind > vFrac || b.kind > vFrac || row.bounded && maxBits < 64 {
		return false
	}
	var n, d int64
	var ok bool
	switch {
	case a.kind == vSmall && b.kind == vSmall:
		n, d, ok = row.ints(a.i, b.i)
	case row.fracs != nil:
		n, d, ok = row.fracs(a.i, a.den(), b.i, b.den())
	}
	if ok {
		dst.setSmall(n, d)
	}
	return ok
}

// The fast paths on integers. Each reports whether the result fits in an int64.

func addInts(x, y int64) (int64, int64, bool) {
	r, ok := add64(x, y)
	return r, 1, ok
}

func subInts(x, y int64) (int64, int64, bool) {
	if y == math.MinInt64 {
		return 0, 0, false
	}
	return addInts(x, -y)
}

func mulInts(x, y int64) (int64, int64, bool) {
	r, ok := mul64(x, y)
	return r, 1, ok
}

func divInts(x, y int64) (int64, int64, bool) {
	if y == 0 || x == math.MinInt64 && y == -1 {
		return 0, 0, false
	}
	if x%y == 0 {
		return x / y, 1, true
	}
	return lowestTerms(x, y)
}

// floorDivMod64 is floor division and the remainder with the sign of the divisor; ok is
// false for a zero divisor or an overflow.
func floorDivMod64(x, y int64) (q, r int64, ok bool) {
	if y == 0 || x == math.MinInt64 && y == -1 {
		return 0, 0, false
	}
	q, r = x/y, x%y
	if r != 0 && (r < 0) != (y < 0) { // Go truncates; the language floors
		q, r = q-1, r+y
	}
	return q, r, true
}

func floorDivInts(x, y int64) (int64, int64, bool) {
	q, _, ok := floorDivMod64(x, y)
	return q, 1, ok
}

func modInts(x, y int64) (int64, int64, bool) {
	_, r, ok := floorDivMod64(x, y)
	return r, 1, ok
}

// powInts is x**y by squaring. |x|**y ≥ 2**((len(|x|)-1)·y): a power surely past int64
// is declined at once (2 ** 64 used to take 63 multiplications to find out).
func powInts(x, y int64) (int64, int64, bool) {
	if y < 0 || y > 64 || int64(bits.Len64(absU(x))-1)*y >= 64 {
		return 0, 0, false
	}
	r, sq := int64(1), x
	for {
		var ok bool
		if y&1 == 1 {
			if r, ok = mul64(r, sq); !ok {
				return 0, 0, false
			}
		}
		if y >>= 1; y == 0 {
			return r, 1, true
		}
		if sq, ok = mul64(sq, sq); !ok {
			return 0, 0, false
		}
	}
}

func shlInts(x, y int64) (int64, int64, bool) {
	if y < 0 || y > 62 || x<<y>>y != x {
		return 0, 0, false
	}
	return x << y, 1, true
}

func shrInts(x, y int64) (int64, int64, bool) {
	if y < 0 {
		return 0, 0, false
	}
	return x >> min(y, 63), 1, true
}

// The fast paths on fractions: the products of numerators and denominators, reduced by
// lowestTerms.

func addFracs(an, ad, bn, bd int64) (int64, int64, bool) { // (an·bd + bn·ad) / (ad·bd)
	x, ok1 := mul64(an, bd)
	y, ok2 := mul64(bn, ad)
	d, ok3 := mul64(ad, bd)
	n, ok4 := add64(x, y)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, 0, false
	}
	return lowestTerms(n, d)
}

func subFracs(an, ad, bn, bd int64) (int64, int64, bool) {
	if bn == math.MinInt64 {
		return 0, 0, false
	}
	return addFracs(an, ad, -bn, bd)
}

func mulFracs(an, ad, bn, bd int64) (int64, int64, bool) {
	n, ok1 := mul64(an, bn)
	d, ok2 := mul64(ad, bd)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	return lowestTerms(n, d)
}

func divFracs(an, ad, bn, bd int64) (int64, int64, bool) {
	if bn == 0 {
		return 0, 0, false
	}
	return mulFracs(an, ad, bd, bn)
}

// arith is the general path of + - * / // %: after the check of the divisor, one
// promotion.
func (e *evaluator) arith(n *node, a, b value) (value, error) {
	switch n.op {
	case nDiv, nFloorDiv, nMod:
		if b.sign() == 0 {
			return value{}, errAt(n.tok, "division by zero")
		}
	}
	if !a.isExact() || !b.isExact() {
		return floatBinary(n, a, b)
	}
	return e.exactBinary(n, a, b)
}

// powOp is the general path of **.
func (e *evaluator) powOp(n *node, a, b value) (value, error) { return e.pow(n.tok, a, b) }

// floatBinary is + - * / // % with an approximate operand (the divisor is not an exact 0):
// the exact operand is rounded to binary64 first, and the result is approximate, except
// floor division's.
func floatBinary(n *node, a, b value) (value, error) {
	if n.op == nFloorDiv || n.op == nMod {
		return floorDivModFloat(n, a, b)
	}
	x, y, err := floats2(n.tok, a, b)
	if err != nil {
		return value{}, err
	}
	var r float64
	switch n.op {
	case nAdd, nSub:
		r = x + y
		if n.op == nSub {
			r = x - y
		}
		if math.Abs(r) <= 1e-15*math.Max(math.Abs(x), math.Abs(y)) {
			r = 0 // snap: the difference is rounding noise
		}
	case nMul:
		r = x * y
	case nDiv:
		if y == 0 { // an exact divisor too small for binary64
			return value{}, errAt(n.tok, "division by zero")
		}
		r = x / y
	}
	return checkFloat(r, n.tok)
}

// exactBinary is + - * / // % on exact operands (the divisor is not 0), in math/big: each
// operation is priced from the operands' sizes and admitted by the meter before it runs,
// and its result judged (checkInt, checkRat).
func (e *evaluator) exactBinary(n *node, a, b value) (value, error) {
	switch n.op {
	case nAdd, nSub:
		return e.addSub(n, a, b)
	case nMul:
		return e.mul(n.tok, a, b)
	case nDiv:
		return e.div(n.tok, a, b)
	}
	return e.floorDivMod(n, a, b)
}

func (e *evaluator) addSub(n *node, a, b value) (value, error) {
	numEst := math.Max(a.numBits()+b.denBits(), b.numBits()+a.denBits()) + 1
	denEst := a.denBits() + b.denBits()
	cost := linearCost(numEst)
	if !a.isInt() || !b.isInt() {
		cost = ratCost(bitsOf(a), bitsOf(b), numEst, denEst)
	}
	if err := e.spend(a, b, cost, numEst+denEst); err != nil {
		return value{}, err
	}
	r := new(big.Rat)
	switch {
	case a.isInt() && b.isInt(): // in big.Int: big.Rat would look for a common divisor
		if n.op == nSub {
			r.Num().Sub(a.rat().Num(), b.rat().Num())
		} else {
			r.Num().Add(a.rat().Num(), b.rat().Num())
		}
	case n.op == nSub:
		r.Sub(a.rat(), b.rat())
	default:
		r.Add(a.rat(), b.rat())
	}
	return e.checkRat(n.tok, r)
}

func (e *evaluator) mul(t token, a, b value) (value, error) {
	if a.sign() == 0 || b.sign() == 0 {
		return small(0), nil
	}
	numEst, denEst := a.numBits()+b.numBits(), a.denBits()+b.denBits()
	cost := mulCost(a.numBits(), b.numBits())
	if a.isInt() && b.isInt() {
		// The estimate of §7 for a product of integers, before computing it.
		if numEst > float64(e.lim.MaxBits) {
			return value{}, errTooLarge(t, e.lim.MaxBits)
		}
	} else {
		cost = ratCost(bitsOf(a), bitsOf(b), numEst, denEst)
	}
	if err := e.spend(a, b, cost, numEst+denEst); err != nil {
		return value{}, err
	}
	r := new(big.Rat)
	if a.isInt() && b.isInt() { // in big.Int: big.Rat would look for a common divisor
		r.Num().Mul(a.rat().Num(), b.rat().Num())
	} else {
		r.Mul(a.rat(), b.rat())
	}
	return e.checkRat(t, r)
}

// div computes the result exactly, then judges it (checkInt, checkRat).
func (e *evaluator) div(t token, a, b value) (value, error) {
	numEst, denEst := a.numBits()+b.denBits(), a.denBits()+b.numBits()
	if a.isInt() && b.isInt() {
		if err := e.spend(a, b, divCost(a.numBits(), b.numBits()), a.numBits()); err != nil {
			return value{}, err
		}
		q, r := new(big.Int).QuoRem(a.rat().Num(), b.rat().Num(), new(big.Int))
		if r.Sign() == 0 {
			return e.checkInt(t, q)
		}
	}
	if err := e.spend(a, b, ratCost(bitsOf(a), bitsOf(b), numEst, denEst), numEst+denEst); err != nil {
		return value{}, err
	}
	return e.checkRat(t, new(big.Rat).Quo(a.rat(), b.rat()))
}

// exactOf returns the exact value of v; a binary64 converts exactly.
func exactOf(v value) *big.Rat {
	if v.kind == vFloat {
		return new(big.Rat).SetFloat64(v.f) // exact: every binary64 is a dyadic rational
	}
	return v.rat()
}

// floorDivMod implements // and % on exact operands (b ≠ 0): the floor, and the remainder,
// which takes the sign of the divisor.
func (e *evaluator) floorDivMod(n *node, a, b value) (value, error) {
	// The results are computed exactly, then judged (checkInt, checkRat).
	if err := e.spend(a, b, floorDivModCost(a, b, n.op == nMod), a.numBits()+b.denBits()); err != nil {
		return value{}, err
	}
	x, y := a.rat(), b.rat()
	num := new(big.Int).Mul(x.Num(), y.Denom())
	den := new(big.Int).Mul(x.Denom(), y.Num())
	if den.Sign() < 0 {
		num.Neg(num)
		den.Neg(den)
	}
	q := num.Div(num, den) // Euclidean with a positive divisor: the floor
	if n.op == nFloorDiv {
		return e.checkInt(n.tok, q)
	}
	r := new(big.Rat).Sub(x, new(big.Rat).Mul(y, new(big.Rat).SetInt(q)))
	return e.checkRat(n.tok, r)
}

// floorDivModFloat is // and % with an approximate operand: the exact one is rounded to
// binary64 first (beyond its range: the overflow error; a divisor that becomes 0: division
// by zero), then the two binary64 values are used exactly, as Python does. The floor is an
// exact integer; the remainder, exactly fmod or fmod plus the divisor, is rounded once.
func floorDivModFloat(n *node, a, b value) (value, error) {
	x, y, err := floats2(n.tok, a, b)
	if err != nil {
		return value{}, err
	}
	if y == 0 {
		return value{}, errAt(n.tok, "division by zero")
	}
	if n.op == nMod {
		r := math.Mod(x, y) // exact
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return approx(r), nil
	}
	xr, yr := new(big.Rat).SetFloat64(x), new(big.Rat).SetFloat64(y)
	return intValue(floorRat(xr.Quo(xr, yr))), nil
}

// floorDivModCost estimates a // b (and a % b): the cross products, the floor division of
// their integers, and for the remainder a - b·q, in big.Rat when a or b is a fraction.
func floorDivModCost(a, b value, mod bool) float64 {
	an, ad, bn, bd := a.numBits(), a.denBits(), b.numBits(), b.denBits()
	num, den := an+bd, ad+bn
	cost := mulCost(an, bd) + mulCost(ad, bn) + divCost(num, den)
	if !mod {
		return cost
	}
	q := math.Max(num-den, 1)
	cost += mulCost(bn, q) + linearCost(num)
	if ad > 1 || bd > 1 {
		cost += gcdCost(bn+q, bd) + ratCost(an+ad, bn+q+bd, math.Max(an+bd, bn+q+ad), ad+bd)
	}
	return cost
}

func (e *evaluator) integerOp(n *node, a, b value) (value, error) {
	if !a.isInt() || !b.isInt() {
		return value{}, errNeedsIntegers(n.tok)
	}
	switch n.op {
	case nShl, nShr:
		return e.shift(n, a, b)
	}
	size := math.Max(a.numBits(), b.numBits())
	if err := e.spend(a, b, linearCost(size), size); err != nil {
		return value{}, err
	}
	x, y := a.rat().Num(), b.rat().Num()
	if n.op == nAnd {
		return intValue(new(big.Int).And(x, y)), nil
	}
	return intValue(new(big.Int).Or(x, y)), nil
}

func (e *evaluator) shift(n *node, a, b value) (value, error) {
	if b.sign() < 0 {
		return value{}, errAt(n.tok, "negative shift count")
	}
	if n.op == nShr {
		if a.sign() == 0 {
			return small(0), nil
		}
		if b.kind != vSmall || b.i > int64(e.lim.MaxBits)+64 {
			if a.sign() < 0 {
				return small(-1), nil
			}
			return small(0), nil
		}
		if err := e.digits(a); err != nil {
			return value{}, err
		}
		return intValue(new(big.Int).Rsh(a.rat().Num(), uint(b.i))), nil
	}
	// The estimate is bits(a) + n, also for a = 0 (§7): 0 << 1000001 is refused.
	if b.kind != vSmall || a.numBits()+float64(b.i) > float64(e.lim.MaxBits) {
		return value{}, errTooLarge(n.tok, e.lim.MaxBits)
	}
	if a.sign() == 0 {
		return small(0), nil
	}
	size := a.numBits() + float64(b.i)
	if err := e.spend(a, value{}, linearCost(size), size); err != nil {
		return value{}, err
	}
	return intValue(new(big.Int).Lsh(a.rat().Num(), uint(b.i))), nil
}

// smallFactorials are 0! to 20!, the ones that fit in int64.
var smallFactorials = func() [21]int64 {
	var f [21]int64
	f[0] = 1
	for i := 1; i < len(f); i++ {
		f[i] = f[i-1] * int64(i)
	}
	return f
}()

func (e *evaluator) factorial(t token, x value) (value, error) {
	if !x.isInt() || x.sign() < 0 {
		return value{}, errAt(t, "factorial needs a non-negative integer")
	}
	if x.kind == vSmall && x.i < int64(len(smallFactorials)) {
		return small(smallFactorials[x.i]), nil
	}
	if x.kind != vSmall {
		return value{}, errTooLarge(t, e.lim.MaxBits)
	}
	lg, _ := math.Lgamma(float64(x.i) + 1)
	size := lg / math.Ln2
	if size > float64(e.lim.MaxBits) {
		return value{}, errTooLarge(t, e.lim.MaxBits)
	}
	if err := e.m.spend(factorialCost(size), size); err != nil {
		return value{}, err
	}
	f, err := e.product(1, x.i)
	if err != nil {
		return value{}, err
	}
	return e.checkInt(t, f)
}

// productLeaf is the length of the ranges multiplied by MulRange in one go: about 0.2 ms.
const productLeaf = 2048

// product returns lo·(lo+1)·…·hi as MulRange does, by halves, but with a checkpoint
// between them, so that a factorial stops within its line's time limit.
func (e *evaluator) product(lo, hi int64) (*big.Int, error) {
	if hi-lo < productLeaf {
		return new(big.Int).MulRange(lo, hi), nil
	}
	mid := lo + (hi-lo)/2
	a, err := e.product(lo, mid)
	if err != nil {
		return nil, err
	}
	b, err := e.product(mid+1, hi)
	if err != nil {
		return nil, err
	}
	if err := e.m.check(); err != nil {
		return nil, err
	}
	return a.Mul(a, b), nil
}

// pow implements ** and ^.
func (e *evaluator) pow(t token, a, b value) (value, error) {
	if b.isInt() {
		if a.isExact() {
			return e.powExactInt(t, a, b)
		}
		if b.kind != vSmall && !b.isExact() {
			return e.powFloat(t, a, b)
		}
	}
	if b.isExact() && a.isExact() && !b.isInt() {
		return e.powExactFrac(t, a, b)
	}
	return e.powFloat(t, a, b)
}

func (e *evaluator) powFloat(t token, a, b value) (value, error) {
	f0, f1, err := floats2(t, a, b)
	if err != nil {
		return value{}, err
	}
	x, y := f0, f1
	switch {
	case x == 0 && y < 0:
		return value{}, errAt(t, "division by zero")
	case x < 0 && y != math.Trunc(y):
		return value{}, errAt(t, "complex results are not supported")
	}
	return checkFloat(fPow(x, y), t)
}

// powExactInt computes an exact power with an integer exponent, refusing by estimate
// before computing anything large.
func (e *evaluator) powExactInt(t token, a, b value) (value, error) {
	switch {
	case b.sign() == 0:
		return small(1), nil
	case a.sign() == 0:
		if b.sign() < 0 {
			return value{}, errAt(t, "division by zero")
		}
		return small(0), nil
	case a.kind == vSmall && (a.i == 1 || a.i == -1):
		if a.i == -1 && isOdd(b) {
			return small(-1), nil
		}
		return small(1), nil
	}
	if b.kind != vSmall {
		return value{}, errTooLarge(t, e.lim.MaxBits)
	}
	n := b.i
	base := a
	if n < 0 {
		inv, err := e.inverse(a)
		if err != nil {
			return value{}, err
		}
		base, n = inv, -n
	}
	numBits, denBits := powBits(base, n)
	// Each estimate alone against the limit; one of exactly the limit is a power of two
	// with a bit more than it (2**1000000), refused too.
	if numBits >= float64(e.lim.MaxBits) || denBits >= float64(e.lim.MaxBits) {
		return value{}, errTooLarge(t, e.lim.MaxBits)
	}
	if !base.isInt() && numBits+denBits > maxRationalBits {
		if err := e.m.spend(linearCost(bitsOf(base))+64*mulCost(floatPrec, floatPrec), 0); err != nil {
			return value{}, err
		}
		b, k := base, n
		if b.kind == vLazy { // (b**j)**k is b**(j·k): its digits are never needed
			b, k = ratValue(b.lz.base), b.lz.exp*k
		}
		f, ok := bigToFloat(powFloat(b.rat(), k))
		if !ok {
			return value{}, errApproxOverflow(t)
		}
		return approx(f), nil
	}
	if base.kind == vLazy { // (b**k)**n is b**(k·n): no intermediate
		base, n = ratValue(base.lz.base), base.lz.exp*n
	}
	if numBits+denBits > lazyBits {
		// Nothing is computed yet, but the result is large: the gate hears of it now.
		if err := e.m.spend(0, numBits+denBits); err != nil {
			return value{}, err
		}
		return value{kind: vLazy, lz: &lazyPow{base: base.rat(), exp: n, numBits: numBits, denBits: denBits}}, nil
	}
	if err := e.spend(base, value{}, powCost(numBits)+powCost(denBits), numBits+denBits); err != nil {
		return value{}, err
	}
	return e.checkRat(t, exactPow(base, n))
}

// inverse is 1/a for exact a ≠ 0; the inverse of a lazy power is the lazy power of the
// inverse of its base, computed no sooner.
func (e *evaluator) inverse(a value) (value, error) {
	if a.kind == vLazy {
		lz := *a.lz
		lz.base, lz.val = new(big.Rat).Inv(lz.base), nil
		lz.numBits, lz.denBits = a.lz.denBits, a.lz.numBits
		return value{kind: vLazy, lz: &lz}, nil
	}
	if err := e.digits(a); err != nil {
		return value{}, err
	}
	return ratValue(new(big.Rat).Inv(a.rat())), nil
}

// powBits is the reference's estimate of base**n for n > 0 (§7): n·log2 of the numerator
// and of the denominator (1 for an integer base). The power has ⌊that⌋ + 1 bits.
func powBits(base value, n int64) (num, den float64) {
	switch base.kind {
	case vSmall:
		return float64(n) * math.Log2(math.Abs(float64(base.i))), 1
	case vLazy:
		return base.lz.numBits * float64(n), base.lz.denBits * float64(n)
	}
	r := base.rat()
	num = float64(n) * log2Abs(r.Num())
	den = 1
	if !r.IsInt() {
		den = float64(n) * log2Abs(r.Denom())
	}
	return num, den
}

// maxRootIndex is the largest denominator of an exponent for which an exact root is tried.
const maxRootIndex = 64

// powExactFrac computes a**(p/q): exact when a ≥ 0 is a perfect q-th power.
func (e *evaluator) powExactFrac(t token, a, b value) (value, error) {
	if a.sign() < 0 {
		return value{}, errAt(t, "complex results are not supported")
	}
	if b.kind == vLazy { // a denominator of more than lazyBits bits: no exact root
		return e.powFloat(t, a, b)
	}
	br := b.rat()
	rootIndex := br.Denom().IsInt64() && br.Denom().Int64() <= maxRootIndex
	if a.sign() == 0 && rootIndex { // with q > 64, even 0 ** (p/q) is approximate
		if b.sign() < 0 {
			return value{}, errAt(t, "division by zero")
		}
		return small(0), nil
	}
	if rootIndex && a.sign() > 0 && a.numBits() <= float64(e.lim.MaxBits) {
		q := int(br.Denom().Int64())
		if err := e.force(a); err != nil {
			return value{}, err
		}
		root, ok, err := e.rootRat(a.rat(), q)
		if err != nil {
			return value{}, err
		}
		if ok {
			return e.powExactInt(t, ratValue(root), intValue(br.Num()))
		}
	}
	return e.powFloat(t, a, b)
}

// call applies a function to its evaluated arguments. The parser has checked that the
// function exists and how many arguments it takes.
// The arguments are gathered in e.args, reused from call to call: an array on the stack
// would escape to the heap through the function value, 384 bytes a call.
func (e *evaluator) call(n *node, vals []value) (value, error) {
	args := e.args[:0]
	for _, a := range e.t.argsOf(n) {
		args = append(args, vals[a])
	}
	e.args = args
	v, err := n.fn.fn(e, n.tok, args)
	if e.sawBig {
		clear(args) // hold no big value past its call
	}
	return v, err
}

// arityError formats the argument-count message of the reference.
func arityError(t token, want string, got int) *Error {
	return errAt(t, "%s() takes %s argument(s), got %d", t.text, want, got)
}
