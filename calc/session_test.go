package calc_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
)

func TestResultFields(t *testing.T) {
	tests := []struct {
		line string
		want calc.Result
	}{
		{"2 + 3", calc.Result{Display: "5", Kind: calc.KindInteger, Value: "5", Decimal: "5"}},
		{"1/3", calc.Result{Display: "1/3 ≈ 0.33333333333333333333", Kind: calc.KindRational, Value: "1/3", Decimal: "0.33333333333333333333"}},
		{"-1/8", calc.Result{Display: "-0.125", Kind: calc.KindRational, Value: "-1/8", Decimal: "-0.125"}},
		{"sqrt(2)", calc.Result{Display: "≈ 1.4142135623731", Kind: calc.KindApprox, Value: "1.4142135623730951", Decimal: "1.4142135623731"}},
		{"x = 10/4", calc.Result{Display: "x = 2.5", Kind: calc.KindRational, Value: "5/2", Decimal: "2.5", Name: "x"}},
		{"2 ** 100000", calc.Result{Display: "≈ 9.99002093014385e+30102 (30103 digits)", Kind: calc.KindInteger, Decimal: "9.99002093014385e+30102"}},
		{"# nothing", calc.Result{}},
		{"vars", calc.Result{Display: "no variables", Kind: calc.KindText}},
	}
	for _, tt := range tests {
		var s calc.Session
		got, err := s.Eval(tt.line)
		require.NoError(t, err, tt.line)
		assert.Equal(t, tt.want, got, tt.line)
	}
}

func TestErrorType(t *testing.T) {
	var s calc.Session
	_, err := s.Eval("1 + foo * 2")
	var e *calc.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, calc.Error{Msg: "unknown name 'foo'", Column: 5, End: 7}, *e)
	assert.Equal(t, "Error at column 5: unknown name 'foo'", err.Error())

	_, err = s.Eval(strings.Repeat("1", 5000))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, calc.Error{Msg: "expression too long (limit 4096 bytes)"}, *e)
	assert.Equal(t, "Error: expression too long (limit 4096 bytes)", err.Error())
}

func TestQuitAndExit(t *testing.T) {
	for _, line := range []string{"quit", "exit", "QUIT", "  Exit  ", "quit # bye"} {
		var s calc.Session
		_, err := s.Eval(line)
		assert.ErrorIs(t, err, calc.ErrQuit, line)
	}
}

func TestLineEndings(t *testing.T) {
	var s calc.Session
	for _, line := range []string{"1 + 1\n", "1 + 1\r\n"} {
		res, err := s.Eval(line)
		require.NoError(t, err)
		assert.Equal(t, "2", res.Display)
	}
	_, err := s.Eval("1 +\n")
	assert.EqualError(t, err, "Error at column 4: unexpected end of input")
}

func TestInvalidUTF8NeverEchoed(t *testing.T) {
	var s calc.Session
	_, err := s.Eval("1 + \xff\xfe")
	assert.EqualError(t, err, "Error: input is not valid UTF-8")
}

func TestControlCharactersAreEscaped(t *testing.T) {
	var s calc.Session
	_, err := s.Eval("1 +\n2")
	assert.EqualError(t, err, `Error at column 4: unexpected character '\n' (U+000A)`)
	assert.NotContains(t, err.Error(), "\n")
}

func TestErrorsLeaveSessionUnchanged(t *testing.T) {
	var s calc.Session
	_, err := s.Eval("x = 4")
	require.NoError(t, err)
	_, err = s.Eval("x = 1/0")
	require.Error(t, err)
	res, err := s.Eval("x + ans")
	require.NoError(t, err)
	assert.Equal(t, "8", res.Display)
}

func TestConfiguredLimits(t *testing.T) {
	s := calc.Session{Limits: calc.Limits{MaxLineBytes: 8, MaxDepth: 2, MaxNodes: 5, MaxBits: 64, MaxVars: 1}}
	check := func(line, want string) {
		t.Helper()
		got, _ := reply(&s, line)
		assert.Equal(t, want, got, line)
	}
	check("123456789", "Error: expression too long (limit 8 bytes)")
	check("((1))", "1")
	check("(((1)))", "Error at column 3: too deeply nested (limit 2)")
	check("1+1+1+1", "Error: expression too complex (limit 5 nodes)")
	check("2**63", "9223372036854775808")
	check("2**64", "Error at column 2: result too large (limit 64 bits)")
	check("a = 1", "a = 1")
	check("b = 1", "Error at column 1: too many variables (limit 1)")
	check("a = 2", "a = 2")
}

// fakeClock advances by step on every reading, so that evaluation "takes" time.
type fakeClock struct {
	now  time.Time
	step time.Duration
}

func (c *fakeClock) read() time.Time {
	c.now = c.now.Add(c.step)
	return c.now
}

func TestEvaluationTimeLimit(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0), step: 300 * time.Millisecond}
	s := calc.Session{Clock: clock.read}
	// Large results make the evaluator read the clock before each one.
	line := "2**100000 * 3 + 2**100000 * 5 + 2**100000 * 7 + 2**100000 * 11"
	_, err := s.Eval(line)
	assert.EqualError(t, err, "Error: evaluation took too long (limit 1 s)")
	var e *calc.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, calc.RefusalTime, e.Refusal)

	clock.step = 0 // the limit is per line: with time standing still the line runs
	_, err = s.Eval(line)
	assert.NoError(t, err)
}

func TestBudgetRefills(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	s := calc.Session{Clock: clock.read}
	line := strings.TrimSuffix(strings.Repeat("2^1+", 150), "+") // 150 149 units
	_, err := s.Eval(line)
	require.NoError(t, err)
	_, err = s.Eval(line)
	// 49 851 units left, 100 298 missing at 3 333.3 units/s: 31 s.
	assert.EqualError(t, err, "Error: session budget exhausted, try again in 31 s")
	clock.now = clock.now.Add(31 * time.Second)
	_, err = s.Eval(line)
	assert.NoError(t, err)
	// A refused line is not charged: the next cheap line still runs.
	res, err := s.Eval("1 + 1")
	require.NoError(t, err)
	assert.Equal(t, "2", res.Display)
}

func TestBudgetChargesLargeResults(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	s := calc.Session{Clock: clock.read, Limits: calc.Limits{Budget: 3000}}
	// 2**999999 costs 1000 statically and ~977 units for its million bits.
	_, err := s.Eval("2**999999")
	require.NoError(t, err)
	_, err = s.Eval("2**999999")
	require.NoError(t, err)
	_, err = s.Eval("2**2")
	assert.ErrorContains(t, err, "session budget exhausted")
}

func TestVarsListsFirstAssignmentOrder(t *testing.T) {
	var s calc.Session
	for _, line := range []string{"b = 1", "a = 1/3", "b = 2"} {
		_, err := s.Eval(line)
		require.NoError(t, err)
	}
	res, err := s.Eval("vars")
	require.NoError(t, err)
	assert.Equal(t, "b = 2, a = 1/3 ≈ 0.33333333333333333333", res.Display)
}

func TestSessionsAreIndependent(t *testing.T) {
	var a, b calc.Session
	_, err := a.Eval("x = 1")
	require.NoError(t, err)
	_, err = b.Eval("x")
	assert.EqualError(t, err, "Error at column 1: unknown name 'x'")
	_, err = b.Eval("ans")
	assert.True(t, errors.As(err, new(*calc.Error)))
}
