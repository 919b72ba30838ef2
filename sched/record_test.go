package sched

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/metrics"
	"wscalc/presence"
)

// series reads a counter family as "label=value,…" → value.
func series(t *testing.T, m *metrics.Metrics, name string) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			key := ""
			for _, l := range s.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + ","
			}
			got[key] = s.GetCounter().GetValue()
		}
	}
	return got
}

func TestEveryRefusalReasonStartsAtZeroOnEveryTransport(t *testing.T) {
	m := metrics.New()
	New(Options{Metrics: m, MaxMemory: -1})
	got := series(t, m, "wscalc_refusals_total")
	want := map[string]float64{}
	for _, tr := range presence.Transports {
		for _, r := range metrics.Reasons {
			want["reason="+r+",transport="+string(tr)+","] = 0
		}
	}
	assert.Equal(t, want, got)
	rejected := series(t, m, "wscalc_rejected_sessions_total")
	assert.Len(t, rejected, 3*len(metrics.ConnectionReasons))
	for _, tr := range presence.Transports {
		for _, r := range metrics.ConnectionReasons {
			v, ok := rejected["reason="+r+",transport="+string(tr)+","]
			assert.True(t, ok, "rejected %s %s missing", tr, r)
			assert.Zero(t, v)
		}
	}
	for _, r := range []string{"time", "budget", "cost", "session_memory", "server_memory", "per_ip", "busy", "origin", "host", "shutdown"} {
		assert.Contains(t, metrics.Reasons, r)
	}
}

func TestOutcomesAreRecordedByKind(t *testing.T) {
	m := metrics.New()
	h := New(Options{Metrics: m, MaxMemory: -1})
	h.record(presence.TCP, calc.KindInteger, nil, time.Millisecond)
	h.record(presence.TCP, calc.KindNone, &calc.Error{Msg: "division by zero"}, time.Millisecond)
	h.record(presence.TCP, calc.KindNone, &calc.Error{Msg: "evaluation took too long (limit 1 s)", Refusal: calc.RefusalTime}, time.Second)
	h.record(presence.WS, calc.KindNone, context.Canceled, 0)
	h.record(presence.HTTP, calc.KindNone, context.DeadlineExceeded, 0)
	h.record(presence.TCP, calc.KindNone, calc.ErrQuit, 0)
	h.record(presence.TCP, calc.KindNone, nil, 0)
	h.record(presence.TCP, calc.KindText, nil, 0)

	lines := series(t, m, "wscalc_expressions_total")
	assert.Equal(t, 1.0, lines["outcome=ok,transport=tcp,"])
	assert.Equal(t, 1.0, lines["outcome=error,transport=tcp,"], "a refused line is not an error")
	assert.Equal(t, 1.0, lines["outcome=refused,transport=tcp,"])
	assert.Equal(t, 0.0, lines["outcome=cancelled,transport=tcp,"])
	assert.Equal(t, 1.0, lines["outcome=cancelled,transport=ws,"])
	assert.Equal(t, 1.0, lines["outcome=cancelled,transport=http,"])
	assert.Equal(t, 0.0, lines["outcome=error,transport=ws,"])

	refusals := series(t, m, "wscalc_refusals_total")
	for k, v := range refusals {
		if k == "reason=time,transport=tcp," {
			assert.Equal(t, 1.0, v, k)
		} else {
			assert.Zero(t, v, "cancellations are not refusals: %s", k)
		}
	}
}
