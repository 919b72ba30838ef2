package calc

import (
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// Display limits of the reference, §5.
const (
	maxIntDigits      = 4300 // Python's int-to-str limit
	maxTermDigits     = 50   // significant digits of a terminating decimal shown as is
	maxFractionDigits = 30   // digits of numerator and denominator in the "n/d ≈" form
	ratDigits         = 20   // significant digits of the ≈ form of an exact value
	floatDigits       = 15   // significant digits of an approximate value

	// maxIntBits is a size above which an integer surely has more than maxIntDigits digits.
	maxIntBits = 14290
)

// formatted is a value's display and its structured parts.
type formatted struct {
	display string
	kind    Kind
	value   string
	decimal string
}

// format writes the texts of v. v is passed by pointer: a copy of the line's result, just
// written by the evaluator, stalled on store forwarding (see parser.advance).
func format(v *value) formatted {
	switch v.kind {
	case vSmall:
		s := strconv.FormatInt(v.i, 10)
		return formatted{display: s, kind: KindInteger, value: s, decimal: s}
	case vFloat:
		return formatFloat(v.f)
	case vFrac:
		f, terminating, ok := formatSmallFrac(v.i, v.d)
		switch {
		case ok:
			return f
		case !terminating:
			return formatSmallRepeating(v.i, v.d)
		}
		// A terminating decimal with more digits than a uint64 holds (2**-60): math/big.
	}
	r := v.rat()
	if r.IsInt() {
		return formatInt(r.Num())
	}
	return formatRat(r)
}

func formatFloat(f float64) formatted {
	// One string holds "≈ decimal" and then the shortest round-trip text: one allocation
	// for the three fields.
	var buf [64]byte
	b := appendApprox(buf[:0], f)
	n := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	all := string(b)
	return formatted{display: all[:n], kind: KindApprox, value: all[n:], decimal: all[len("≈ "):n]}
}

// appendApprox appends the display of an approximate value: "≈ " and 15 digits.
func appendApprox(b []byte, f float64) []byte {
	if f == 0 {
		f = 0 // -0 shows as 0
	}
	b = append(b, "≈ "...)
	return strconv.AppendFloat(b, f, 'g', floatDigits, 64)
}

// appendSmallDisplay appends the display of an integer, a fraction of int64s or an
// approximate value, the results of nearly every line, without making a string (ok is
// false for any other value, and b is returned as it was): the text of format(v).display,
// for EvalAppend.
func appendSmallDisplay(b []byte, v *value) (out []byte, kind Kind, ok bool) {
	switch v.kind {
	case vSmall:
		return strconv.AppendInt(b, v.i, 10), KindInteger, true
	case vFloat:
		return appendApprox(b, v.f), KindApprox, true
	case vFrac:
		out, terminating, ok := appendTerminating(b, v.i, v.d)
		switch {
		case ok:
			return out, KindRational, true
		case !terminating:
			return appendRepeating(appendFrac(b, v.i, v.d), v.i, v.d), KindRational, true
		}
	}
	return b, KindNone, false
}

// formatInt shows all digits up to maxIntDigits, else an approximation and the digit
// count, computed without converting the whole integer to decimal.
func formatInt(n *big.Int) formatted {
	bl := n.BitLen()
	// Below this many bits an integer surely has ≤ 4300 digits; between it and the next,
	// an exact comparison with 10^4300 decides, so String is only ever called on an
	// integer that is shown in full.
	const surelyShort, surelyLong = 14280, maxIntBits
	if bl <= surelyShort || bl <= surelyLong && n.CmpAbs(pow10(maxIntDigits)) < 0 {
		s := n.String()
		return formatted{display: s, kind: KindInteger, value: s, decimal: s}
	}
	display, dec := approxInt(n)
	return formatted{display: display, kind: KindInteger, decimal: dec}
}

// approxInt writes n in its ≈ form, 15 significant digits and the digit count, and
// returns it with its decimal part: "≈ 9.99002093014385e+30102 (30103 digits)".
func approxInt(n *big.Int) (display, decimal string) {
	mant, exp, count := leadingDigits(n, floatDigits)
	dec := sciText(mant, exp)
	if n.Sign() < 0 {
		dec = "-" + dec
	}
	return "≈ " + dec + " (" + strconv.Itoa(count) + " digits)", dec
}

// leadingDigits returns the first `digits` significant digits of |n|, rounded, the decimal
// exponent of that rounded mantissa, and the number of digits of n. It works in big.Float,
// so its cost does not grow with the number of digits; only next to a power of ten does it
// settle the digit count with exact arithmetic.
func leadingDigits(n *big.Int, digits int) (mant string, mantExp, count int) {
	const prec = 192
	x := new(big.Float).SetPrec(prec).SetInt(n)
	x.Abs(x)
	const extra = 24 // digits computed beyond the estimate of the exponent
	shift := int(math.Floor(log2Abs(n)*math.Log10(2))) - extra
	p := bigFloatPow(new(big.Float).SetPrec(prec).SetInt64(10), int64(shift))
	t, _ := new(big.Float).SetPrec(prec).Quo(x, p).Int(nil)
	s := t.String()
	e := shift + len(s) - 1 // exponent of the leading digit, unless next to a power of ten
	abs := new(big.Int).Abs(n)
	switch {
	case strings.Trim(s[:17], "9") == "":
		if abs.Cmp(pow10(e+1)) >= 0 {
			return "1", e + 1, e + 2
		}
	case s[0] == '1' && strings.Trim(s[1:17], "0") == "":
		if abs.Cmp(pow10(e)) < 0 { // just below 10^e: e digits, rounding up to 1e+e
			return "1", e, e
		}
	}
	mant, mantExp = roundDigits(s, digits, e)
	return mant, mantExp, e + 1
}

func pow10(k int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil) }

