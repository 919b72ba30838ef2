package calc

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// The interruptible GCD agrees with math/big's, on sizes around its thresholds, with
// common factors and without, and with operands of very different sizes.
func TestGCDMatchesMathBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func(bits int) *big.Int {
		n := new(big.Int)
		for n.BitLen() < bits {
			n.Lsh(n, 64).Or(n, new(big.Int).SetUint64(r.Uint64()))
		}
		return n.Rsh(n, uint(n.BitLen()-bits))
	}
	e := &evaluator{}
	for _, sizes := range [][3]int{{20000, 20000, 0}, {40000, 30000, 500}, {70000, 17000, 9000}, {50000, 50000, 20000}, {17000, 90000, 1}, {16385, 16385, 64}} {
		common := random(max(sizes[2], 1))
		a := new(big.Int).Mul(random(sizes[0]), common)
		b := new(big.Int).Mul(random(sizes[1]), common)
		if r.IntN(2) == 0 {
			a.Neg(a)
		}
		got, err := e.gcd(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if want := new(big.Int).GCD(nil, nil, new(big.Int).Abs(a), new(big.Int).Abs(b)); got.Cmp(want) != 0 {
			t.Errorf("gcd of %d and %d bits: got %d bits, want %d bits", sizes[0], sizes[1], got.BitLen(), want.BitLen())
		}
	}
	for _, pair := range [][2]int64{{0, 0}, {0, 5}, {12, 18}} {
		got, _ := e.gcd(big.NewInt(pair[0]), big.NewInt(pair[1]))
		if want := new(big.Int).GCD(nil, nil, big.NewInt(pair[0]), big.NewInt(pair[1])); got.Cmp(want) != 0 {
			t.Errorf("gcd%v = %v, want %v", pair, got, want)
		}
	}
}
