package scenario

import (
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := Summarize(ds)
	if s.N != 100 || s.P50 != 50*time.Millisecond || s.P99 != 99*time.Millisecond || s.Max != 100*time.Millisecond {
		t.Errorf("Summarize(1..100 ms) = %+v", s)
	}
	if s := Summarize([]time.Duration{7}); s.P50 != 7 || s.P99 != 7 || s.Max != 7 {
		t.Errorf("Summarize([7]) = %+v", s)
	}
	if s := Summarize(nil); s.N != 0 {
		t.Errorf("Summarize(nil) = %+v", s)
	}
}

func TestClassify(t *testing.T) {
	for reply, want := range map[string]string{
		"2":                                  Answered,
		"x = ≈ 4.95e+301029 (301030 digits)": Answered,
		"Error: evaluation took too long (limit 1 s)":                   RefusedTime,
		"Error: session budget exhausted, try again in 3 s":             RefusedBudget,
		"Error: expression too costly for the session budget (cost 9)":  RefusedCost,
		"Error at column 1: session memory limit reached (limit 4 MiB)": RefusedSess,
		"Error: server busy (memory), try again later":                  RefusedServer,
		"Error: server busy (max 10 clients)":                           RefusedBusy,
		"Error: too many connections from your address (limit 50)":      RefusedPerIP,
		"HTTP 429: too many connections from your address (limit 50)":   RefusedPerIP,
		"Error at column 3: division by zero":                           OtherError,
		"HTTP 400: missing expr":                                        OtherError,
	} {
		if got := Classify(reply); got != want {
			t.Errorf("Classify(%q) = %q, want %q", reply, got, want)
		}
	}
	if got := Shape("Error: session budget exhausted, try again in 13 s"); got != "Error: session budget exhausted, try again in N s" {
		t.Errorf("Shape = %q", got)
	}
}

// The attack lines must be legal under the static limits: 4096 bytes, 1000 nodes (each
// operand and operator is a node; a call with two arguments is three), 100 variables.
func TestLinesWithinStaticLimits(t *testing.T) {
	lines := []string{RunawayLog, GCDLine, GCD8Line, GCDInline(99999), GCD8Inline, StoreLine(99),
		ScratchSetup, ScratchLine(ScratchTerms)}
	lines = append(lines, GCDSetup(99999)...)
	for _, l := range lines {
		if len(l) > 4096 {
			t.Errorf("%.40q… is %d bytes, over 4096", l, len(l))
		}
	}
	if n := strings.Count(ScratchLine(ScratchTerms), "x"); n != ScratchTerms {
		t.Errorf("ScratchLine has %d terms, want %d", n, ScratchTerms)
	}
	// -x-x…: one negation, then a subtraction per further term, and a name per term.
	if nodes := 2 * ScratchTerms; nodes > 1000 {
		t.Errorf("ScratchLine has %d nodes, over 1000", nodes)
	}
	if n := strings.Count(GCD8Line, "gcd"); n != 8 {
		t.Errorf("GCD8Line has %d gcds", n)
	}
}

func TestShutdownCasesDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := range 6 {
		for j := range 250 {
			line, want := shutdownCase(i, j, 10)
			if j == 10 {
				if want != "" || !strings.HasPrefix(line, "gcd(") {
					t.Errorf("case (%d, %d) = %q, %q; want the heavy line", i, j, line, want)
				}
				continue
			}
			if seen[want] {
				t.Errorf("case (%d, %d): reply %q not distinct", i, j, want)
			}
			seen[want] = true
		}
	}
}