// roundDigits rounds the digit string s (leading digit at exponent exp) to n significant
// digits, half up on the remaining digits, dropping trailing zeros.
func roundDigits(s string, n, exp int) (string, int) {
	if len(s) <= n {
		return strings.TrimRight(s, "0"), exp
	}
	head := []byte(s[:n])
	if s[n] >= '5' {
		i := n - 1
		for ; i >= 0 && head[i] == '9'; i-- {
			head[i] = '0'
		}
		if i < 0 {
			return "1", exp + 1
		}
		head[i]++
	}
	out := strings.TrimRight(string(head), "0")
	if out == "" {
		out = "0"
	}
	return out, exp
}

// sciText writes digits d1d2d3… with the leading digit at exponent exp as d1.d2d3e±XX.
func sciText(digits string, exp int) string {
	var buf [40]byte
	return string(appendDecimal(buf[:0], false, []byte(digits), exp, math.MinInt))
}

// formatSmallFrac formats n/d (d > 1, lowest terms) held in int64s when it has a terminating
// decimal that fits in uint64 digits, without big arithmetic; ok is false otherwise, and
// terminating says which reason.
func formatSmallFrac(n, d int64) (f formatted, terminating, ok bool) {
	// One string holds the decimal and then n/d: one allocation for the three fields.
	var buf [96]byte
	b, terminating, ok := appendTerminating(buf[:0], n, d)
	if !ok {
		return formatted{}, terminating, false
	}
	k := len(b)
	b = appendFrac(b, n, d)
	all := string(b)
	return formatted{display: all[:k], kind: KindRational, value: all[k:], decimal: all[:k]}, true, true
}

// appendTerminating appends the decimal of n/d (d > 1, lowest terms) when it terminates
// and its digits fit in a uint64; ok is false otherwise (b returned as it was), and
// terminating says which reason.
func appendTerminating(b []byte, n, d int64) (out []byte, terminating, ok bool) {
	twos := bits.TrailingZeros64(uint64(d))
	rest := uint64(d) >> twos
	fives := 0
	for rest%5 == 0 {
		rest /= 5
		fives++
	}
	if rest != 1 {
		return b, false, false
	}
	places := max(twos, fives)
	digits := absU(n)
	for range places - twos {
		hi, lo := bits.Mul64(digits, 2)
		if hi != 0 {
			return b, true, false
		}
		digits = lo
	}
	for range places - fives {
		hi, lo := bits.Mul64(digits, 5)
		if hi != 0 {
			return b, true, false
		}
		digits = lo
	}
	var digitBuf [24]byte
	ds := strconv.AppendUint(digitBuf[:0], digits, 10)
	return appendDecimal(b, n < 0, ds, len(ds)-1-places, exactPlainBelow), true, true
}

