package session_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
)

// EvalAppend sorts a line's outcome as Eval does and appends what Eval's Result.Display
// holds, in two sessions fed the same lines (assignments carry from line to line).
func TestEvalAppendIsEval(t *testing.T) {
	cfg := &session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{MaxMemory: -1})}
	require.NoError(t, cfg.Prepare(presence.TCP))
	var byString, byBytes session.Session
	byString.Init(context.Background(), cfg, "192.0.2.1:1")
	byBytes.Init(context.Background(), cfg, "192.0.2.1:2")
	t.Cleanup(byString.Cancel)
	t.Cleanup(byBytes.Cancel)
	lines := []string{"1 + 1", "x = 1/3", "x * 3", "", "# a comment", "1 / 0", "(2 + 3", "sqrt(2)",
		"2 ** 100", "vars", "help", "9 ** 9 ** 9", "1e1000000000", "π", "quit"}
	for _, line := range lines {
		want := byString.Eval(line)
		dst := []byte("kept:")
		got, kind, err := byBytes.EvalAppend(dst, []byte(line))
		assert.Equal(t, want.Kind, kind, line)
		assert.Equal(t, want.Err, err, line)
		reply := ""
		if kind == session.Answer {
			reply = want.Result.Display
		}
		assert.Equal(t, "kept:"+reply, string(got), line)
	}

	byString.Cancel()
	byBytes.Cancel()
	want := byString.Eval("1 + 1")
	got, kind, err := byBytes.EvalAppend(nil, []byte("1 + 1"))
	assert.Equal(t, session.Gone, want.Kind)
	assert.Equal(t, want.Kind, kind, "the connection gone")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, got)
}
