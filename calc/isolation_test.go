package calc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
)

func refusal(t *testing.T, err error) string {
	t.Helper()
	var e *calc.Error
	require.ErrorAs(t, err, &e)
	return e.Refusal
}

// A cancelled context stops a line at its next checkpoint: EvalContext returns ctx.Err()
// unwrapped, and the session is unchanged.
func TestEvalContextCancels(t *testing.T) {
	s := bigSession(t, calc.Limits{})
	_, err := s.Eval("x = 7")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.EvalContext(ctx, "x = "+repeat("sqrt(a)", "+", 40))
	took := time.Since(start)
	t.Logf("cancelled after %v", took)
	assert.Equal(t, context.DeadlineExceeded, err) // unwrapped
	assert.Less(t, took, 30*time.Millisecond+slack)

	res, err := s.Eval("x + ans")
	require.NoError(t, err)
	assert.Equal(t, "14", res.Display)

	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = s.EvalContext(done, "1 + 1")
	assert.Equal(t, context.Canceled, err)
}

// recordingGate counts the calls of the Gate and of its release.
type recordingGate struct {
	mu       sync.Mutex
	calls    int
	releases int
	deadline time.Time
	err      error
}

func (g *recordingGate) Heavy(ctx context.Context, deadline time.Time) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	g.deadline = deadline
	if g.err != nil {
		return nil, g.err
	}
	return func() { g.mu.Lock(); g.releases++; g.mu.Unlock() }, nil
}

func TestGateOncePerHeavyLine(t *testing.T) {
	g := &recordingGate{}
	s := &calc.Session{Gate: g}
	for _, line := range []string{"1 + 2 * 3", "x = 2**64 / 3", "sqrt(2) * x", "vars", "help", "(1 +"} {
		_, _ = s.Eval(line)
	}
	assert.Zero(t, g.calls, "light lines never reach the gate")

	start := time.Now()
	_, err := s.Eval("3**100000 + 3**100000 * 2") // results over HeavyBits
	require.NoError(t, err)
	assert.Equal(t, 1, g.calls)
	assert.Equal(t, 1, g.releases)
	assert.WithinDuration(t, start.Add(time.Second*calc.RaceTimeScale), g.deadline, 500*time.Millisecond)

	_, err = s.Eval("gcd(3**630000, 5**430000)") // refused by its estimate, after the gate
	assert.Equal(t, calc.RefusalTime, refusal(t, err))
	assert.Equal(t, 2, g.calls)
	assert.Equal(t, 2, g.releases)

	busy := &calc.Error{Msg: "server busy (memory), try again later", Refusal: calc.RefusalServerMemory}
	g.err = busy
	_, err = s.Eval("x = 3**100000")
	assert.Same(t, busy, err, "the gate's error is returned as it is")
	assert.Equal(t, 3, g.calls)
	assert.Equal(t, 2, g.releases, "no release after a refusal")
	_, err = s.Eval("x")
	require.NoError(t, err, "the refused line changed nothing")
}

// A line of small values that runs long passes the gate too, at a checkpoint.
func TestGateAfterHeavyTime(t *testing.T) {
	g := &recordingGate{}
	clock := &fakeClock{now: time.Unix(0, 0), step: time.Millisecond}
	s := &calc.Session{Gate: g, Clock: clock.read}
	_, err := s.Eval(repeat("1", "+", 300)) // the clock is read every 64 nodes
	require.NoError(t, err)
	assert.Equal(t, 1, g.calls)
	assert.Equal(t, 1, g.releases)
}

// Measured work is charged: one unit per 20 µs, so a session sending lines of 1 s (50 000
// units each) is throttled after four of them.
func TestBudgetChargesMeasuredTime(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	// Each reading advances the clock by a second: a line of "1 + 1" reads it twice (start
	// and end) and so takes 1 s, while its time limit is an hour.
	s := &calc.Session{Clock: clock.read, Limits: calc.Limits{MaxTime: time.Hour}}
	clock.step = time.Second
	n := 0
	var err error
	for ; n < 10 && err == nil; n++ {
		_, err = s.Eval("1 + 1")
	}
	// 50 000 units per line, 6 667 back between lines (2 s at 200 000 per 60 s): 200 000,
	// 156 667, 113 333, 70 000, 26 667: the fifth line runs into debt and the sixth waits.
	assert.Equal(t, 6, n)
	assert.EqualError(t, err, "Error: session budget exhausted, try again in 6 s")
	assert.Equal(t, calc.RefusalBudget, refusal(t, err))
}

func TestCommandsChargedByReplySize(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	s := &calc.Session{Clock: clock.read, Limits: calc.Limits{Budget: 10}}
	res, err := s.Eval("help") // 410 bytes: 7 units
	require.NoError(t, err)
	assert.Greater(t, len(res.Display), 6*64)
	_, err = s.Eval("help") // 3 units left, 4 missing at 1/6 unit per second
	assert.EqualError(t, err, "Error: session budget exhausted, try again in 24 s")
	assert.Equal(t, calc.RefusalBudget, refusal(t, err))
	_, err = s.Eval("vars") // "no variables": 1 unit
	require.NoError(t, err)
}

