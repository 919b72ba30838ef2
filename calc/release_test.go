package calc

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// liveSlots counts the values of a scratch slice that hold memory: big values (values in
// int64s or binary64 hold no pointer).
func liveSlots(vals []value) int {
	n := 0
	for _, v := range vals[:cap(vals)] {
		if v.r != nil || v.lz != nil {
			n++
		}
	}
	return n
}

// A line holds only the values still to be used: each operand is dropped once consumed.
func TestOperandsDroppedWhenConsumed(t *testing.T) {
	// A generous time limit: this test is about memory, and -race on a loaded machine is slow.
	s := Session{Limits: Limits{Budget: 1 << 50, MaxTime: time.Minute}}
	if _, err := s.Eval("a = 3**630000"); err != nil {
		t.Fatal(err)
	}
	// 450 values of 125 KB, then a division by zero: stop there and look at the slots.
	src, wide, _ := mapLine(&s, "-a"+strings.Repeat("-a", 450)+" + 1/0")
	lim := s.limits()
	m := &s.scratch.meter
	m.begin(context.Background(), &s, lim, s.now())
	defer m.end()
	tr, err := s.parse(src, wide, lim, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.run(tr, lim, m, reply{res: &Result{}}); err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("got %v, want division by zero", err)
	}
	if n := liveSlots(s.scratch.eval.vals); n != 1 {
		t.Errorf("%d big values held at the error, want one: the pending sum", n)
	}
	s.scratch.release()
	if n := liveSlots(s.scratch.eval.vals); n != 0 {
		t.Errorf("%d values held after the line", n)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// Nothing of a line outlives it but its result: a line of 900 minus signs on a million-bit
// value used to keep ~110 MB alive for the rest of the session.
func TestLineReleasesIntermediates(t *testing.T) {
	s := Session{Limits: Limits{Budget: 1 << 50}}
	if _, err := s.Eval("a = 3**630000"); err != nil {
		t.Fatal(err)
	}
	before := heapInUse()
	for _, line := range []string{
		"-a" + strings.Repeat("-a", 450), // 451 results of 125 KB
		strings.Repeat("(-a) * 0 + ", 200) + "1",
		strings.Repeat("1e300000 * 0 + ", 100) + "1", // literals of 125 KB
		strings.Repeat("(-a) + ", 300) + "1/0",       // an error midway
	} {
		_, _ = s.Eval(line)
		if n := liveSlots(s.scratch.eval.vals); n != 0 {
			t.Errorf("%.30s: %d values held after the line", line, n)
		}
		if n := liveSlots(s.scratch.tree.lits); n != 0 {
			t.Errorf("%.30s: %d literals held after the line", line, n)
		}
	}
	after := heapInUse()
	t.Logf("heap in use: %d KB before, %d KB after", before>>10, after>>10)
	if after > before+4<<20 { // ans is one value of 125 KB; allow for the runtime's own
		t.Errorf("heap grew from %d KB to %d KB", before>>10, after>>10)
	}
}
