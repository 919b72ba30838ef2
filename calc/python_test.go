package calc_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/calc/calctest"
)

// TestAgreesWithPython replays integer-only expressions whose replies Python's big
// integers gave (testdata/python/gen_int_corpus.py wrote them): wscalc's + - * // % **
// << >> & | and their precedence must agree with Python's.
func TestAgreesWithPython(t *testing.T) {
	f, err := os.Open(filepath.Join(calctest.Dir(), "python_ints.tsv"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "##") {
			continue
		}
		expr, want, ok := strings.Cut(line, "\t")
		require.True(t, ok, line)
		var s calc.Session
		res, err := s.Eval(expr)
		if assert.NoError(t, err, expr) {
			assert.Equal(t, want, res.Display, expr)
		}
		n++
	}
	require.NoError(t, sc.Err())
	assert.GreaterOrEqual(t, n, 1000)
}
