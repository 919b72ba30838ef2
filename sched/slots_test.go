package sched

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Timing in these tests only bounds how long to wait for something that must happen; no
// test asserts that something happened fast.
const patience = 10 * time.Second

// eventually fails the test unless cond becomes true within patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > patience {
			t.Fatalf("%s did not happen within %v", what, patience)
		}
	}
}

// state is a snapshot of a scheduler: light slots in use, free heavy slots, waiters.
type state struct{ light, heavyFree, waiting int }

func (s *slots) state() state {
	s.mu.Lock()
	defer s.mu.Unlock()
	return state{int(s.light.used.Load()), s.heavyFree, len(s.waiters)}
}

// within runs f and fails the test if it has not returned within patience.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatalf("%s did not finish within %v", what, patience)
	}
}

// heavyLine runs, in a goroutine, a line of gate g that goes heavy and then waits until
// proceed is closed. It returns a channel that receives heavy's error, nil once granted.
func heavyLine(h *Scheduler, g *sessionGate, ctx context.Context, deadline time.Time, proceed <-chan struct{}, wg *sync.WaitGroup) <-chan error {
	got := make(chan error, 1)
	wg.Go(func() {
		err := h.run(ctx, g, func() {
			_, err := g.heavy(ctx, deadline, &g.own)
			got <- err
			if err == nil {
				<-proceed
			}
		})
		if err != nil {
			got <- err
		}
	})
	return got
}

func newTestScheduler(light, heavy int) *Scheduler {
	return New(Options{MaxConcurrentEvals: light, MaxHeavyEvals: heavy, MaxMemory: -1})
}

func TestLightNeverWaitsBehindHeavy(t *testing.T) {
	h := newTestScheduler(2, 1)
	var wg sync.WaitGroup
	proceed := make(chan struct{})
	// One heavy line holds the heavy slot, five more wait for it.
	var lines []<-chan error
	for i := range 6 {
		lines = append(lines, heavyLine(h, &sessionGate{h: h}, t.Context(), time.Time{}, proceed, &wg))
		if i == 0 {
			require.NoError(t, <-lines[0])
		}
	}
	eventually(t, "five heavy lines waiting", func() bool { return h.slots.state().waiting == 5 })
	assert.Equal(t, state{light: 0, heavyFree: 0, waiting: 5}, h.slots.state(), "heavy lines gave their light slots up")

	// Both light slots are free for light lines, which run at once.
	var ran atomic.Int32
	within(t, "two light lines", func() {
		var light sync.WaitGroup
		block := make(chan struct{})
		for range 2 {
			light.Go(func() {
				assert.NoError(t, h.run(t.Context(), &sessionGate{h: h}, func() { ran.Add(1); <-block }))
			})
		}
		eventually(t, "both light lines running together", func() bool { return ran.Load() == 2 })
		close(block)
		light.Wait()
	})

	close(proceed)
	wg.Wait()
	for _, l := range lines[1:] {
		assert.NoError(t, <-l)
	}
	assert.Equal(t, state{light: 0, heavyFree: 1, waiting: 0}, h.slots.state())
}

func TestLightLinesWaitForALightSlot(t *testing.T) {
	h := newTestScheduler(1, 1)
	block := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.run(t.Context(), nil, func() { <-block }) })
	eventually(t, "first line running", func() bool { return h.slots.state().light == 1 })

	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan error, 1)
	go func() { got <- h.run(ctx, nil, func() { t.Error("ran without a slot") }) }()
	cancel()
	assert.ErrorIs(t, <-got, context.Canceled)
	close(block)
	wg.Wait()
	assert.Equal(t, state{light: 0, heavyFree: 1}, h.slots.state())
}

func TestHeavySlotsGoToTheLeastUsedAccountFirst(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSlots(4, 1, func() time.Time { return now })
	accts := map[string]*account{"a": {}, "b": {}, "c": {}, "d": {}}
	accts["a"].charge(now, 3*time.Second)
	accts["b"].charge(now, time.Second)
	accts["d"] = accts["c"] // c and d share an account: equal use, so first come first served

	holder, err := s.acquireHeavy(t.Context(), time.Time{}, &account{})
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	for i, name := range []string{"a", "b", "c", "d"} {
		wg.Go(func() {
			tk, err := s.acquireHeavy(t.Context(), time.Time{}, accts[name])
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			tk.release() // grants the next waiter: the grants are sequential
		})
		eventually(t, name+" waiting", func() bool { return s.state().waiting == i+1 })
	}
	holder.release()
	wg.Wait()
	assert.Equal(t, []string{"c", "d", "b", "a"}, order)
	assert.Equal(t, state{heavyFree: 1}, s.state())
}

