package calc

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// bigText is the decimal text of b**k.
func bigText(b, k int64) string {
	return new(big.Int).Exp(big.NewInt(b), big.NewInt(k), nil).String()
}

// A session with ExactValue gives every exact result's exact text in Value, however long;
// everything else in the result is what a session without it gives, whose Value is empty
// only where the display is approximate (over 4300 digits).
func TestExactValueInFull(t *testing.T) {
	p2 := bigText(2, 100000) // 30103 digits
	tests := []struct{ line, value string }{
		{"2 ** 100000", p2},
		{"x = 2 ** 100000", p2},
		{"-(3 ** 10000)", "-" + bigText(3, 10000)},
		{"1000!", factorialText(1000)},
		{"1 / 3 ** 10000", "1/" + bigText(3, 10000)},
		{"-7 / 2 ** 20000", "-7/" + bigText(2, 20000)},
		{"(2 ** 20000 + 1) / 3", new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 20000), big.NewInt(1)).String() + "/3"},
		{"3 ** 10000 / 2 ** 20000", bigText(3, 10000) + "/" + bigText(2, 20000)},
		{"14", "14"},
		{"1/3", "1/3"},
		{"-1/8", "-1/8"},
		{"2 ** -30", "1/1073741824"},
		{"sqrt(2)", "1.4142135623730951"},
	}
	for _, tt := range tests {
		exact := &Session{ExactValue: true}
		got, err := exact.Eval(tt.line)
		if err != nil {
			t.Fatalf("%s: %v", tt.line, err)
		}
		if got.Value != tt.value {
			t.Errorf("%s: Value has %d characters %.40q…, want %d: %.40q…", tt.line, len(got.Value), got.Value, len(tt.value), tt.value)
		}
		var plain Session
		want, err := plain.Eval(tt.line)
		if err != nil {
			t.Fatalf("%s without ExactValue: %v", tt.line, err)
		}
		if want.Value != "" && want.Value != got.Value {
			t.Errorf("%s: Value %q with ExactValue, %q without", tt.line, got.Value, want.Value)
		}
		if want.Value == "" && !strings.HasPrefix(want.Display, "≈") && !strings.Contains(want.Display, "= ≈") {
			t.Errorf("%s: without ExactValue Value is empty although the display %q is exact", tt.line, want.Display)
		}
		got.Value, want.Value = "", ""
		if got != want {
			t.Errorf("%s: ExactValue changes the result: %+v, want %+v", tt.line, got, want)
		}
	}
}

func factorialText(n int64) string { return new(big.Int).MulRange(1, n).String() }

// The conversion is priced before it runs: a line whose value cannot be written in the
// time left is refused with the time-limit error and leaves the session unchanged, while
// the same line in a session that does not want the value (the text protocols) is not
// charged for it and succeeds. The clock stands still, so only the estimates decide.
func TestExactValueRefusedWhenItCannotFit(t *testing.T) {
	const bits = 1_000_000
	limit := time.Duration((formatCost(bits, 1) + valueCost(bits, 1)) / 2)
	if !(formatCost(bits, 1) < float64(limit) && float64(limit) < valueCost(bits, 1)) {
		t.Fatalf("no time limit between the display's estimate %v and the value's %v",
			time.Duration(formatCost(bits, 1)), time.Duration(valueCost(bits, 1)))
	}
	still := time.Unix(0, 0)
	clock := func() time.Time { return still }
	const line = "x = 1 << 999999" // 1 000 000 bits
	for _, exact := range []bool{false, true} {
		s := &Session{ExactValue: exact, Clock: clock, Limits: Limits{MaxTime: limit}}
		if _, err := s.Eval("y = 5"); err != nil {
			t.Fatal(err)
		}
		res, err := s.Eval(line)
		if !exact {
			if err != nil || res.Value != "" || !strings.HasSuffix(res.Display, "(301030 digits)") {
				t.Fatalf("without ExactValue %s gave %+v, %v; want its display and no value", line, res, err)
			}
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Refusal != RefusalTime || ce.Msg != TimeLimitError(limit).Msg {
			t.Fatalf("with ExactValue and a limit of %v, %s gave %+v, %v; want the time-limit error", limit, line, res, err)
		}
		if r, err := s.Eval("ans"); err != nil || r.Display != "5" {
			t.Errorf("after the refusal ans is %+v, %v; want 5", r, err)
		}
		if _, err := s.Eval("x"); err == nil {
			t.Errorf("after the refusal x is assigned")
		}
	}
}

// The conversion is work of the line: measured with it, and charged to the budget.
func TestExactValueIsCharged(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	// consumed is what one line costs a fresh budget that refills too slowly to matter.
	consumed := func(exact bool) float64 {
		b := NewBudget(Limits{BudgetWindow: 1000 * time.Hour})
		s := &Session{ExactValue: exact, Budget: b}
		if _, err := s.Eval("1 << 999999"); err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.capacity - b.units
	}
	// Writing a million bits in decimal takes tens of ms; 5 ms is 250 units.
	least := workUnits(5 * time.Millisecond)
	var with, without float64
	for range 3 { // a busy machine may slow the line without the conversion down instead
		without, with = consumed(false), consumed(true)
		if with-without >= least {
			return
		}
	}
	t.Errorf("a line charges %.0f units with its exact value, %.0f without; want at least %.0f more", with, without, least)
}

// The estimate of the conversion against a measurement (go test -v shows it); the meter
// scales estimates up on a slower machine.
func TestValueCostCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	for _, bits := range []int{20_000, 200_000, 1_000_000} {
		x := new(big.Int).Lsh(big.NewInt(3), uint(bits-2))
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			_ = x.String()
			best = min(best, time.Since(start))
		}
		est := valueCost(float64(bits), 1)
		t.Logf("value of %7d bits: estimate %8.3f ms  measured %8.3f ms  ratio %.1f", bits, est/1e6, float64(best)/1e6, est/float64(best))
	}
}
