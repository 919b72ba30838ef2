package calc

import "strconv"

// FormatBytes writes a size in bytes with the largest binary unit it reaches, to at most
// two decimals, trailing zeros dropped: 512 B, 4 MiB, 1.5 GiB. It is the one formatter of
// sizes, for messages, logs and documentation alike.
func FormatBytes(n int64) string {
	units := [...]string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign, u = "-", uint64(-n) // -MinInt64 wraps to its own magnitude as a uint64
	}
	i := 0
	for i+1 < len(units) && u >= 1<<(10*(i+1)) {
		i++
	}
	if i == 0 {
		return sign + strconv.FormatUint(u, 10) + " B"
	}
	x := float64(u) / float64(uint64(1)<<(10*i))
	s := strconv.FormatFloat(x, 'f', 2, 64)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return sign + s + " " + units[i]
}
