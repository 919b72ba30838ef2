package calc

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// A session's stored values, its variables and ans, are capped (Limits.MaxSessionMemory).
// A big value counts its digits, numerator and denominator rounded up to whole words, and
// valueOverhead; a lazy power counts as computed, since displaying it computes it. Values
// held in int64s or binary64 count nothing: they take a fixed place, in at most MaxVars+1
// slots. Each distinct big value counts once: an assignment shares its value with ans,
// y = x shares x's.
const valueOverhead = 128 // the big.Rat and its big.Int headers, or the lazy power and its base

func storedBytes(v value) int64 {
	switch v.kind {
	case vRat:
		return valueOverhead + wordBytes(float64(v.r.Num().BitLen())) + wordBytes(float64(v.r.Denom().BitLen()))
	case vLazy:
		base := wordBytes(float64(v.lz.base.Num().BitLen())) + wordBytes(float64(v.lz.base.Denom().BitLen()))
		return valueOverhead + base + wordBytes(v.lz.numBits) + wordBytes(v.lz.denBits)
	}
	return 0
}

func wordBytes(bits float64) int64 { return int64(bits+63) / 64 * 8 }

// sameStorage reports whether a and b are the same big value, not merely equal ones.
func sameStorage(a, b value) bool {
	return a.kind == b.kind && (a.kind == vRat && a.r == b.r || a.kind == vLazy && a.lz == b.lz)
}

// memoryWith is what the session's stored values would count once v is ans and, unless
// name is "", that variable.
func (s *Session) memoryWith(name string, v value) int64 {
	held := []value{v}
	total := storedBytes(v)
	for _, n := range s.order {
		x := s.vars[n].v
		if n == name || !x.isBig() || slices.ContainsFunc(held, func(h value) bool { return sameStorage(h, x) }) {
			continue
		}
		held = append(held, x)
		total += storedBytes(x)
	}
	return total
}

// checkMemory refuses the result v of a line, at token at, when keeping it as ans (and as
// the variable name, unless "") would bring the stored values over the cap. The previous
// ans is let go then, so only a session whose variables fill the cap has its large plain
// results refused; a small result never is. Its operands are passed by pointer, so that
// a small result is let through without copying them (the copies of a token and a value
// were 3 % of a line "1" in the profile).
func (s *Session) checkMemory(at *token, name string, v *value, lim *Limits) error {
	if !v.isBig() || s.memoryWith(name, *v) <= lim.MaxSessionMemory {
		return nil
	}
	return errMemory(*at, lim.MaxSessionMemory)
}

// errMemory is the refusal of a value that would exceed the session's memory limit.
func errMemory(at token, limit int64) *Error {
	err := errAt(at, "session memory limit reached (limit %s)", FormatBytes(limit))
	err.Refusal = RefusalSessionMemory
	return err
}

// varsDisplayMax is the longest value vars shows in full (in code points). A longer one is
// shown in its ≈ form, as the display rules write large values: an integer's 15
// significant digits and its digit count, a fraction's 20 significant digits without n/d.
// So vars answers at most about 60 bytes per variable, whatever their size.
const varsDisplayMax = 40

// varText is the text of v in vars, given its display f.
func varText(v value, f formatted) string {
	if f.kind == KindApprox || utf8.RuneCountInString(f.display) <= varsDisplayMax || strings.HasPrefix(f.display, "≈") {
		return f.display
	}
	r := v.rat()
	if f.kind == KindInteger {
		display, _ := approxInt(r.Num())
		return display
	}
	if _, after, ok := strings.Cut(f.display, " ≈ "); ok { // n/d ≈ digits
		return "≈ " + after
	}
	digits, exp := roundedDigits(r, ratDigits) // a long terminating decimal
	return "≈ " + decimalText(r.Sign() < 0, digits, exp, approxPlainBelow)
}