// appendFrac appends n/d.
func appendFrac(b []byte, n, d int64) []byte {
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '/')
	return strconv.AppendInt(b, d, 10)
}

// Decimals are plain while the leading digit's exponent E satisfies -7 < E < limit: 21 for
// exact decimals, 19 for the 20-digit ≈ form (so that it never looks like an integer).
const (
	exactPlainBelow  = 21
	approxPlainBelow = 19
)

// decimalText writes digits (leading digit at exponent exp) plain or scientific.
func decimalText(negative bool, digits string, exp, plainBelow int) string {
	var buf [80]byte
	return string(appendDecimal(buf[:0], negative, []byte(digits), exp, plainBelow))
}

// appendDecimal appends digits (leading digit at exponent exp) plain or scientific: the
// text of decimalText, into a buffer.
func appendDecimal(b []byte, negative bool, digits []byte, exp, plainBelow int) []byte {
	if negative {
		b = append(b, '-')
	}
	if exp <= -7 || exp >= plainBelow {
		b = append(b, digits[0])
		if len(digits) > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(exp), 10)
	}
	switch {
	case exp < 0:
		b = append(b, "0."...)
		for range -exp - 1 {
			b = append(b, '0')
		}
		return append(b, digits...)
	case exp+1 >= len(digits):
		b = append(b, digits...)
		for range exp + 1 - len(digits) {
			b = append(b, '0')
		}
		return b
	}
	b = append(b, digits[:exp+1]...)
	b = append(b, '.')
	return append(b, digits[exp+1:]...)
}

// formatSmallRepeating formats n/d held in int64s (d > 1, lowest terms) in the
// "n/d ≈ 20 digits" form by long division in 64-bit words: the same digits as
// roundedDigits, without big arithmetic. The display is one string, of which the value
// and the decimal are parts: one allocation.
func formatSmallRepeating(n, d int64) formatted {
	var buf [128]byte
	b := appendFrac(buf[:0], n, d)
	k := len(b)
	b = appendRepeating(b, n, d)
	all := string(b)
	return formatted{display: all, kind: KindRational, value: all[:k], decimal: all[k+len(" ≈ "):]}
}

// appendRepeating appends the " ≈ 20 digits" part of formatSmallRepeating's form.
func appendRepeating(b []byte, n, d int64) []byte {
	var digitBuf [64]byte
	digits, exp := divideDigits(digitBuf[:0], absU(n), uint64(d), ratDigits)
	b = append(b, " ≈ "...)
	return appendDecimal(b, n < 0, digits, exp, approxPlainBelow)
}

// divideDigits appends the first `want` significant digits of n/d (n > 0), rounded half
// to even, and returns them with the decimal exponent of the first one.
func divideDigits(out []byte, n, d uint64, want int) ([]byte, int) {
	q, r := n/d, n%d
	exp := -1
	if q > 0 {
		out = strconv.AppendUint(out, q, 10)
		exp = len(out) - 1
	}
	for len(out) < want {
		hi, lo := bits.Mul64(r, 10)
		digit, rem := bits.Div64(hi, lo, d) // hi < d: r < d, so r·10 / 2^64 < d
		r = rem
		if len(out) == 0 && digit == 0 {
			exp-- // a leading zero after the point
			continue
		}
		out = append(out, byte('0'+digit))
	}
	// Round half to even on the remainder r/d of the last digit.
	hi, lo := bits.Mul64(r, 2)
	if hi > 0 || lo > d || lo == d && (out[len(out)-1]-'0')%2 == 1 {
		i := len(out) - 1
		for ; i >= 0 && out[i] == '9'; i-- {
			out[i] = '0'
		}
		if i < 0 { // 99…9 rounds up to 100…0: one more digit before the point
			out = append(out[:0], '1')
			for len(out) < want {
				out = append(out, '0')
			}
			return out, exp + 1
		}
		out[i]++
	}
	return out, exp
}