func TestAccountsChargeHeavyTimeAndDecay(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSlots(1, 1, func() time.Time { return now })
	var a, b account
	tk, err := s.acquireHeavy(t.Context(), time.Time{}, &a)
	require.NoError(t, err)
	now = now.Add(2 * time.Second)
	tk.release()
	tk.release() // charged once
	assert.InDelta(t, 2.0, a.value(now), 1e-9)

	now = now.Add(decay)
	assert.InDelta(t, 2/math.E, a.value(now), 1e-9)
	b.charge(now, time.Second) // 1 s just now outweighs 2 s one time constant ago
	assert.Less(t, a.value(now), b.value(now))
	now = now.Add(3 * decay)
	assert.Less(t, a.value(now), 0.05)
}

func TestWaitersGiveUpAtTheirDeadlineHoldingNothing(t *testing.T) {
	h := newTestScheduler(2, 1)
	var wg sync.WaitGroup
	proceed := make(chan struct{})
	require.NoError(t, <-heavyLine(h, &sessionGate{h: h}, t.Context(), time.Time{}, proceed, &wg))

	late := heavyLine(h, &sessionGate{h: h}, t.Context(), time.Now().Add(20*time.Millisecond), proceed, &wg)
	var err error
	within(t, "give-up at the deadline", func() { err = <-late })
	assert.ErrorIs(t, err, errTooLong)
	assert.Equal(t, state{light: 0, heavyFree: 0, waiting: 0}, h.slots.state())

	// A deadline already past is refused at once, even with a free slot.
	close(proceed)
	wg.Wait()
	assert.Equal(t, state{light: 0, heavyFree: 1, waiting: 0}, h.slots.state())
	g := &sessionGate{h: h}
	require.NoError(t, h.run(t.Context(), g, func() {
		_, err = g.heavy(t.Context(), time.Now().Add(-time.Millisecond), &g.own)
	}))
	assert.ErrorIs(t, err, errTooLong)
	assert.Equal(t, state{light: 0, heavyFree: 1, waiting: 0}, h.slots.state())
}

func TestWaitersGiveUpWhenTheirContextEnds(t *testing.T) {
	h := newTestScheduler(2, 1)
	var wg sync.WaitGroup
	proceed := make(chan struct{})
	require.NoError(t, <-heavyLine(h, &sessionGate{h: h}, t.Context(), time.Time{}, proceed, &wg))

	ctx, cancel := context.WithCancel(t.Context())
	waiting := heavyLine(h, &sessionGate{h: h}, ctx, time.Now().Add(time.Hour), proceed, &wg)
	eventually(t, "a line waiting", func() bool { return h.slots.state().waiting == 1 })
	cancel()
	var err error
	within(t, "give-up on cancel", func() { err = <-waiting })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, state{light: 0, heavyFree: 0, waiting: 0}, h.slots.state())

	close(proceed)
	wg.Wait()
	assert.Equal(t, state{light: 0, heavyFree: 1, waiting: 0}, h.slots.state())
}

// Grants racing with give-ups (deadlines and cancellations at random) never lose or
// duplicate a slot.
func TestGrantsRacingWithGiveUpsKeepEverySlot(t *testing.T) {
	h := newTestScheduler(2, 1)
	var wg sync.WaitGroup
	var inHeavy, maxInHeavy atomic.Int32
	for i := range 200 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(2000))*time.Microsecond)
			defer cancel()
			deadline := time.Now().Add(time.Duration(r.IntN(2000)) * time.Microsecond)
			g := &sessionGate{h: h}
			_ = h.run(ctx, g, func() {
				release, err := g.heavy(ctx, deadline, &g.own)
				if err != nil {
					return
				}
				n := inHeavy.Add(1)
				for m := maxInHeavy.Load(); n > m && !maxInHeavy.CompareAndSwap(m, n); m = maxInHeavy.Load() {
				}
				time.Sleep(time.Duration(r.IntN(200)) * time.Microsecond)
				inHeavy.Add(-1)
				if r.IntN(2) == 0 {
					release() // else the end of the line releases it
				}
			})
		})
	}
	wg.Wait()
	assert.Equal(t, state{light: 0, heavyFree: 1, waiting: 0}, h.slots.state())
	assert.Equal(t, int32(1), maxInHeavy.Load(), "one heavy slot, one heavy line at a time")
}

