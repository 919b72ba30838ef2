package calc

import "math"

// The cost model: estimated nanoseconds of each big-number operation from the bit sizes
// of its operands, so that an operation that cannot finish within the line's time left is
// refused before it starts (math/big cannot be interrupted once it runs). The constants
// were fitted to measurements of math/big (Go 1.26, one core of the 2-core development
// machine, best of several runs) and then rounded up, since the machine running the
// server may be slower or busy; the meter also scales every estimate by the slowdown it
// observes during a line. Measured (bits → time):
//
//	multiply 1e4×1e4 13 µs, 1e5×1e5 0.48 ms, 1e6×1e6 38 ms; 1e6 × 64 11 µs; add 1e6 6.4 µs
//	divide 2e6/1e6 34 ms, 1e6/5e5 13 ms, 1e6/2e4 3.5 ms, 1e6/64 87 µs
//	gcd 1e4 156 µs, 1e5 11.9 ms, 1e6 1.04 s (Lehmer: quadratic); Rat add/mul of 1e5 bits 14/21 ms
//	3**k to 1e6 bits 6.7 ms; 60000! (820 000 bits) 22–48 ms; math/big Sqrt of 1e6 bits 270 ms
//	decimal string of 1e4 bits 33 µs, 1e6 bits 32 ms
//
// Every estimate is of the whole call, fixed overhead included, so an estimate can be
// compared with the time left directly.
const (
	opOverheadNs  = 200    // allocation and call overhead of any math/big operation
	linearNs      = 0.05   // per bit: copy, add, shift, and/or, multiply or divide by a word
	mulCoef       = 0.01   // balanced multiplication (Karatsuba): mulCoef · bits^mulExp
	mulExp        = 1.6    // log2(3) rounded up
	basicCoef     = 5e-4   // per bit², schoolbook multiplication below karatsubaBits: 1000² bits 0.24 µs
	karatsubaBits = 2560   // math/big's karatsubaThreshold (40 words)
	gcdCoef       = 2e-3   // Lehmer GCD: gcdCoef · bits², above every measurement
	wordBits      = 64     // below one word, multiplication and division are linear
	maxEstNs      = 1e15   // estimates saturate here, far beyond any time limit
	log2of10      = 3.3219 // bits per decimal digit
)

func cap15(ns float64) float64 { return math.Min(ns, maxEstNs) }

// linearCost is one pass over n bits.
func linearCost(n float64) float64 { return cap15(opOverheadNs + linearNs*n) }

// mulCost is a·b for operands of a and b bits: Karatsuba on the shorter operand's size,
// once per chunk of the longer one.
func mulCost(a, b float64) float64 {
	n, m := math.Max(a, b), math.Min(a, b)
	if m <= wordBits {
		return linearCost(n)
	}
	if m <= karatsubaBits { // no math.Pow on the common sizes
		return cap15(opOverheadNs + basicCoef*n*m + linearNs*n)
	}
	chunks := math.Ceil(n / m)
	return cap15(opOverheadNs + chunks*mulCoef*math.Pow(m, mulExp) + linearNs*n)
}

// divCost is a/b (quotient or remainder) for a dividend of a bits and a divisor of b:
// about twice the multiplication of the quotient by the divisor.
func divCost(a, b float64) float64 {
	if b <= wordBits {
		return linearCost(a)
	}
	q := math.Max(a-b, wordBits)
	return cap15(2*mulCost(q, b) + linearNs*a)
}

// gcdCost is gcd(a, b): one division brings the operands to the shorter one's size, then
// Lehmer's algorithm is quadratic in it. big.Rat normalises every result with one.
func gcdCost(a, b float64) float64 {
	n, m := math.Max(a, b), math.Min(a, b)
	if m <= wordBits {
		return divCost(n, m)
	}
	return cap15(divCost(n, m) + gcdCoef*m*m)
}

// powCost is x**k by repeated squaring with a result of r bits: the last squarings
// dominate, a geometric series of about 1.5 times the last one.
func powCost(r float64) float64 {
	if r <= wordBits {
		return opOverheadNs
	}
	return cap15(1.5*mulCost(r/2, r/2) + linearNs*r)
}

// ratCost is an operation of big.Rat on operands of a and b bits (numerator and
// denominator together) whose result has about num and den bits: a few multiplications,
// then the GCD that brings the result to lowest terms.
func ratCost(a, b, num, den float64) float64 {
	return cap15(3*mulCost(a, b) + gcdCost(num, den) + linearNs*(num+den))
}

// rootCost is the integer q-th root of an x-bit integer and its check (see floorRoot):
// about four Newton steps at full precision, each a power to x bits (for q > 2) and a
// division of x bits by x - x/q, the recursion on the upper half, and the final power.
func rootCost(x float64, q int) float64 {
	step := divCost(x, x-x/float64(q)) + mulCost(x/float64(q), wordBits)
	if q > 2 {
		step += powCost(x)
	}
	return cap15(4*step + powCost(x))
}

// factorialCost is n! with a result of r bits: a product tree, whose top multiplication
// of two halves dominates; six of them, above the measurements.
func factorialCost(r float64) float64 {
	return cap15(6*mulCost(r/2, r/2) + linearNs*r)
}

// stringCost is the decimal text of an n-bit integer (divide and conquer).
func stringCost(n float64) float64 {
	if n <= wordBits {
		return opOverheadNs
	}
	return cap15(3*mulCost(n/2, n/2) + 2*linearNs*n)
}

// formatCost is the display of an exact value of num and den bits (format.go): an
// integer's digits, or its leading digits with a comparison with a power of ten; a
// fraction's rounded digits (a few scaled divisions) and its n/d text.
func formatCost(num, den float64) float64 {
	if den <= 1 {
		if num <= maxIntBits {
			return stringCost(num)
		}
		return cap15(powCost(num) + linearCost(num))
	}
	scaled := num + den + (ratDigits+maxTermDigits)*log2of10
	text := stringCost(math.Min(num, maxIntBits)) + stringCost(math.Min(den, maxIntBits))
	return cap15(6*divCost(scaled, den) + powCost(math.Abs(num-den)) + text)
}
