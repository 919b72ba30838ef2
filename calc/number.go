package calc

import (
	"math"
	"math/big"
	"strings"
)

// parseNumber validates a number token and returns its exact value. A literal whose
// numerator or denominator would exceed the bit limit is refused here, before the power of
// ten is computed; one whose fraction is merely large (1e-40000) is approximate.
func parseNumber(t token, src []byte, maxBits int, m *meter) (value, error) {
	if v, ok := smallDecimal(src); ok {
		return v, nil
	}
	s := string(src)
	t.text = s
	if len(s) > 1 && s[0] == '0' && isRadixLetter(rune(s[1])) {
		return parseRadix(t, maxBits)
	}
	intPart, frac, exp, hasExp := splitDecimal(s)
	if !validDigitGroups(intPart, true) || !validDigitGroups(frac, true) || hasExp && !validDigitGroups(exp, false) {
		return value{}, errAt(t, "invalid number '%s'", s)
	}
	if intPart == "" && frac == "" {
		return value{}, errAt(t, "invalid number '%s'", s)
	}
	digits := strings.ReplaceAll(intPart, "_", "")
	if len(digits) > 1 && digits[0] == '0' && !strings.Contains(s, ".") && !hasExp && strings.Trim(digits, "0") != "" {
		return value{}, errAt(t, "leading zeros are not allowed in '%s' (use 0o%s for octal)", s, strings.TrimLeft(intPart, "0_"))
	}
	fracDigits := strings.ReplaceAll(frac, "_", "")
	expDigits := strings.ReplaceAll(exp, "_", "")
	if v, ok := smallScaled(digits, fracDigits, expDigits); ok {
		return v, nil
	}
	mant, ok := new(big.Int).SetString(digits+fracDigits, 10)
	if !ok {
		return value{}, errAt(t, "invalid number '%s'", s)
	}
	scale := decimalExponent(expDigits) - int64(len(fracDigits))
	return scaleByPow10(mant, scale, t, maxBits, m)
}

// smallDecimal parses the common literals straight from the line's bytes, without a string: a
// plain decimal integer of up to 18 digits without leading zeros, or digits with a point
// (2.5, 0.1, .5) of up to 18 digits in all. Anything else (underscores, exponents, radix
// prefixes, errors) is left to parseNumber, which gives the same values (smallScaled).
func smallDecimal(src []byte) (value, bool) {
	var v value
	n, d, ok := smallDecimalParts(src)
	if ok {
		v.setSmall(n, d)
	}
	return v, ok
}

// smallDecimalParts is smallDecimal's value as n/d in lowest terms, for the lexer to write
// in place.
func smallDecimalParts(src []byte) (n, d int64, ok bool) {
	digits, point := 0, -1
	for i, r := range src {
		switch {
		case r >= '0' && r <= '9':
			n = n*10 + int64(r-'0')
			digits++
		case r == '.' && point < 0:
			point = i
		default:
			return 0, 0, false
		}
	}
	if digits == 0 || digits > 18 {
		return 0, 0, false
	}
	if point < 0 {
		if len(src) > 1 && src[0] == '0' { // leading zeros: parseNumber's message
			return 0, 0, false
		}
		return n, 1, true
	}
	if places := len(src) - 1 - point; places > 0 {
		return lowestTerms(n, pow10s[places])
	}
	return n, 1, true
}

// pow10s are the powers of ten that fit in int64.
var pow10s = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// smallScaled returns the literal int.frac·10^exp in int64s when its digits and its
// power of ten fit, the case of nearly every decimal people type (0.1, 2.25, 1.5e-7).
func smallScaled(intPart, frac, exp string) (value, bool) {
	if len(intPart)+len(frac) > 18 || len(exp) > 4 {
		return value{}, false
	}
	mant := parseSmall(intPart)*pow10s[len(frac)] + parseSmall(frac)
	scale := decimalExponent(exp) - int64(len(frac))
	switch {
	case scale >= 0 && scale < int64(len(pow10s)):
		v, ok := mul64(mant, pow10s[scale])
		return small(v), ok
	case scale < 0 && -scale < int64(len(pow10s)):
		return fracValue(mant, pow10s[-scale])
	}
	return value{}, false
}

