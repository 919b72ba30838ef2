package calc

import (
	"math"
	"math/big"
	"math/bits"
)

// rootRat returns the exact q-th root of x ≥ 0 if there is one.
func (e *evaluator) rootRat(x *big.Rat, q int) (*big.Rat, bool, error) {
	num, ok, err := e.rootInt(x.Num(), q)
	if !ok || err != nil {
		return nil, false, err
	}
	den, ok, err := e.rootInt(x.Denom(), q)
	if !ok || err != nil {
		return nil, false, err
	}
	return coprimeRat(num, den), true, nil
}

// coprimeRat returns num/den for coprime num and den > 0 without the GCD that SetFrac
// would compute to reduce it: through Denom, which refers to the denominator of a Rat
// that has one (math/big documents this).
func coprimeRat(num, den *big.Int) *big.Rat {
	r := new(big.Rat).SetInt(num)
	r.Denom().Set(den)
	return r
}

// rootInt returns the q-th root of x if x is a perfect q-th power (x may be negative for
// odd q). Most integers that are not are rejected from a few residues, at the cost of one
// division by a word; the others pay for the root, priced and checked against the clock.
func (e *evaluator) rootInt(x *big.Int, q int) (*big.Int, bool, error) {
	if x.Sign() < 0 {
		if q%2 == 0 {
			return nil, false, nil
		}
		r, ok, err := e.rootInt(new(big.Int).Neg(x), q)
		if !ok || err != nil {
			return nil, false, err
		}
		return r.Neg(r), true, nil
	}
	n := float64(x.BitLen())
	if err := e.m.spend(linearCost(n), 0); err != nil {
		return nil, false, err
	}
	if !maybePower(x, q) {
		return nil, false, nil
	}
	if err := e.m.spend(rootCost(n, q), 0); err != nil {
		return nil, false, err
	}
	r, err := e.floorRoot(x, q)
	if err != nil {
		return nil, false, err
	}
	check := new(big.Int).Exp(r, big.NewInt(int64(q)), nil)
	return r, check.Cmp(x) == 0, nil
}

// maybePower is a quick test for x ≥ 0 that rejects most integers that are not perfect
// q-th powers: a q-th power has a multiple of q trailing zero bits, and its residue
// modulo a prime p ≡ 1 (mod f), f a prime factor of q, is an f-th power residue, which
// only one in f of the residues is. The primes are chosen so that their product fits in a
// word: one division of x by it gives every residue.
func maybePower(x *big.Int, q int) bool {
	if x.BitLen() <= 64 {
		return true // the root itself is cheap
	}
	if x.TrailingZeroBits()%uint(q) != 0 {
		return false
	}
	f := uint64(largestPrimeFactor(q))
	var primes [16]uint64
	k, m := 0, uint64(1)
	for p := f + 1; k < len(primes); p += f {
		if !isSmallPrime(p) {
			continue
		}
		hi, lo := bits.Mul64(m, p)
		if hi != 0 {
			break
		}
		primes[k], m, k = p, lo, k+1
	}
	r := new(big.Int).Rem(x, new(big.Int).SetUint64(m)).Uint64()
	for _, p := range primes[:k] {
		a := r % p
		if a != 0 && powMod(a, (p-1)/gcd64(uint64(q), p-1), p) != 1 {
			return false // not a q-th power residue modulo p
		}
	}
	return true
}

func largestPrimeFactor(n int) int {
	f := 1
	for d := 2; d*d <= n; d++ {
		for n%d == 0 {
			f, n = d, n/d
		}
	}
	return max(f, n)
}

func isSmallPrime(p uint64) bool {
	if p < 2 {
		return false
	}
	for d := uint64(2); d*d <= p; d++ {
		if p%d == 0 {
			return false
		}
	}
	return true
}

// powMod returns a**k mod p for p < 2^32.
func powMod(a, k, p uint64) uint64 {
	r := uint64(1)
	a %= p
	for ; k > 0; k >>= 1 {
		if k&1 == 1 {
			r = r * a % p
		}
		a = a * a % p
	}
	return r
}

// rootCheckBits is the size of x above which each Newton step of a root reads the clock.
const rootCheckBits = 1 << 14

// floorRoot returns ⌊x^(1/q)⌋ for x ≥ 0. The root of x's upper half, scaled back up, is
// just above the root with half its bits right, so Newton's method from there ends in
// two or three steps; with the recursion the whole costs a few steps at full precision,
// where Newton's method from a power of two needs a step per bit of the root's length's
// logarithm (math/big's Sqrt), or hundreds for large q.
func (e *evaluator) floorRoot(x *big.Int, q int) (*big.Int, error) {
	if x.Sign() == 0 {
		return new(big.Int), nil
	}
	m := x.BitLen() / q // the root has m or m+1 bits
	// Dropping h bits of the root leaves an error of about q·2^(2h-m) after one step.
	h := (m - 2*bits.Len(uint(q)) - 4) / 2
	if m <= 48 || h <= 0 {
		return e.newtonRoot(x, smallRootAbove(x, q), q)
	}
	top, err := e.floorRoot(new(big.Int).Rsh(x, uint(q*h)), q)
	if err != nil {
		return nil, err
	}
	top.Add(top, big.NewInt(1))
	return e.newtonRoot(x, top.Lsh(top, uint(h)), q) // (top+1)·2^h > x^(1/q)
}

// smallRootAbove returns an integer above x^(1/q) for a root of at most about 50 bits,
// from binary64 logarithms: a couple of units above, so Newton's method ends at once.
func smallRootAbove(x *big.Int, q int) *big.Int {
	y := new(big.Int).SetUint64(uint64(math.Exp2(log2Abs(x)/float64(q))) + 2)
	p := new(big.Int)
	for p.Exp(y, big.NewInt(int64(q)), nil).Cmp(x) <= 0 { // never, unless the logarithm is far off
		y.Lsh(y, 1)
	}
	return y
}

// newtonRoot runs Newton's method for ⌊x^(1/q)⌋ from y above it: the iterates decrease to
// the root, and the first that does not decrease ends it (Brent and Zimmermann, Modern
// Computer Arithmetic, algorithm RootInt).
func (e *evaluator) newtonRoot(x, y *big.Int, q int) (*big.Int, error) {
	bq, qm1 := big.NewInt(int64(q)), big.NewInt(int64(q-1))
	t, u := new(big.Int), new(big.Int)
	for {
		if x.BitLen() > rootCheckBits {
			if err := e.m.check(); err != nil {
				return nil, err
			}
		}
		// y' = ((q-1)·y + x / y^(q-1)) / q
		t.Exp(y, qm1, nil)
		t.Quo(x, t)
		t.Add(t, u.Mul(qm1, y))
		t.Quo(t, bq)
		if t.Cmp(y) >= 0 {
			return y, nil
		}
		y, t = t, y
	}
}
