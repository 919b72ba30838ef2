package calc_test

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"wscalc/calc"
	"wscalc/calc/calctest"
)

// corpusLines are the inputs of the golden corpus that evaluate quickly in a fresh session
// (the property test replays thousands of them), plus lines that make big and negative-zero
// values and continue or assign them.
var corpusLines = sync.OnceValue(func() []string {
	cases, err := calctest.LoadAll()
	if err != nil {
		panic(err)
	}
	lines := []string{
		"x = 2 ** 3000", "y = x", "z = x * 1", "-(0 * pi)", "n = -(0*pi)", "atan2(0, ans)",
		"x = 1/3", "* 3", "q = 10**400 / 7", "x + 1", "2 ** -70", "w = sqrt(2)", "ans",
	}
	for _, c := range cases {
		for _, step := range c.Steps {
			var s calc.Session
			start := time.Now()
			if _, err := s.Eval(step.Input); errors.Is(err, calc.ErrQuit) || time.Since(start) > 5*time.Millisecond {
				continue
			}
			lines = append(lines, step.Input)
		}
	}
	return lines
})

// drawLine draws a corpus line, as it is or assigned to one of a few names.
func drawLine(t *rapid.T, label string) string {
	line := rapid.SampledFrom(corpusLines()).Draw(t, label)
	if rapid.IntRange(0, 3).Draw(t, label+"-assign") == 0 {
		return "v" + strconv.Itoa(rapid.IntRange(0, 4).Draw(t, label+"-var")) + " = " + line
	}
	return line
}

func reply2(s *calc.Session, line string) string {
	res, err := s.Eval(line)
	if err != nil {
		return "error: " + err.Error()
	}
	return res.Display
}

// Evaluating a line on A and applying its effect to B leaves them with the same state, and
// the same replies to what follows; so does the data alone (State.Apply) and a session
// restored from a snapshot.
func TestPropertyApplyReplicatesEval(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// A time limit no loaded machine reaches: the meter scales its estimates by the
		// slowdown it measures, so with the default limit a costly probe could be refused on
		// one session and answered on the other; the property is about state, not time.
		lim := calc.Limits{MaxTime: time.Minute}
		a, b := calc.Session{Limits: lim}, calc.Session{Limits: lim}
		a.ExactValue = rapid.Bool().Draw(t, "exact")
		var data calc.State
		for i := range rapid.IntRange(1, 12).Draw(t, "lines") {
			line := drawLine(t, "line"+strconv.Itoa(i))
			res, err := a.Eval(line)
			e := a.EffectOf(res, err)
			if err := b.Apply(e); err != nil {
				t.Fatalf("%q: apply %+v: %v", line, e, err)
			}
			data.Apply(e)
			want := a.State()
			require.Equal(t, want, b.State(), "after %q", line)
			require.Equal(t, want, data, "after %q", line)
		}
		c := calc.Session{Limits: lim}
		require.NoError(t, c.Restore(a.State()))
		probe := drawLine(t, "probe")
		want := reply2(&a, probe)
		assert.Equal(t, want, reply2(&b, probe), "probe %q", probe)
		assert.Equal(t, want, reply2(&c, probe), "probe %q on the restored session", probe)
		assert.Equal(t, reply2(&a, "vars"), reply2(&b, "vars"))
		assert.Equal(t, reply2(&a, "vars"), reply2(&c, "vars"))
	})
}

func TestEffectOf(t *testing.T) {
	var s calc.Session
	for _, tc := range []struct {
		line string
		want calc.Effect
	}{
		{"x = 1/3", calc.Effect{Name: "x", StoredValue: calc.StoredValue{Kind: calc.KindRational, Value: "1/3"}}},
		{"* 3", calc.Effect{StoredValue: calc.StoredValue{Kind: calc.KindInteger, Value: "1"}}},
		{"1/0", calc.Effect{}},
		{"vars", calc.Effect{}},
		{"# note", calc.Effect{}},
		{"-(0*pi)", calc.Effect{StoredValue: calc.StoredValue{Kind: calc.KindApprox, Value: "-0"}}},
		{"0.1 + pi*0", calc.Effect{StoredValue: calc.StoredValue{Kind: calc.KindApprox, Value: "0.1"}}},
	} {
		res, err := s.Eval(tc.line)
		assert.Equal(t, tc.want, s.EffectOf(res, err), tc.line)
	}
	// A value beyond int64s travels in hexadecimal, whole however long its display.
	res, err := s.Eval("-(2 ** 20000)")
	require.NoError(t, err)
	e := s.EffectOf(res, err)
	assert.Equal(t, calc.KindInteger, e.Kind)
	assert.Equal(t, "-0x1"+strings.Repeat("0", 5000), e.Value)
	res, err = s.Eval("2**64 / 3")
	require.NoError(t, err)
	assert.Equal(t, calc.StoredValue{Kind: calc.KindRational, Value: "0x10000000000000000/0x3"}, s.EffectOf(res, err).StoredValue)
}

