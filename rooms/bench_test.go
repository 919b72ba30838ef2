package rooms

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wscalc/calc"
)

func benchRoom(b *testing.B, log *Log, cfg RoomConfig) *Room {
	r, err := OpenRoom(context.Background(), log, "lab", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	return r
}

// One member writing alone: the cost of a line's round trip through the log.
func BenchmarkRoomOneWriter(b *testing.B) {
	r := benchRoom(b, startServer(b).instance(), RoomConfig{})
	var s calc.Session
	m := Member{ID: "a", Nick: "a"}
	if _, err := r.Evaluate(context.Background(), m, "x = 0", &s, evalLine); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := r.Evaluate(context.Background(), m, "x = x + 1", &s, evalLine); err != nil {
			b.Fatal(err)
		}
	}
}

// Ten members on three replicas incrementing one variable: lines stored per second, and
// the evaluations lost to conflicts, with and without turns.
func BenchmarkRoomContention(b *testing.B) {
	for _, tc := range []struct {
		name  string
		pause time.Duration
	}{{"turns", 0}, {"noturns", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			ts := startServer(b)
			var rooms []*Room
			for range 3 {
				rooms = append(rooms, benchRoom(b, ts.instance(), RoomConfig{TurnPause: tc.pause}))
			}
			var s calc.Session
			if _, err := rooms[0].Evaluate(context.Background(), Member{ID: "i"}, "x = 0", &s, evalLine); err != nil {
				b.Fatal(err)
			}
			var attempts, refused atomic.Int64
			counting := func(ctx context.Context, s *calc.Session, line string) (Outcome, error) {
				attempts.Add(1)
				return evalLine(ctx, s, line)
			}
			const writers = 10
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var s calc.Session
					m := Member{ID: fmt.Sprint(w)}
					for i := w; i < b.N; i += writers {
						if _, err := rooms[w%3].Evaluate(context.Background(), m, "x = x + 1", &s, counting); err != nil {
							refused.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(attempts.Load()-int64(b.N))/float64(b.N), "retries/line")
			b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/line")
		})
	}
}

// Memory of an open room replica on one instance (its state and history, its share of
// the log's consumer), the embedded server's share included: heap and goroutines per room
// for 1 000 rooms, each with one event.
func BenchmarkRoomsMemory(b *testing.B) {
	for range b.N {
		ts := startServer(b)
		log := ts.instance()
		const n = 1000
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		var s calc.Session
		var rooms []*Room
		for i := range n {
			r, err := OpenRoom(context.Background(), log, fmt.Sprint("room", i), RoomConfig{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Evaluate(context.Background(), Member{ID: "a"}, "x = 1", &s, evalLine); err != nil {
				b.Fatal(err)
			}
			rooms = append(rooms, r)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n, "heap-bytes/room")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/n, "goroutines/room")
		for _, r := range rooms {
			r.Close()
		}
	}
}
