package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"wscalc/calc"
)

// sizeUnits are the units a size may carry: bytes and the binary (IEC) multiples, as
// calc.FormatBytes prints them. The decimal kB, MB, GB are refused rather than guessed at:
// "512MB" could mean either, and a memory limit should not be off by 5 %.
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
}

const sizeSyntax = "want a size such as 4MiB, 512MiB, 1.5GiB or 4194304 (bytes); units B, KiB, MiB, GiB, TiB"

// parseSize reads a size in bytes: a number (digits, optionally a fraction) and an
// optional unit, in any case, with or without a space between them: 4194304, 4MiB,
// 4 MiB, 1.5GiB. It is the one parser of every size flag. A fraction of a byte is
// rounded down.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" || strings.Count(num, ".") > 1 || num[0] == '.' || num[len(num)-1] == '.' {
		return 0, errors.New(sizeSyntax)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		switch unit {
		case "k", "kb", "m", "mb", "g", "gb", "t", "tb":
			return 0, fmt.Errorf("unit %q is ambiguous: write %s", t[i:], strings.ToUpper(unit[:1])+"iB")
		}
		return 0, errors.New(sizeSyntax)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, errors.New(sizeSyntax)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if !n.IsInt64() || n.Int64() > math.MaxInt64/2 {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return n.Int64(), nil
}

// sizeFlag is a flag holding a size in bytes (see parseSize). Zero prints as empty, so
// that a flag whose zero means "automatic" shows no default in the usage.
type sizeFlag struct{ n *int64 }

func (f sizeFlag) String() string {
	if f.n == nil || *f.n == 0 {
		return ""
	}
	return calc.FormatBytes(*f.n)
}

func (f sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*f.n = n
	return nil
}
