package calc

import (
	"math/big"
	"math/bits"
)

// math/big's GCD of two integers of a million bits runs for a second and cannot be
// stopped, so large GCDs run here instead: the same Lehmer algorithm (math/big's
// lehmerGCD, int.go, without the cofactors), through math/big's public operations, with
// a checkpoint every gcdCheckEvery steps (a few milliseconds at most).
const (
	gcdDirectBits = 1 << 14 // below this, math/big's GCD takes well under a millisecond
	gcdCheckEvery = 64
)

// gcd returns gcd(|a|, |b|), stopping at a checkpoint when the line must stop.
func (e *evaluator) gcd(a, b *big.Int) (*big.Int, error) {
	A, B := new(big.Int).Abs(a), new(big.Int).Abs(b)
	if A.Cmp(B) < 0 {
		A, B = B, A
	}
	q, r, w := new(big.Int), new(big.Int), new(big.Int)
	for steps := 1; B.BitLen() > gcdDirectBits; steps++ { // invariant A ≥ B
		if steps%gcdCheckEvery == 0 {
			if err := e.m.check(); err != nil {
				return nil, err
			}
		}
		u0, u1, v0, v1, even := lehmerSimulate(A.Bits(), B.Bits())
		if v0 == 0 { // the leading words could not simulate a quotient: a Euclidean step
			q.QuoRem(A, B, r)
			A, B, r = B, r, A
			continue
		}
		// A, B = u0·A + v0·B, u1·A + v1·B, the signs alternating with even.
		mulWord(q, B, even, v0, w)
		mulWord(r, A, even, u1, w)
		mulWord(A, A, !even, u0, w)
		mulWord(B, B, !even, v1, w)
		A.Add(A, q)
		B.Add(B, r)
	}
	return A.GCD(nil, nil, A, B), nil
}

// mulWord sets z = x·w, negated when neg; tmp holds the word.
func mulWord(z, x *big.Int, neg bool, w big.Word, tmp *big.Int) {
	z.Mul(x, tmp.SetBits(append(tmp.Bits()[:0], w)))
	if neg {
		z.Neg(z)
	}
}

// lehmerSimulate runs the Euclidean algorithm on the leading words of A ≥ B (each at
// least two words long) for as long as the quotients are surely those of A and B
// (Collins' condition), and returns the cosequences; math/big's lehmerSimulate. For even
// iterations u0, v1 ≥ 0 and u1, v0 ≤ 0; for odd ones the opposite.
func lehmerSimulate(A, B []big.Word) (u0, u1, v0, v1 big.Word, even bool) {
	m, n := len(B), len(A)
	h := uint(bits.LeadingZeros(uint(A[n-1])))
	a1 := A[n-1]<<h | A[n-2]>>(bits.UintSize-h)
	var a2 big.Word
	switch { // B may have implicit zero words in the high bits
	case n == m:
		a2 = B[n-1]<<h | B[n-2]>>(bits.UintSize-h)
	case n == m+1:
		a2 = B[n-2] >> (bits.UintSize - h)
	}
	var u2, v2 big.Word
	u0, u1, u2 = 0, 1, 0
	v0, v1, v2 = 0, 0, 1
	for a2 >= v2 && a1-a2 >= v1+v2 {
		q, r := a1/a2, a1%a2
		a1, a2 = a2, r
		u0, u1, u2 = u1, u2, u1+q*u2
		v0, v1, v2 = v1, v2, v1+q*v2
		even = !even
	}
	return u0, u1, v0, v1, even
}