func TestStateOrderAndAns(t *testing.T) {
	var s calc.Session
	for _, line := range []string{"b = 2", "a = 1", "b = 5/2", "1/0", "7"} {
		_, _ = s.Eval(line)
	}
	assert.Equal(t, calc.State{
		Vars: []calc.Var{
			{Name: "b", StoredValue: calc.StoredValue{Kind: calc.KindRational, Value: "5/2"}},
			{Name: "a", StoredValue: calc.StoredValue{Kind: calc.KindInteger, Value: "1"}},
		},
		Ans: &calc.StoredValue{Kind: calc.KindInteger, Value: "7"},
	}, s.State())
	var fresh calc.Session
	assert.Equal(t, calc.State{}, fresh.State())
	_, err := fresh.Eval("ans")
	require.Error(t, err)
}

func TestRestoreRefusesBadStates(t *testing.T) {
	v := func(name string, kind calc.Kind, text string) calc.Var {
		return calc.Var{Name: name, StoredValue: calc.StoredValue{Kind: kind, Value: text}}
	}
	tooMany := calc.State{}
	for i := range 101 {
		tooMany.Vars = append(tooMany.Vars, v("v"+strconv.Itoa(i), calc.KindInteger, "1"))
	}
	for name, st := range map[string]calc.State{
		"too many variables":      tooMany,
		"twice":                   {Vars: []calc.Var{v("x", calc.KindInteger, "1"), v("x", calc.KindInteger, "2")}},
		"reserved":                {Vars: []calc.Var{v("pi", calc.KindInteger, "1")}},
		"command":                 {Vars: []calc.Var{v("Help", calc.KindInteger, "1")}},
		"bad name":                {Vars: []calc.Var{v("1x", calc.KindInteger, "1")}},
		"long name":               {Vars: []calc.Var{v("abcdefghijabcdefghijabcdefghijabc", calc.KindInteger, "1")}},
		"integer as rational":     {Vars: []calc.Var{v("x", calc.KindRational, "4/2")}},
		"fraction as integer":     {Vars: []calc.Var{v("x", calc.KindInteger, "1/2")}},
		"not a number":            {Vars: []calc.Var{v("x", calc.KindInteger, "12a")}},
		"leading zero":            {Vars: []calc.Var{v("x", calc.KindInteger, "012")}},
		"hex float":               {Vars: []calc.Var{v("x", calc.KindApprox, "0x1p3")}},
		"infinite":                {Vars: []calc.Var{v("x", calc.KindApprox, "1e999")}},
		"no kind":                 {Vars: []calc.Var{v("x", "", "1")}},
		"text kind":               {Ans: &calc.StoredValue{Kind: calc.KindText, Value: "1"}},
		"too large":               {Ans: &calc.StoredValue{Kind: calc.KindInteger, Value: "1" + zeros(301100)}},
		"too large in hex":        {Ans: &calc.StoredValue{Kind: calc.KindInteger, Value: "0x1" + zeros(250000)}},
		"empty hex":               {Ans: &calc.StoredValue{Kind: calc.KindInteger, Value: "0x"}},
		"upper-case hex":          {Ans: &calc.StoredValue{Kind: calc.KindInteger, Value: "0xFF"}},
		"negative denominator":    {Ans: &calc.StoredValue{Kind: calc.KindRational, Value: "1/-2"}},
		"zero denominator":        {Ans: &calc.StoredValue{Kind: calc.KindRational, Value: "1/0"}},
		"hex integer as rational": {Ans: &calc.StoredValue{Kind: calc.KindRational, Value: "0x4/0x2"}},
	} {
		s := calc.Session{}
		_, _ = s.Eval("keep = 1")
		before := s.State()
		assert.Error(t, s.Restore(st), name)
		assert.Equal(t, before, s.State(), "%s: the session is unchanged", name)
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// A room's state counts toward the session's memory cap, as the values of its own lines
// would; equal big values count once.
func TestApplyRespectsMemoryCap(t *testing.T) {
	s := calc.Session{Limits: calc.Limits{MaxSessionMemory: 4096}}
	big := calc.StoredValue{Kind: calc.KindInteger, Value: "1" + zeros(3000)} // about 1.3 KB
	require.NoError(t, s.Apply(calc.Effect{Name: "a", StoredValue: big}))
	require.NoError(t, s.Apply(calc.Effect{Name: "b", StoredValue: big}), "equal to a: shared")
	other := calc.StoredValue{Kind: calc.KindInteger, Value: "2" + zeros(3000)}
	require.NoError(t, s.Apply(calc.Effect{Name: "c", StoredValue: other}))
	third := calc.StoredValue{Kind: calc.KindInteger, Value: "3" + zeros(3000)}
	err := s.Apply(calc.Effect{Name: "d", StoredValue: third})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session memory limit reached (limit 4 KiB)")
	assert.Len(t, s.State().Vars, 3)
	// The restored state is what a line then meets.
	_, err = s.Eval("d = 4 * 10**3000")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session memory limit reached")
}

func TestApplyRespectsVariableLimit(t *testing.T) {
	var s calc.Session
	for i := range 100 {
		require.NoError(t, s.Apply(calc.Effect{Name: "v" + strconv.Itoa(i), StoredValue: calc.StoredValue{Kind: calc.KindInteger, Value: "1"}}))
	}
	err := s.Apply(calc.Effect{Name: "w", StoredValue: calc.StoredValue{Kind: calc.KindInteger, Value: "1"}})
	require.Error(t, err)
	assert.Equal(t, "Error at column 1: too many variables (limit 100)", err.Error())
	require.NoError(t, s.Apply(calc.Effect{Name: "v7", StoredValue: calc.StoredValue{Kind: calc.KindInteger, Value: "2"}}), "an existing variable")
	res, err := s.Eval("v7 + ans")
	require.NoError(t, err)
	assert.Equal(t, "4", res.Display)
}

// A session that shares a replica's state answers as the replica would, and what it then
// stores stays its own.
func TestPropertyShareState(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var a, replica calc.Session
		for i := range rapid.IntRange(0, 8).Draw(t, "lines") {
			res, err := a.Eval(drawLine(t, "line"+strconv.Itoa(i)))
			require.NoError(t, replica.Apply(a.EffectOf(res, err)))
		}
		before := replica.State()
		member := calc.Session{Limits: calc.Limits{MaxVars: 100}}
		_, _ = member.Eval("own = 1")
		member.ShareState(&replica)
		assert.Equal(t, before, member.State())
		probe := drawLine(t, "probe")
		assert.Equal(t, reply2(&a, probe), reply2(&member, probe), "probe %q", probe)
		_, _ = member.Eval("v9 = 7")
		assert.Equal(t, before, replica.State(), "the replica is unchanged")
	})
}

// Replaying a million-bit value: its text in hexadecimal (as EffectOf writes it) against
// the same value in decimal.
func BenchmarkApplyMillionBits(b *testing.B) {
	var s calc.Session
	res, err := s.Eval("x = 3 ** 630000")
	require.NoError(b, err)
	hex := s.EffectOf(res, err)
	s.ExactValue = true
	dec, err := s.Eval("x") // the decimal text, as the JSON value writes it
	require.NoError(b, err)
	for _, tc := range []struct {
		name string
		e    calc.Effect
	}{{"hex", hex}, {"decimal", calc.Effect{Name: "x", StoredValue: calc.StoredValue{Kind: calc.KindInteger, Value: dec.Value}}}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				var r calc.Session
				if err := r.Apply(tc.e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("effect", func(b *testing.B) {
		for range b.N {
			_ = s.EffectOf(res, nil)
		}
	})
}