func formatRat(r *big.Rat) formatted {
	f := formatted{kind: KindRational}
	num, den := r.Num(), r.Denom()
	if digitsAtMost(num, maxIntDigits) && digitsAtMost(den, maxIntDigits) {
		f.value = r.String()
	}
	if digits, exp, ok := terminatingDecimal(r); ok {
		f.decimal = decimalText(r.Sign() < 0, digits, exp, exactPlainBelow)
		f.display = f.decimal
		return f
	}
	digits, exp := roundedDigits(r, ratDigits)
	f.decimal = decimalText(r.Sign() < 0, digits, exp, approxPlainBelow)
	f.display = "≈ " + f.decimal
	if digitsAtMost(num, maxFractionDigits) && digitsAtMost(den, maxFractionDigits) {
		f.display = r.String() + " ≈ " + f.decimal
	}
	return f
}

// digitsAtMost reports whether |n| has at most d decimal digits.
func digitsAtMost(n *big.Int, d int) bool {
	bl := n.BitLen()
	if float64(bl-1)*math.Log10(2) >= float64(d) {
		return false
	}
	if float64(bl)*math.Log10(2) < float64(d)-1 {
		return true
	}
	return len(new(big.Int).Abs(n).String()) <= d
}

// terminatingDecimal returns the significant digits and leading exponent of |r| if r has
// a terminating decimal of at most maxTermDigits significant digits.
func terminatingDecimal(r *big.Rat) (string, int, bool) {
	num := new(big.Int).Abs(r.Num())
	den := r.Denom()
	if num.BitLen() > 170 {
		return "", 0, false
	}
	twos := int(den.TrailingZeroBits())
	rest := new(big.Int).Rsh(den, uint(twos))
	fives := 0
	if rest.Cmp(big.NewInt(1)) != 0 {
		fives = int(math.Round(float64(rest.BitLen()) / math.Log2(5)))
		if abs(fives-twos) > 170 {
			return "", 0, false
		}
		found := false
		for _, k := range []int{fives - 1, fives, fives + 1} {
			if k > 0 && new(big.Int).Exp(big.NewInt(5), big.NewInt(int64(k)), nil).Cmp(rest) == 0 {
				fives, found = k, true
				break
			}
		}
		if !found {
			return "", 0, false
		}
	}
	places := max(twos, fives)
	// |r|·10^places = num·2^(places-twos)·5^(places-fives), an integer with no trailing zero.
	n := num.Lsh(num, uint(places-twos))
	n.Mul(n, new(big.Int).Exp(big.NewInt(5), big.NewInt(int64(places-fives)), nil))
	s := n.String()
	if len(s) > maxTermDigits {
		return "", 0, false
	}
	return s, len(s) - 1 - places, true
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// roundedDigits returns |r| rounded half to even to d significant digits (trailing
// zeros kept) and the exponent of the leading digit. The exponent is that of the exact
// value, found from truncated quotients; the digits are then rounded once, so that a carry
// (0.99…9|7 → 1.00…0) moves the exponent up, never the other way.
func roundedDigits(r *big.Rat, d int) (string, int) {
	num := new(big.Int).Abs(r.Num())
	den := r.Denom()
	exp := int(math.Floor((log2Abs(num) - log2Abs(den)) * math.Log10(2)))
	lo := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d-1)), nil)
	hi := new(big.Int).Mul(lo, big.NewInt(10))
	for {
		q, rem, m := scaledQuoRem(num, den, d-1-exp)
		switch {
		case q.Cmp(hi) >= 0:
			exp++
		case q.Cmp(lo) < 0:
			exp--
		default:
			// lo ≤ q < hi: q holds the d leading digits; round on the rest, rem/m.
			rem.Lsh(rem, 1)
			if c := rem.Cmp(m); c > 0 || c == 0 && q.Bit(0) == 1 {
				q.Add(q, big.NewInt(1))
			}
			if q.Cmp(hi) == 0 { // 99…9 rounded up: 10…0, one place higher
				return "1" + strings.Repeat("0", d-1), exp + 1
			}
			return q.String(), exp
		}
	}
}

// scaledQuoRem returns the quotient and remainder of num·10^k by den (scaled by 10^-k when
// k < 0) and the divisor used.
func scaledQuoRem(num, den *big.Int, k int) (q, rem, m *big.Int) {
	n, m := new(big.Int).Set(num), new(big.Int).Set(den)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(k))), nil)
	if k >= 0 {
		n.Mul(n, p)
	} else {
		m.Mul(m, p)
	}
	q, rem = n.QuoRem(n, m, new(big.Int))
	return q, rem, m
}
