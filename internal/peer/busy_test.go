//go:build linux

package peer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBusyWatchesOnlyLongStretches(t *testing.T) {
	server, client := pair(t)
	gone := make(chan struct{}, 1)
	b := &Busy{Conn: server, Mode: ReadHangUp, Gone: func() { gone <- struct{}{} }, After: 20 * time.Millisecond}

	// Short stretches are never watched.
	for range 100 {
		b.Begin()
		b.Begin() // already busy: nothing
		b.End()
	}
	time.Sleep(40 * time.Millisecond)
	assert.Zero(t, Std.Watching())

	// A long one is, until it ends.
	b.Begin()
	require.Eventually(t, func() bool { return Std.Watching() == 1 }, time.Second, time.Millisecond)
	b.End()
	b.End()
	assert.Zero(t, Std.Watching())

	// The peer leaves during a long stretch: Gone.
	b.Begin()
	require.Eventually(t, func() bool { return Std.Watching() == 1 }, time.Second, time.Millisecond)
	client.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("not noticed")
	}
	b.End()
	assert.Zero(t, Std.Watching())
	require.Eventually(t, func() bool {
		Std.mu.Lock()
		defer Std.mu.Unlock()
		return !Std.running
	}, time.Second, time.Millisecond)
}
