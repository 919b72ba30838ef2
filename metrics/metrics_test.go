package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/metrics"
)

func TestCollectors(t *testing.T) {
	m := metrics.New()
	m.SessionStarted("tcp")
	m.SessionStarted("tcp")
	m.SessionEnded("tcp")
	m.Rejected("ws", "busy")
	tcp := m.Transport("tcp")
	tcp.Evaluated(true, 3*time.Microsecond)
	tcp.Evaluated(false, 5*time.Microsecond)
	m.Transport("ws").Evaluated(true, time.Millisecond)

	want := `
# HELP wscalc_active_sessions Sessions connected now, by transport.
# TYPE wscalc_active_sessions gauge
wscalc_active_sessions{transport="tcp"} 1
# HELP wscalc_expressions_total Lines evaluated, by transport and outcome (ok, error).
# TYPE wscalc_expressions_total counter
wscalc_expressions_total{outcome="error",transport="tcp"} 1
wscalc_expressions_total{outcome="error",transport="ws"} 0
wscalc_expressions_total{outcome="ok",transport="tcp"} 1
wscalc_expressions_total{outcome="ok",transport="ws"} 1
# HELP wscalc_rejected_sessions_total Connections refused, by transport and reason (busy, origin, shutdown).
# TYPE wscalc_rejected_sessions_total counter
wscalc_rejected_sessions_total{reason="busy",transport="ws"} 1
# HELP wscalc_sessions_total Sessions accepted since start, by transport.
# TYPE wscalc_sessions_total counter
wscalc_sessions_total{transport="tcp"} 2
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry, strings.NewReader(want),
		"wscalc_active_sessions", "wscalc_expressions_total", "wscalc_rejected_sessions_total", "wscalc_sessions_total"))
	assert.Equal(t, 1, testutil.CollectAndCount(m.Registry, "wscalc_eval_duration_seconds"))
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	m.SessionStarted("tcp")
	m.SessionEnded("tcp")
	m.Rejected("tcp", "busy")
	m.Transport("tcp").Evaluated(true, time.Second)
}
