package session_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/session"
)

// One writer: replies and pushes never overlap, replies keep their order, and the last
// change always gets through, coalesced.
func TestOutboxOneWriterInOrder(t *testing.T) {
	var writing atomic.Bool
	var mu sync.Mutex
	var replies []int
	var last atomic.Int64
	var state atomic.Int64
	var out session.Outbox[int]
	out.Init(func(m int) error {
		require.True(t, writing.CompareAndSwap(false, true), "two writers at once")
		defer writing.Store(false)
		if m < 0 {
			last.Store(int64(-m))
		} else {
			mu.Lock()
			replies = append(replies, m)
			mu.Unlock()
		}
		return nil
	}, session.Pushes[int]{Interval: time.Millisecond, Next: func() (int, bool) { return -int(state.Load()), true }})
	out.Open()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= 200; i++ {
			state.Store(int64(i))
			out.Changed()
		}
	})
	for i := range 1000 {
		require.NoError(t, out.Send(i))
	}
	wg.Wait()
	require.Eventually(t, func() bool { return last.Load() == 200 }, 2*time.Second, time.Millisecond)
	out.Stop()
	out.Wait()
	for i, r := range replies {
		require.Equal(t, i, r)
	}
	require.Len(t, replies, 1000)
}

func TestOutboxFailedWriteSticks(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	var out session.Outbox[string]
	out.Init(func(string) error { n++; return boom }, session.Pushes[string]{})
	require.ErrorIs(t, out.Send("a"), boom)
	require.ErrorIs(t, out.Send("b"), boom)
	require.ErrorIs(t, out.Err(), boom)
	require.Equal(t, 1, n, "nothing is written after a failed write")
}

func TestOutboxNoPushAfterStop(t *testing.T) {
	var pushes atomic.Int32
	var out session.Outbox[string]
	out.Init(func(string) error { pushes.Add(1); return nil },
		session.Pushes[string]{Interval: 10 * time.Millisecond, Next: func() (string, bool) { return "p", true }})
	out.Sent() // a greeting carried the state: the next push waits an interval
	out.Open()
	out.Changed()
	out.Stop()
	out.Wait()
	time.Sleep(30 * time.Millisecond)
	require.Zero(t, pushes.Load())
}
