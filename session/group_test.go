package session_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/session"
)

// member ends (leaves its group) when it is drained or forced, recording which.
type member struct {
	g              *session.Group
	drains, forces atomic.Int32
	leaveOnDrain   bool
}

func (m *member) Drain() {
	if m.drains.Add(1) == 1 && m.leaveOnDrain {
		go m.g.Leave(m)
	}
}

func (m *member) Force() {
	if m.forces.Add(1) == 1 {
		go m.g.Leave(m)
	}
}

func join(t *testing.T, g *session.Group, leaveOnDrain bool) *member {
	t.Helper()
	m := &member{g: g, leaveOnDrain: leaveOnDrain}
	require.True(t, g.Enter())
	require.True(t, g.Track(m))
	return m
}

// Shutdown means what it means in net/http: drain, wait, or give up at ctx's end and leave
// the rest running; Close forces.
func TestGroupShutdownWaitsCloseForces(t *testing.T) {
	var g session.Group
	quick := join(t, &g, true)
	stubborn := join(t, &g, false)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, g.Shutdown(ctx), context.DeadlineExceeded)
	require.Equal(t, int32(1), quick.drains.Load())
	require.Equal(t, int32(1), stubborn.drains.Load())
	require.Zero(t, stubborn.forces.Load(), "Shutdown never forces")
	require.False(t, g.Enter(), "nothing is admitted once shutting down")
	require.False(t, g.Closed())

	g.Close()
	require.Equal(t, int32(1), stubborn.forces.Load())
	require.True(t, g.Closed())
	require.NoError(t, g.Shutdown(context.Background()), "nothing left to wait for")
}

// A session whose start crossed Shutdown is drained as soon as it is tracked; after Close
// it is refused.
func TestGroupLateSessions(t *testing.T) {
	var g session.Group
	first := join(t, &g, true)
	require.True(t, g.Enter())
	require.True(t, g.Enter())
	done := make(chan error, 1)
	go func() { done <- g.Shutdown(context.Background()) }()
	require.Eventually(t, func() bool { return first.drains.Load() == 1 }, time.Second, time.Millisecond)
	late := &member{g: &g, leaveOnDrain: true}
	require.True(t, g.Track(late))
	require.Equal(t, int32(1), late.drains.Load())
	g.Leave(nil) // the other never got as far as Track
	require.NoError(t, <-done)

	var closed session.Group
	require.True(t, closed.Enter())
	closing := make(chan struct{})
	go func() { closed.Close(); close(closing) }()
	require.Eventually(t, closed.Closed, time.Second, time.Millisecond)
	require.False(t, closed.Track(&member{g: &closed}))
	closed.Leave(nil)
	<-closing
}
