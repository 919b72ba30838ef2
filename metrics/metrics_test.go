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
# HELP wscalc_expressions_total Lines evaluated, by transport and outcome (ok, error, cancelled: the client went away or the server closed first).
# TYPE wscalc_expressions_total counter
wscalc_expressions_total{outcome="cancelled",transport="tcp"} 0
wscalc_expressions_total{outcome="cancelled",transport="ws"} 0
wscalc_expressions_total{outcome="error",transport="tcp"} 1
wscalc_expressions_total{outcome="error",transport="ws"} 0
wscalc_expressions_total{outcome="ok",transport="tcp"} 1
wscalc_expressions_total{outcome="ok",transport="ws"} 1
# HELP wscalc_rejected_sessions_total Connections refused, by transport and reason (busy, per_ip, origin, host, shutdown).
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

// counters reads the series of the counter family name, keyed by their label values in
// label-name order (for the families here: outcome or reason first, then transport).
func counters(t *testing.T, m *metrics.Metrics, name string) map[[2]string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	got := map[[2]string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			var key [2]string
			for i, l := range s.GetLabel()[:2] {
				key[i] = l.GetValue()
			}
			got[key] = s.GetCounter().GetValue()
		}
	}
	return got
}

func TestRefusalsStartAtZeroForEveryReason(t *testing.T) {
	m := metrics.New()
	for _, tr := range []string{"tcp", "ws", "http"} {
		m.Transport(tr)
	}
	got := counters(t, m, "wscalc_refusals_total")
	assert.Len(t, got, 3*len(metrics.Reasons))
	for _, tr := range []string{"tcp", "ws", "http"} {
		for _, r := range metrics.Reasons {
			v, ok := got[[2]string{r, tr}]
			assert.True(t, ok, "%s %s missing", tr, r)
			assert.Zero(t, v, "%s %s", tr, r)
		}
	}
}

func TestRefusalsAndCancellations(t *testing.T) {
	m := metrics.New()
	tcp := m.Transport("tcp")
	tcp.Refused("time")
	tcp.Refused("time")
	tcp.Refused("server_memory")
	tcp.Refused("something_new") // counted even if Reasons does not list it yet
	tcp.Cancelled()
	m.Rejected("ws", "per_ip")
	m.Transport("ws")

	got := counters(t, m, "wscalc_refusals_total")
	assert.Equal(t, 2.0, got[[2]string{"time", "tcp"}])
	assert.Equal(t, 1.0, got[[2]string{"server_memory", "tcp"}])
	assert.Equal(t, 1.0, got[[2]string{"something_new", "tcp"}])
	assert.Equal(t, 1.0, got[[2]string{"per_ip", "ws"}])
	assert.Equal(t, 0.0, got[[2]string{"time", "ws"}])

	want := `
# HELP wscalc_rejected_sessions_total Connections refused, by transport and reason (busy, per_ip, origin, host, shutdown).
# TYPE wscalc_rejected_sessions_total counter
wscalc_rejected_sessions_total{reason="per_ip",transport="ws"} 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "wscalc_rejected_sessions_total"))
	assert.Equal(t, 1.0, counters(t, m, "wscalc_expressions_total")[[2]string{"cancelled", "tcp"}])
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	m.SessionStarted("tcp")
	m.SessionEnded("tcp")
	m.Rejected("tcp", "busy")
	b := m.Transport("tcp")
	b.Evaluated(true, time.Second)
	b.Refused("time")
	b.Cancelled()
}