func TestAPanicLeaksNoSlot(t *testing.T) {
	h := newTestScheduler(1, 1)
	g := &sessionGate{h: h}
	panicking := func(heavy bool) (p any) {
		defer func() { p = recover() }()
		_ = h.run(t.Context(), g, func() {
			if heavy {
				_, err := g.heavy(t.Context(), time.Time{}, &g.own)
				assert.NoError(t, err)
			}
			panic("boom")
		})
		return nil
	}
	for _, heavy := range []bool{false, true, true} { // with a lost slot the second heavy one would block
		within(t, "a panicking line", func() { assert.Equal(t, "boom", panicking(heavy)) })
		assert.Equal(t, state{light: 0, heavyFree: 1}, h.slots.state())
		assert.Nil(t, g.line)
	}
}

func TestAHeavyLineOutsideEvalNeedsNoLightSlot(t *testing.T) {
	h := newTestScheduler(1, 1)
	g := &sessionGate{h: h}
	release, err := g.heavy(t.Context(), time.Time{}, &g.own)
	require.NoError(t, err)
	assert.Equal(t, state{light: 0, heavyFree: 0}, h.slots.state())
	release()
	assert.Equal(t, state{light: 0, heavyFree: 1}, h.slots.state())
}

func TestHeavyTwiceInALineIsOneSlot(t *testing.T) {
	h := newTestScheduler(1, 1)
	g := &sessionGate{h: h}
	require.NoError(t, h.run(t.Context(), g, func() {
		r1, err := g.heavy(t.Context(), time.Time{}, &g.own)
		require.NoError(t, err)
		r2, err := g.heavy(t.Context(), time.Time{}, &g.own)
		require.NoError(t, err)
		r2()
		assert.Equal(t, 0, h.slots.state().heavyFree, "the second release does nothing")
		r1()
		assert.Equal(t, 1, h.slots.state().heavyFree)
	}))
}

func TestSharedAccountsAreForgottenWithTheirKey(t *testing.T) {
	var a sharedAccounts[[16]byte]
	k1, k2 := new([16]byte), new([16]byte)
	assert.Same(t, a.get(k1), a.get(k1))
	assert.NotSame(t, a.get(k1), a.get(k2))
	assert.Equal(t, 2, a.len())
	runtime.KeepAlive(k1)
	runtime.KeepAlive(k2)
	eventually(t, "accounts forgotten", func() bool { runtime.GC(); return a.len() == 0 })
}

func TestDefaultSchedulerSizes(t *testing.T) {
	h := New(Options{MaxMemory: -1})
	n := runtime.GOMAXPROCS(0)
	assert.Equal(t, int32(n), h.slots.light.max)
	assert.Equal(t, max(1, n/2), h.slots.state().heavyFree)
}

// TestLightSlotsUnderContention takes and gives the light slots from many goroutines, some
// giving up while they wait: never more lines in than slots, and every slot back at the end.
func TestLightSlotsUnderContention(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		ls := &lightSlots{max: int32(n)}
		var in, most atomic.Int32
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 300 {
					ctx, cancel := context.WithCancel(context.Background())
					switch (g + i) % 7 {
					case 0:
						cancel() // gives up at once, unless a slot is free
					case 1:
						ctx, cancel = context.WithTimeout(ctx, 20*time.Microsecond) // gives up while waiting
					}
					if ls.take(ctx) == nil {
						cur := in.Add(1)
						for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
						}
						runtime.Gosched()
						in.Add(-1)
						ls.give()
					}
					cancel()
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, most.Load(), int32(n), "lines in at once, %d slots", n)
		assert.Zero(t, ls.used.Load(), "every slot given back")
		assert.Zero(t, ls.waiting.Load())
		assert.Empty(t, ls.queue)
	}
}
