package calc

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ulps is the distance from got to want in units in the last place of want.
func ulps(got, want float64) float64 {
	u := math.Abs(math.Nextafter(want, math.Inf(1)) - want)
	return math.Abs(got-want) / u
}

// TestFloatFunctionsAgreeWithMpmath replays testdata/python_floats.tsv (mpmath's results,
// rounded once to binary64): the approximate functions that do not simply call the math
// package must be within a few units in the last place (the reference, §3), subnormal
// arguments included.
func TestFloatFunctionsAgreeWithMpmath(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "python_floats.tsv"))
	require.NoError(t, err)
	defer f.Close()
	one := map[string]func(float64) float64{
		"log": fLog, "log2": fLog2, "log10": fLog10, "asin": fAsin, "acos": fAcos,
		"sin": fSin, "cos": fCos, "tan": fTan, "sinh": fSinh, "cosh": fCosh,
	}
	parse := func(s string) float64 {
		x, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, s)
		return x
	}
	const maxULPs = 3
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "##") {
			continue
		}
		fields := strings.Split(line, "\t")
		require.Len(t, fields, 3, line)
		args, want := strings.Fields(fields[1]), parse(fields[2])
		var got float64
		if fields[0] == "pow" {
			got = fPow(parse(args[0]), parse(args[1]))
		} else {
			got = one[fields[0]](parse(args[0]))
		}
		if d := ulps(got, want); d > maxULPs {
			t.Errorf("%s(%s) = %x, want %x (%.1f ulps)", fields[0], fields[1], got, want, d)
		}
		n++
	}
	require.NoError(t, sc.Err())
	require.GreaterOrEqual(t, n, 2000)
}
