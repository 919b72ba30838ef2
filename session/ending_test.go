package session_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
)

func newSession(t *testing.T) *session.Session {
	t.Helper()
	cfg := &session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{MaxMemory: -1}),
		Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, cfg.Prepare(presence.WS))
	var s session.Session
	s.Init(context.Background(), cfg, "192.0.2.1:1")
	t.Cleanup(s.Cancel)
	return &s
}

// A close decided while a request is answered waits for its reply; one decided while the
// session waits for a request is carried out at once; the first decision wins; a request
// that crosses the close is not answered.
func TestTheSessionDecidesWhenItCloses(t *testing.T) {
	s := newSession(t)
	require.True(t, s.Begin())
	require.False(t, s.Decide(session.Ending{Code: 1008, Reason: session.ReasonIdle}), "busy: after the reply")
	require.False(t, s.Decide(session.Ending{Code: 1001, Reason: session.ReasonShutdown}), "decided already")
	require.Equal(t, &session.Ending{Code: 1008, Reason: session.ReasonIdle},
		s.Finish(&session.Ending{Code: 1000, Reason: session.ReasonQuit}), "the first decision wins")
	require.False(t, s.Begin(), "closing: no more requests")

	s = newSession(t)
	require.True(t, s.Begin())
	require.Nil(t, s.Finish(nil), "nothing decided: the session goes on")
	require.False(t, s.Closing())
	require.True(t, s.Decide(session.Ending{Reason: session.ReasonShutdown}), "idle: at once")
	require.True(t, s.Closing())
}