// maxLiteralScale caps a literal's decimal exponent; anything near it is refused by the
// bit limit anyway, and the cap keeps the arithmetic in int64.
const maxLiteralScale = 1 << 40

func decimalExponent(e string) int64 {
	if e == "" {
		return 0
	}
	neg := e[0] == '-'
	e = strings.TrimLeft(e, "+-")
	var n int64
	for _, c := range e {
		n = n*10 + int64(c-'0')
		if n > maxLiteralScale {
			n = maxLiteralScale
			break
		}
	}
	if neg {
		return -n
	}
	return n
}

// scaleByPow10 returns mant·10^scale, checking the size first and pricing the power of
// ten (a line of literals such as 1e300000 computes one per literal).
func scaleByPow10(mant *big.Int, scale int64, t token, maxBits int, m *meter) (value, error) {
	if mant.Sign() == 0 {
		return small(0), nil
	}
	mantBits := float64(mant.BitLen())
	pow10Bits := math.Abs(float64(scale)) * math.Log2(10)
	if mantBits+pow10Bits > float64(maxBits) || pow10Bits > float64(maxBits) {
		return value{}, errTooLarge(t, maxBits)
	}
	cost := powCost(pow10Bits) + mulCost(mantBits, pow10Bits)
	if scale < 0 {
		cost += gcdCost(mantBits, pow10Bits)
	}
	if err := m.spend(cost, mantBits+pow10Bits); err != nil {
		return value{}, err
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(absI64(scale)), nil)
	if scale >= 0 {
		return intValue(mant.Mul(mant, p)), nil
	}
	if mantBits+pow10Bits > maxRationalBits {
		q := new(big.Rat).SetInt(mant)
		q.Denom().Set(p)    // not in lowest terms: Float64 rounds any quotient correctly
		x, _ := q.Float64() // the nearest binary64
		return approx(x), nil
	}
	return ratValue(new(big.Rat).SetFrac(mant, p)), nil
}

func absI64(i int64) int64 {
	if i < 0 {
		return -i
	}
	return i
}

func parseSmall(digits string) int64 {
	var n int64
	for i := 0; i < len(digits); i++ {
		n = n*10 + int64(digits[i]-'0')
	}
	return n
}

// splitDecimal splits "12_3.45e-6" into "12_3", "45", "-6".
func splitDecimal(s string) (intPart, frac, exp string, hasExp bool) {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s, exp, hasExp = s[:i], s[i+1:], true
	}
	intPart, frac, _ = strings.Cut(s, ".")
	return intPart, frac, exp, hasExp
}

// validDigitGroups checks that underscores stand singly between digits. An empty group is
// valid where the grammar allows it (the "1." and ".5" forms).
func validDigitGroups(s string, emptyOK bool) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return emptyOK
	}
	if s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '_' && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

func parseRadix(t token, maxBits int) (value, error) {
	s := t.text // set by parseNumber
	base := 16
	switch s[1] {
	case 'o', 'O':
		base = 8
	case 'b', 'B':
		base = 2
	}
	body := s[2:]
	if body == "" || body[0] == '_' || body[len(body)-1] == '_' || strings.Contains(body, "__") {
		return value{}, errAt(t, "invalid number '%s'", s)
	}
	for _, c := range body {
		if c != '_' && digitValue(c) >= base {
			return value{}, errAt(t, "invalid number '%s'", s)
		}
	}
	n, ok := new(big.Int).SetString(strings.ReplaceAll(body, "_", ""), base)
	if !ok {
		return value{}, errAt(t, "invalid number '%s'", s)
	}
	if n.BitLen() > maxBits {
		return value{}, errTooLarge(t, maxBits)
	}
	return intValue(n), nil
}

func digitValue(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}
