// Tests of the wiring to calc's Gate (eval.go). They rely on calc going heavy for a result
// over calc.HeavyBits.

package sched

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/metrics"
	"wscalc/presence"
)

const heavyLineText = "2^100000" // a 100 001-bit result: over calc.HeavyBits

func refusal(err error) string {
	var ce *calc.Error
	if errors.As(err, &ce) {
		return ce.Refusal
	}
	return ""
}

func TestEvalRunsLightAndHeavyLines(t *testing.T) {
	h := New(Options{MaxConcurrentEvals: 1, MaxMemory: -1})
	var s calc.Session
	for range 3 { // with a lost slot the second call would block forever
		res, err := h.Eval(t.Context(), presence.TCP, &s, "1 + 1")
		require.NoError(t, err)
		assert.Equal(t, "2", res.Display)
		_, err = h.Eval(t.Context(), presence.TCP, &s, heavyLineText)
		require.NoError(t, err)
	}
	assert.IsType(t, &gate{}, s.Gate, "Eval attaches a session that has no gate")
	_, err := h.Eval(t.Context(), presence.TCP, &s, "1 / 0")
	assert.EqualError(t, err, "Error at column 3: division by zero")
	assert.Equal(t, state{light: 0, heavyFree: 1}, h.slots.state())
	assert.Positive(t, s.Gate.(*gate).own.used, "heavy time charged to the session")
}

func TestHeavyLinesAreRefusedWhenMemoryIsHighLightOnesRun(t *testing.T) {
	m := metrics.New()
	var usage atomic.Int64
	h := New(Options{Metrics: m, MemoryUsage: usage.Load})
	usage.Store(h.MaxMemory())
	s := &calc.Session{}
	h.Attach(s)
	_, err := h.Eval(t.Context(), presence.WS, s, heavyLineText)
	assert.EqualError(t, err, "Error: server busy (memory), try again later")
	assert.Equal(t, calc.RefusalServerMemory, refusal(err))
	res, err := h.Eval(t.Context(), presence.WS, s, "1 + 1")
	require.NoError(t, err)
	assert.Equal(t, "2", res.Display)
	assert.Equal(t, 1.0, series(t, m, "wscalc_refusals_total")["reason=server_memory,transport=ws,"])
}

// holdHeavy takes the scheduler's only heavy slot for another session, outside Eval.
func holdHeavy(t *testing.T, h *Scheduler) (release func()) {
	t.Helper()
	other := &calc.Session{}
	h.Attach(other)
	release, err := other.Gate.Heavy(t.Context(), time.Time{})
	require.NoError(t, err)
	return release
}

func TestAHeavyLineWaitingPastItsLimitIsRefusedForTime(t *testing.T) {
	m := metrics.New()
	h := New(Options{Metrics: m, MaxConcurrentEvals: 2, MaxHeavyEvals: 1, MaxMemory: -1})
	release := holdHeavy(t, h)
	defer release()
	s := &calc.Session{Limits: calc.Limits{MaxTime: 50 * time.Millisecond}}
	h.Attach(s)
	var err error
	within(t, "the refusal", func() { _, err = h.Eval(t.Context(), presence.TCP, s, heavyLineText) })
	assert.EqualError(t, err, "Error: evaluation took too long (limit 0.05 s)")
	assert.Equal(t, calc.RefusalTime, refusal(err))
	assert.Equal(t, state{light: 0, heavyFree: 0}, h.slots.state())
	assert.Equal(t, 1.0, series(t, m, "wscalc_refusals_total")["reason=time,transport=tcp,"])
}

func TestAHeavyLineStopsWhenItsClientGoes(t *testing.T) {
	m := metrics.New()
	h := New(Options{Metrics: m, MaxConcurrentEvals: 2, MaxHeavyEvals: 1, MaxMemory: -1})
	release := holdHeavy(t, h)
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan error, 1)
	go func() {
		_, err := h.Eval(ctx, presence.HTTP, &calc.Session{}, heavyLineText)
		got <- err
	}()
	eventually(t, "the line waiting", func() bool { return h.slots.state().waiting == 1 })
	cancel()
	var err error
	within(t, "the cancellation", func() { err = <-got })
	assert.ErrorIs(t, err, context.Canceled)
	release()
	assert.Equal(t, state{light: 0, heavyFree: 1}, h.slots.state())
	lines := series(t, m, "wscalc_expressions_total")
	assert.Equal(t, 1.0, lines["outcome=cancelled,transport=http,"])
	assert.Zero(t, lines["outcome=error,transport=http,"])
}

func TestSessionsWithOneBudgetShareTheirAccount(t *testing.T) {
	h := New(Options{MaxMemory: -1})
	b := calc.NewBudget(calc.Limits{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			_, err := h.Eval(t.Context(), presence.HTTP, &calc.Session{Budget: b}, heavyLineText)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, h.shared.len())
	assert.Positive(t, h.shared.get(b).used)
}
