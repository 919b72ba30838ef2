package calc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/calc/calctest"
)

// sameReply evaluates line in two sessions kept in step, one through Eval and one through
// EvalAppend, and fails unless both give the same reply: EvalAppend appends exactly
// Result.Display after what dst held, with the same Kind and error, and leaves dst as it
// was on error. A refusal of the time limit on either side is not compared (timeRefusal).
func sameReply(t *testing.T, viaString, viaAppend *calc.Session, line string) {
	t.Helper()
	res, err := viaString.Eval(line)
	const prefix = "earlier replies\n"
	dst := append(make([]byte, 0, 8), prefix...)
	out, kind, appendErr := viaAppend.EvalAppend(context.Background(), dst, []byte(line))
	if appendErr != nil {
		assert.Equal(t, prefix, string(out), "%q: dst changed on error", line)
	}
	if timeRefusal(err) || timeRefusal(appendErr) {
		return // whether a line ends in time depends on the machine at that moment
	}
	if err != nil {
		require.Error(t, appendErr, "%q", line)
		assert.Equal(t, err.Error(), appendErr.Error(), "%q", line)
		return
	}
	require.NoError(t, appendErr, "%q", line)
	assert.Equal(t, prefix+res.Display, string(out), "%q", line)
	assert.Equal(t, res.Kind, kind, "%q", line)
}

// timeRefusal reports whether err is the refusal of the time limit: the meter scales its
// estimates by the slowdown it measures, so on a loaded machine (or under the fuzzer's
// instrumentation) the same line may be refused once and answered the next time.
func timeRefusal(err error) bool {
	var e *calc.Error
	return errors.As(err, &e) && e.Refusal == calc.RefusalTime
}

// Every line of the golden corpus gets the same reply through EvalAppend as through Eval,
// session state included (each case's steps run in order in both sessions).
func TestEvalAppendMatchesEval(t *testing.T) {
	cases, err := calctest.LoadAll()
	require.NoError(t, err)
	for _, c := range cases {
		var viaString, viaAppend calc.Session
		for _, step := range c.Steps {
			sameReply(t, &viaString, &viaAppend, step.Input)
		}
	}
}

// The results EvalAppend writes without a string, each form of display.
func TestEvalAppendForms(t *testing.T) {
	for line, want := range map[string]string{
		"(1 + 2) * 3 / 4 - 5 ** 2 % 7": "-1.75",
		"2 ** 62":                      "4611686018427387904",
		"-1/3":                         "-1/3 ≈ -0.33333333333333333333",
		"1/1024":                       "0.0009765625",
		"sqrt(2)":                      "≈ 1.4142135623731",
		"-0.0 * sqrt(2)":               "≈ 0",
		"2 ** 64":                      "18446744073709551616",
		"1/3 + 2**70":                  "3541774862152233910273/3 ≈ 1.1805916207174113034e+21",
		"x = 5":                        "x = 5",
		"help":                         "",
		"1 + 1\r\n":                    "2",
		"7\r":                          "7",
		"３ × ４ ＃ full width":           "12",
		"  # a comment":                "",
	} {
		var viaString, viaAppend calc.Session
		sameReply(t, &viaString, &viaAppend, line)
		if want != "" {
			res, _ := viaString.Eval(line)
			assert.Equal(t, want, res.Display, "%q", line)
		}
	}
}

// EvalAppend of a typical line allocates nothing (issue 13).
func TestEvalAppendAllocatesNothing(t *testing.T) {
	var s calc.Session
	s.Limits.Budget = 1 << 62
	buf, line := make([]byte, 0, 64), []byte("(1 + 2) * 3 / 4 - 5 ** 2 % 7\r\n")
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, _, err = s.EvalAppend(context.Background(), buf[:0], line)
		if err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
