package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc/calctest"
)

// TestEvalPassesEverySpecExample pipes every public example of the language (the spec's
// §8 and shared/calc-examples.tsv, collected in calc/testdata/spec.calc) through the real
// `wscalc eval`, one process per case so each case has a fresh session, and compares the
// output lines and the exit status.
func TestEvalPassesEverySpecExample(t *testing.T) {
	cases, err := calctest.LoadFile(filepath.Join(calctest.Dir(), "spec.calc"))
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		var in, want []string
		failed := false
		for _, s := range c.Steps {
			in = append(in, s.Input)
			if !s.NoReply {
				want = append(want, s.Want)
				failed = failed || strings.HasPrefix(s.Want, "Error")
			}
		}
		stdout, stderr, code := runBinary(t, strings.Join(in, "\n")+"\n", "eval")
		assert.Equal(t, strings.Join(want, "\n")+"\n", stdout, "%s (stderr %q)", c.Name(), stderr)
		wantCode := 0
		if failed {
			wantCode = 1
		}
		assert.Equal(t, wantCode, code, c.Name())
	}
}
