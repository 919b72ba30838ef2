package calc

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"
)

// countingClock is a clock that advances by step at each reading and counts them.
type countingClock struct {
	now   time.Time
	step  time.Duration
	reads int
}

func (c *countingClock) read() time.Time {
	c.reads++
	c.now = c.now.Add(c.step)
	return c.now
}

func newMeter(c *countingClock) *meter {
	s := &Session{Clock: c.read}
	m := &meter{}
	m.begin(context.Background(), s, s.limits(), s.now())
	return m
}

func TestMeterReadsTheClockOnlyAtCheckpoints(t *testing.T) {
	c := &countingClock{now: time.Unix(0, 0)}
	m := newMeter(c)
	c.reads = 0
	for range 100 { // 100 µs of cheap operations: summed, no reading
		if err := m.spend(1000, 64); err != nil {
			t.Fatal(err)
		}
	}
	if c.reads != 0 {
		t.Errorf("%d clock readings for cheap operations", c.reads)
	}
	for _, op := range []struct{ ns, bits float64 }{{quickNs, 0}, {0, HeavyBits + 1}} {
		c.reads = 0
		if err := m.spend(op.ns, op.bits); err != nil || c.reads != 1 {
			t.Errorf("spend(%v, %v): %v, %d readings; want a checkpoint", op.ns, op.bits, err, c.reads)
		}
	}
}

func TestMeterRefusesWhatCannotFit(t *testing.T) {
	c := &countingClock{now: time.Unix(0, 0), step: 100 * time.Millisecond}
	m := newMeter(c)                           // the line starts at the first reading…
	if err := m.spend(0.85e9, 0); err != nil { // …and 0.9 s are left at the second
		t.Fatalf("0.85 s with 0.9 s left: %v", err)
	}
	c.step = 0
	err := m.spend(0.95e9, 0) // 0.9 s left still
	var e *Error
	if !errors.As(err, &e) || e.Refusal != RefusalTime || e.Error() != "Error: evaluation took too long (limit 1 s)" {
		t.Errorf("got %v, want the time-limit refusal", err)
	}
}

// When the work since the last checkpoint took longer than estimated, the next estimates
// are scaled up: a busy machine.
func TestMeterScalesEstimatesBySlowdown(t *testing.T) {
	c := &countingClock{now: time.Unix(0, 0)}
	m := newMeter(c)
	if err := m.spend(2e6, 0); err != nil { // estimated 2 ms…
		t.Fatal(err)
	}
	c.step = 10 * time.Millisecond            // …took 10 ms: five times slower
	if err := m.spend(150e6, 0); err != nil { // 0.75 s scaled, 0.99 s left
		t.Fatal(err)
	}
	if m.slow != 5 {
		t.Errorf("slowdown %v, want 5", m.slow)
	}
	c.step = 0
	if err := m.spend(200e6, 0); err == nil { // 1 s scaled: no longer fits
		t.Error("a scaled estimate over the time left was admitted")
	}
}

// The estimates against the time math/big takes, at sizes that keep the test quick: logged
// for calibrating the constants (go test -run Calibration -v ./calc), not asserted, since
// the machine running the tests may be busy.
func TestCostModelCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	x := new(big.Int).Exp(big.NewInt(3), big.NewInt(126000), nil) // 199 704 bits
	y := new(big.Int).Exp(big.NewInt(7), big.NewInt(71000), nil)  // 199 322 bits
	n := float64(x.BitLen())
	e := &evaluator{}
	ops := []struct {
		name string
		est  float64
		run  func()
	}{
		{"mul", mulCost(n, n), func() { new(big.Int).Mul(x, y) }},
		{"div 2n/n", divCost(2*n, n), func() { new(big.Int).Quo(new(big.Int).Mul(x, x), y) }},
		{"gcd", gcdCost(n, n), func() { new(big.Int).GCD(nil, nil, x, y) }},
		{"pow", powCost(n), func() { new(big.Int).Exp(big.NewInt(3), big.NewInt(126000), nil) }},
		{"sqrt", rootCost(2*n, 2), func() { _, _ = e.floorRoot(new(big.Int).Mul(x, x), 2) }},
		{"root 7", rootCost(n, 7), func() { _, _ = e.floorRoot(x, 7) }},
		{"12000!", factorialCost(146000), func() { _, _ = e.product(1, 12000) }},
		{"format", formatCost(n, 1), func() { v := intValue(x); format(&v) }},
	}
	for _, op := range ops {
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			op.run()
			best = min(best, time.Since(start))
		}
		t.Logf("%-8s estimate %10.3f ms  measured %10.3f ms  ratio %.1f",
			op.name, op.est/1e6, float64(best)/1e6, op.est/float64(best))
	}
}
