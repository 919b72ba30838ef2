package tcp_test

import (
	"strings"
	"testing"

	"wscalc/tcp"
)

// BenchmarkRoundTrip measures one line and its reply at a time, as an interactive nc user
// or a script that waits for each answer.
func BenchmarkRoundTrip(b *testing.B) {
	ts := start(b, func(s *tcp.Server) { s.Limits = unlimitedBudget })
	c := dial(b, ts.addr)
	for b.Loop() {
		if got := c.ask("2 + 3 * 4"); got != "14" {
			b.Fatalf("got %q", got)
		}
	}
}

// BenchmarkPipelined measures lines sent 100 at a time, as a script that pipelines; the
// time reported is per line.
func BenchmarkPipelined(b *testing.B) {
	ts := start(b, func(s *tcp.Server) { s.Limits = unlimitedBudget })
	c := dial(b, ts.addr)
	batch := strings.Repeat("2 + 3 * 4\n", 100)
	for b.Loop() {
		c.send(batch)
		for range 100 {
			if got := c.line(); got != "14" {
				b.Fatalf("got %q", got)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(100*b.N), "ns/line")
}