func TestTooCostlyIsRefusalCost(t *testing.T) {
	var s calc.Session
	_, err := s.Eval(repeat("2", "**", 202))
	assert.Equal(t, calc.RefusalCost, refusal(t, err))
}

// Sessions sharing a Budget (the HTTP API's, per client address) drain one bucket, safely
// from several goroutines.
func TestSharedBudget(t *testing.T) {
	b := calc.NewBudget(calc.Limits{Budget: 3000, BudgetWindow: time.Hour})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				s := &calc.Session{Budget: b}
				if _, err := s.Eval("2**3"); err == nil { // 1000 units, and its work
					mu.Lock()
					ok++
					mu.Unlock()
				} else if refusal(t, err) != calc.RefusalBudget {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 2, ok, "lines of 1000 units and their work from a shared bucket of 3000: two")
}

// vars shows long values in their ≈ form, so its reply stays short whatever is stored.
func TestVarsAbbreviatesLongValues(t *testing.T) {
	var s calc.Session
	for _, line := range []string{
		"a = 2**200", "b = 1/3", "c = 12345678901234567890123456789/98765432109876543210987654321",
		"d = 2**-60", "k = 2**100000", "f = -(10**39)", "g = 10**39", "h = sqrt(2)", "i = -2**-60",
	} {
		_, err := s.Eval(line)
		require.NoError(t, err, line)
	}
	res, err := s.Eval("vars")
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		"a = ≈ 1.60693804425899e+60 (61 digits)",
		"b = 1/3 ≈ 0.33333333333333333333",
		"c = ≈ 0.12499999886093750001",
		"d = ≈ 8.6736173798840354721e-19",
		"k = ≈ 9.99002093014385e+30102 (30103 digits)",
		"f = ≈ -1e+39 (40 digits)",                     // 41 characters
		"g = 1000000000000000000000000000000000000000", // 40 characters
		"h = ≈ 1.4142135623731",
		"i = ≈ -8.6736173798840354721e-19",
	}, ", "), res.Display)
}

// The stored values are capped: the assignment that would exceed the cap is refused, as
// is a large plain result once the variables fill it; reassigning frees.
func TestSessionMemoryLimit(t *testing.T) {
	s := &calc.Session{Limits: calc.Limits{MaxSessionMemory: 1 << 20}}
	var err error
	n := 0
	for ; n < 20; n++ {
		if _, err = s.Eval("v" + string(rune('a'+n)) + " = 3**630000 + " + string(rune('0'+n%10))); err != nil {
			break
		}
	}
	assert.Equal(t, 8, n, "eight values of 125 KB fit in 1 MiB")
	assert.EqualError(t, err, "Error at column 1: session memory limit reached (limit 1 MiB)")
	assert.Equal(t, calc.RefusalSessionMemory, refusal(t, err))

	_, err = s.Eval("3**630000 + 100")
	assert.EqualError(t, err, "Error at column 1: session memory limit reached (limit 1 MiB)")
	res, err := s.Eval("ans - va")
	require.NoError(t, err, "ans is still the last result")
	assert.Equal(t, "7", res.Display)

	_, err = s.Eval("vz = va") // shares va's value: nothing new
	require.NoError(t, err)
	_, err = s.Eval("va = 1") // va's old value is still vz's
	require.NoError(t, err)
	_, err = s.Eval("vb = 2") // frees one
	require.NoError(t, err)
	_, err = s.Eval("x = 3**630000")
	require.NoError(t, err)
}

func TestErrorsAreErrors(t *testing.T) {
	var s calc.Session
	_, err := s.Eval("1/0")
	var e *calc.Error
	require.True(t, errors.As(err, &e))
	assert.Empty(t, e.Refusal, "an ordinary error is no refusal")
}

// The values a line holds at once, its literals and the results waiting for their
// operator, are capped at the same size as the stored values.
func TestLineHoldsLimitedValues(t *testing.T) {
	s := bigSession(t, calc.Limits{MaxSessionMemory: 1 << 20})
	for _, tt := range []struct{ line, want string }{
		{repeat("(-a)", "**", 20), "Error at column 50: session memory limit reached (limit 1 MiB)"}, // the ninth value,
		{"max(-a,-a,-a,-a,-a,-a,-a,max(-a,-a,-a,-a,-a,-a,-a,1))", "Error at column 33: session memory limit reached (limit 1 MiB)"},
		{repeat("1e300000", "+", 20), "Error at column 73: session memory limit reached (limit 1 MiB)"},
		{repeat("-a", "", 100), "≈ -2.45738604308464e+300588 (300589 digits)"}, // one at a time
		{repeat("a", "+", 8) + " - 8*a", "0"}, // variables are not copies
	} {
		got := timed(t, s, tt.line, time.Second)
		assert.Equal(t, tt.want, got, tt.line)
	}
}
