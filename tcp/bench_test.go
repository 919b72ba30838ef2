package tcp_test

import (
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"wscalc/rooms"
	"wscalc/session"
	"wscalc/tcp"
	"wscalc/tools/echo"
)

// benchConfig is the server's configuration for the benchmarks: rooms on (though without a
// log), so that a private session's lines pass the room checks they pass in wscalc.
func benchConfig(cfg *tcp.Config) {
	cfg.Session.Limits = unlimitedBudget
	cfg.Session.Rooms = session.NewRooms(nil, rooms.RoomConfig{}, rooms.DefaultLimits())
}

// BenchmarkRoundTrip measures one line and its reply at a time, as an interactive nc user
// or a script that waits for each answer.
func BenchmarkRoundTrip(b *testing.B) {
	ts := start(b, benchConfig)
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
	ts := start(b, benchConfig)
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

// BenchmarkIdleConns reports the server memory per idle connection (heap and goroutine
// stacks, after a GC) for wscalc and for a bare line echo serving the same clients, first
// when the connections have sent nothing, then after each has had one line answered and
// waited (longer than wscalc's stack reset, shortened here). The clients live in the same
// process: their own cost is in every figure alike, and the difference to the echo is
// wscalc's.
func BenchmarkIdleConns(b *testing.B) {
	const n = 1000
	for _, bc := range []struct {
		name  string
		serve func(b *testing.B) string // returns the address
		line  string                    // the request; the echo answers it with itself
		reply string
	}{
		{"echo", serveEcho, "2 + 3 * 4", "2 + 3 * 4"},
		{"wscalc", func(b *testing.B) string {
			return start(b, func(cfg *tcp.Config) {
				cfg.Session.Limits = unlimitedBudget
				cfg.Session.Logger = slog.New(slog.DiscardHandler)
				tcp.SetStackReset(cfg, 50*time.Millisecond) // well within the pause below
			}).addr
		}, "2 + 3 * 4", "14"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				addr := bc.serve(b)
				before := memInUse()
				conns := make([]*client, 0, n)
				for range n {
					conns = append(conns, dial(b, addr))
				}
				time.Sleep(200 * time.Millisecond) // let every connection reach its idle state
				heap, stack := memInUse().minus(before)
				b.ReportMetric(float64(heap)/n, "heap-B/conn")
				b.ReportMetric(float64(stack)/n, "stack-B/conn")
				for _, c := range conns {
					if got := c.ask(bc.line); got != bc.reply {
						b.Fatalf("got %q", got)
					}
				}
				time.Sleep(200 * time.Millisecond)
				heap, stack = memInUse().minus(before)
				b.ReportMetric(float64(heap)/n, "heap-B/used-conn")
				b.ReportMetric(float64(stack)/n, "stack-B/used-conn")
				for _, c := range conns {
					c.conn.Close()
				}
				b.StartTimer()
			}
		})
	}
}

type memStats struct{ heap, stack uint64 }

func memInUse() memStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memStats{m.HeapAlloc, m.StackInuse}
}

func (m memStats) minus(o memStats) (heap, stack int64) {
	return int64(m.heap) - int64(o.heap), int64(m.stack) - int64(o.stack)
}

// serveEcho serves the line echo of the benchmarks (tools/echo).
func serveEcho(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go echo.ServeTCP(l)
	return l.Addr().String()
}
