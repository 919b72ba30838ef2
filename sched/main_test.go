package sched

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run runs one line's evaluation fn between begin and end, as Eval does: the tests'
// way to hold a slot while they look at the scheduler.
func (h *Scheduler) run(ctx context.Context, g *sessionGate, fn func()) error {
	l, err := h.begin(ctx, g)
	if err != nil {
		return err
	}
	defer h.end(g, l)
	fn()
	return nil
}
