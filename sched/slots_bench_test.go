package sched

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLightUnderHeavy measures the latency of light lines (5 µs of CPU each, sent
// back to back by one session) while N sessions send heavy lines (1 ms light, then 50 ms
// heavy, of CPU each) without pause, with fake work instead of calc. "fifo" is the gate
// this scheduler replaced: GOMAXPROCS slots, first come first served, for every line;
// "sched" is the scheduler. It reports the light lines' p50, p99 and maximum latency and
// the heavy lines completed per second. One op is one light line; the default -benchtime
// (1 s) is enough:
//
//	go test ./sched/ -run '^$' -bench LightUnderHeavy
func BenchmarkLightUnderHeavy(b *testing.B) {
	for _, kind := range []string{"fifo", "sched"} {
		for _, heavy := range []int{0, 8} {
			b.Run(fmt.Sprintf("%s/heavy=%d", kind, heavy), func(b *testing.B) {
				var r runner
				if kind == "fifo" {
					r = newFIFO(runtime.GOMAXPROCS(0))
				} else {
					r = schedRunner{newTestScheduler(0, 0)}
				}
				benchLightUnderHeavy(b, r, heavy)
			})
		}
	}
}

const (
	lightWork      = 5 * time.Microsecond
	heavyLightPart = time.Millisecond // calc.HeavyTime: a line runs this long before it goes heavy
	heavyWork      = 50 * time.Millisecond
)

// spin uses the CPU for d.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// runner runs fake lines: light ones, and heavy ones that go heavy after heavyLightPart.
type runner interface {
	light()
	heavy()
}

// fifo is the gate before the scheduler: every line waits for one of n slots in turn.
type fifo chan struct{}

func newFIFO(n int) fifo { return make(fifo, n) }

func (f fifo) light() { f <- struct{}{}; spin(lightWork); <-f }
func (f fifo) heavy() { f <- struct{}{}; spin(heavyLightPart + heavyWork); <-f }

type schedRunner struct{ h *Scheduler }

func (r schedRunner) light() {
	_ = r.h.run(context.Background(), nil, func() { spin(lightWork) })
}

func (r schedRunner) heavy() {
	g := &sessionGate{h: r.h}
	_ = r.h.run(context.Background(), g, func() {
		spin(heavyLightPart)
		release, err := g.heavy(context.Background(), time.Time{}, &g.own)
		if err != nil {
			panic(err)
		}
		spin(heavyWork)
		release()
	})
}

func benchLightUnderHeavy(b *testing.B, r runner, heavy int) {
	var (
		stop   atomic.Bool
		done   atomic.Int64
		wg     sync.WaitGroup
		warmed = make(chan struct{}, heavy)
	)
	for range heavy {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				r.heavy()
				done.Add(1)
				if i == 0 {
					warmed <- struct{}{}
				}
			}
		})
	}
	for range heavy { // every heavy session has had its turn: the queue is in its steady state
		<-warmed
	}
	done.Store(0)
	var lat []time.Duration
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		r.light()
		lat = append(lat, time.Since(t0))
	}
	elapsed, heavyDone := time.Since(start), done.Load()
	stop.Store(true)
	wg.Wait()

	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "light-p50-ms")
	b.ReportMetric(pct(0.99), "light-p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "light-max-ms")
	b.ReportMetric(float64(heavyDone)/elapsed.Seconds(), "heavy/s")
}
