package calc_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
)

// The time bound: every line is answered or refused within its time limit, whatever it
// computes. The tests allow generous slack (the machine running them may be busy) and log
// the measured times; speed is measured by the benchmarks, not asserted here.
const slack = 2 * time.Second

// bigVars are assigned before each runaway line: values of about a million bits, and
// fractions just within the 100 000-bit rule.
var bigVars = []string{
	"a = 3**630000",             // 998 509 bits
	"b = 5**430000",             // 998 458 bits
	"c = 3**430000",             // 681 520 bits
	"d = 5**300000",             // 696 599 bits
	"r = (3**30000+1)/5**20000", // 47 549 + 46 439 bits
	"s = (7**17000-2)/3**29000", // 47 726 + 45 964 bits
	"p = 10**301029 - 1",        // leading digits all nines: exact digit count needed
}

func bigSession(t testing.TB, lim calc.Limits) *calc.Session {
	lim.Budget = 1 << 50
	if lim.MaxSessionMemory == 0 {
		lim.MaxSessionMemory = 1 << 30
	}
	// The set-up is not under test: it runs with a time limit no loaded machine reaches, so
	// that the meter's measured slowdown cannot refuse it; the test's limit applies after.
	setup := lim
	setup.MaxTime = time.Minute
	s := &calc.Session{Limits: setup}
	for _, line := range bigVars {
		_, err := s.Eval(line)
		require.NoError(t, err, line)
	}
	s.Limits = lim
	return s
}

func repeat(term, op string, n int) string {
	return strings.TrimSuffix(strings.Repeat(term+op, n), op)
}

// timed evaluates line and checks that it ended within limit + slack; it returns the reply.
func timed(t *testing.T, s *calc.Session, line string, limit time.Duration) string {
	t.Helper()
	start := time.Now()
	res, err := s.Eval(line)
	took := time.Since(start)
	reply := res.Display
	if err != nil {
		reply = err.Error()
	}
	t.Logf("%8.1f ms  %.70s → %.60s", float64(took.Microseconds())/1000, line, reply)
	assert.Less(t, took, limit*calc.RaceTimeScale+slack, "%.100s", line)
	var e *calc.Error
	if errors.As(err, &e) && strings.Contains(e.Msg, "took too long") {
		assert.Equal(t, calc.RefusalTime, e.Refusal)
	}
	return reply
}

// The runaways found by hand, kept: each took from 1 s to minutes before.
func TestRunawaysAreBounded(t *testing.T) {
	s := bigSession(t, calc.Limits{})
	assert.Equal(t, "≈ 6931472.15217304", timed(t, s, "log(2,1.0000001)", time.Second))
	assert.Equal(t, "Error: evaluation took too long (limit 1 s)", timed(t, s, "gcd(a, b)", time.Second))
	assert.Equal(t, "Error: evaluation took too long (limit 1 s)", timed(t, s, repeat("gcd(a, b)", "+", 8), time.Second))

	// Lines of operations that each fit the limit, but not all of them: with a shorter
	// limit, so that the test stays quick.
	const limit = 300 * time.Millisecond
	s = bigSession(t, calc.Limits{MaxTime: limit})
	lines := []string{
		repeat("gcd(c, d)", "+", 8),
		repeat("lcm(c, d)", "+", 8),
		repeat("sqrt(a)", "+", 40),
		repeat("cbrt(a)", "+", 40),
		repeat("(2*a)**(1/64)", "+", 40),
		repeat("(3**(64*9800))**(1/64)", "+", 30),
		repeat("60000!", "+", 40),
		repeat("a // (c+1)", "+", 60),
		repeat("b % (d-1)", "+", 60),
		repeat("r*s", "+", 80),
		repeat("r/s - s/r", "+", 50),
		repeat("round(r, 100)", "+", 80),
		repeat("max(r, s, -r, -s)", "+", 60),
		repeat("floor(r*s)", "+", 80),
		repeat("1e300000", "+", 400),
		repeat("p", "+p-", 300),
		"-a" + strings.Repeat("-a", 450),
		repeat("log(a, 3)", "+", 100),
		repeat("log10(p+1)", "+", 100),
		repeat("a & b | c", "^0+", 100),
		repeat("xor(a, b)", "+", 100),
		repeat("(a << 1000) >> 999", "+", 100),
		repeat("3**600000 + 1", "+", 70),
	}
	for _, line := range lines {
		timed(t, s, line, limit)
	}
}

// A sweep of random lines built from expensive pieces, within the static limits, with a
// shorter time limit so that it stays quick: each ends within its limit (plus slack).
func TestRandomExpensiveLinesAreBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("slow sweep")
	}
	const limit = 150 * time.Millisecond
	s := bigSession(t, calc.Limits{MaxTime: limit})
	pieces := []string{
		"a", "b", "c", "d", "r", "s", "p", "gcd(a, b)", "gcd(c, d)", "lcm(c, 7**100000)",
		"sqrt(a)", "cbrt(c)", "a**(1/64)", "60000!", "30000!", "a // c", "b % d", "r*s", "r/s",
		"round(r, 50)", "max(r, s)", "floor(r)", "1e300000", "log(a, 3)", "log(2, 1.0000001)",
		"log10(p+1)", "a & b", "xor(c, d)", "a >> 7", "-a", "3**600000", "2**999999", "(1/3)**60000",
		"ln(a)", "sin(r)", "(c*d)", "(a-b)", "(r+s)", "abs(-a)", "2**-99999",
	}
	ops := []string{"+", "+", "+", "-", "-", "*", "/", "//", "%", "**", "&", "|"}
	rng := rand.New(rand.NewPCG(8, 8))
	for range 40 {
		var b strings.Builder
		b.WriteString(pieces[rng.IntN(len(pieces))])
		for b.Len() < 3000 && rng.IntN(60) > 0 {
			b.WriteString(" " + ops[rng.IntN(len(ops))] + " " + pieces[rng.IntN(len(pieces))])
		}
		timed(t, s, b.String(), limit)
	}
}
