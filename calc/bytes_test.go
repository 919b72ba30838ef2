package calc_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"wscalc/calc"
)

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0:             "0 B",
		1023:          "1023 B",
		1024:          "1 KiB",
		1536:          "1.5 KiB",
		4 << 20:       "4 MiB",
		512 << 20:     "512 MiB",
		1536 << 20:    "1.5 GiB",
		(1 << 30) + 1: "1 GiB",
		5 << 40:       "5 TiB",
		-(4 << 20):    "-4 MiB",
		math.MaxInt64: "8 EiB",
		math.MinInt64: "-8 EiB",
	} {
		assert.Equal(t, want, calc.FormatBytes(n), n)
	}
}
