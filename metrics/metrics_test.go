package metrics_test

import (
	"net/http"
	"net/http/httptest"
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
# HELP wscalc_expressions_total Lines evaluated, by transport and outcome: ok; error (the line's own mistake: syntax, division by zero, …); refused (a limit: time, budget, cost, memory, busy; by reason in wscalc_refusals_total); cancelled (the client went away or the server closed first).
# TYPE wscalc_expressions_total counter
wscalc_expressions_total{outcome="cancelled",transport="tcp"} 0
wscalc_expressions_total{outcome="cancelled",transport="ws"} 0
wscalc_expressions_total{outcome="error",transport="tcp"} 1
wscalc_expressions_total{outcome="error",transport="ws"} 0
wscalc_expressions_total{outcome="ok",transport="tcp"} 1
wscalc_expressions_total{outcome="ok",transport="ws"} 1
wscalc_expressions_total{outcome="refused",transport="tcp"} 0
wscalc_expressions_total{outcome="refused",transport="ws"} 0
# HELP wscalc_rejected_sessions_total Connections refused, by transport and reason (busy, per_ip, origin, host, shutdown; each present from the start).
# TYPE wscalc_rejected_sessions_total counter
wscalc_rejected_sessions_total{reason="busy",transport="tcp"} 0
wscalc_rejected_sessions_total{reason="busy",transport="ws"} 1
wscalc_rejected_sessions_total{reason="host",transport="tcp"} 0
wscalc_rejected_sessions_total{reason="host",transport="ws"} 0
wscalc_rejected_sessions_total{reason="origin",transport="tcp"} 0
wscalc_rejected_sessions_total{reason="origin",transport="ws"} 0
wscalc_rejected_sessions_total{reason="per_ip",transport="tcp"} 0
wscalc_rejected_sessions_total{reason="per_ip",transport="ws"} 0
wscalc_rejected_sessions_total{reason="shutdown",transport="tcp"} 0
wscalc_rejected_sessions_total{reason="shutdown",transport="ws"} 0
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
	for family, reasons := range map[string][]string{
		"wscalc_refusals_total":          metrics.Reasons,
		"wscalc_rejected_sessions_total": metrics.ConnectionReasons,
	} {
		got := counters(t, m, family)
		assert.Len(t, got, 3*len(reasons), family)
		for _, tr := range []string{"tcp", "ws", "http"} {
			for _, r := range reasons {
				v, ok := got[[2]string{r, tr}]
				assert.True(t, ok, "%s %s %s missing", family, tr, r)
				assert.Zero(t, v, "%s %s %s", family, tr, r)
			}
		}
	}
	for _, r := range metrics.ConnectionReasons {
		assert.Contains(t, metrics.Reasons, r, "a rejected connection is a refusal too")
	}
	got := counters(t, m, "wscalc_expressions_total")
	for _, tr := range []string{"tcp", "ws", "http"} {
		for _, o := range []string{"ok", "error", "refused", "cancelled"} {
			assert.Contains(t, got, [2]string{o, tr})
		}
	}
}

func TestRefusalsAndCancellations(t *testing.T) {
	m := metrics.New()
	tcp := m.Transport("tcp")
	tcp.Refused("time", time.Second)
	tcp.Refused("time", time.Second)
	tcp.Refused("server_memory", time.Millisecond)
	tcp.Refused("something_new", 0) // counted even if Reasons does not list it yet
	tcp.Evaluated(false, time.Microsecond)
	tcp.Cancelled()
	m.Rejected("ws", "per_ip")
	m.Transport("ws")

	got := counters(t, m, "wscalc_refusals_total")
	assert.Equal(t, 2.0, got[[2]string{"time", "tcp"}])
	assert.Equal(t, 1.0, got[[2]string{"server_memory", "tcp"}])
	assert.Equal(t, 1.0, got[[2]string{"something_new", "tcp"}])
	assert.Equal(t, 1.0, got[[2]string{"per_ip", "ws"}])
	assert.Equal(t, 0.0, got[[2]string{"time", "ws"}])

	rejected := counters(t, m, "wscalc_rejected_sessions_total")
	assert.Equal(t, 1.0, rejected[[2]string{"per_ip", "ws"}])
	assert.Equal(t, 0.0, rejected[[2]string{"busy", "ws"}])
	lines := counters(t, m, "wscalc_expressions_total")
	assert.Equal(t, 1.0, lines[[2]string{"cancelled", "tcp"}])
	assert.Equal(t, 4.0, lines[[2]string{"refused", "tcp"}], "a refused line is not an error")
	assert.Equal(t, 1.0, lines[[2]string{"error", "tcp"}])
	assert.EqualValues(t, 5, sampleCount(t, m, "wscalc_eval_duration_seconds"), "refused lines are timed too")
}

// sampleCount is the number of observations of the histogram family name (summed over
// its series).
func sampleCount(t *testing.T, m *metrics.Metrics, name string) uint64 {
	t.Helper()
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	var n uint64
	for _, f := range families {
		if f.GetName() == name {
			for _, s := range f.GetMetric() {
				n += s.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

func TestBuildInfo(t *testing.T) {
	m := metrics.New()
	assert.Equal(t, 0, testutil.CollectAndCount(m.Registry, "wscalc_build_info"), "not set yet")
	m.SetBuildInfo("v0.1.0", "abc", "go1.26.0")
	m.SetBuildInfo("v1.2.3", "1b9a7c2e", "go1.26.8")
	want := `
# HELP wscalc_build_info Always 1; the labels say which build is running: module version, VCS revision and Go version.
# TYPE wscalc_build_info gauge
wscalc_build_info{goversion="go1.26.8",revision="1b9a7c2e",version="v1.2.3"} 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "wscalc_build_info"))
}

// The HTTP middleware counts by the route its caller names (never the raw path) and
// times every request but the untimed ones.
func TestHTTPMiddleware(t *testing.T) {
	m := metrics.New()
	route := func(r *http.Request) string {
		if strings.HasPrefix(r.URL.Path, "/item/") {
			return "/item/{id}"
		}
		return metrics.UnmatchedRoute
	}
	untimed := func(r *http.Request) bool { return r.URL.Path == "/item/ws" }
	h := m.HTTPMiddleware(route, untimed)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/item/2" {
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	for _, target := range []string{"/item/1", "/item/1", "/item/2", "/item/ws", "/nope?x=1", "/other"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/item/3", nil))
	want := `
# HELP wscalc_http_requests_total HTTP requests answered, by route pattern ("unmatched" for a path no route serves), method and status code.
# TYPE wscalc_http_requests_total counter
wscalc_http_requests_total{code="200",method="get",route="/item/{id}"} 3
wscalc_http_requests_total{code="200",method="get",route="unmatched"} 2
wscalc_http_requests_total{code="200",method="unknown",route="/item/{id}"} 1
wscalc_http_requests_total{code="418",method="get",route="/item/{id}"} 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "wscalc_http_requests_total"))
	assert.EqualValues(t, 6, sampleCount(t, m, "wscalc_http_request_duration_seconds"), "all but /item/ws")
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	m.SessionStarted("tcp")
	m.SessionEnded("tcp")
	m.Rejected("tcp", "busy")
	b := m.Transport("tcp")
	b.Evaluated(true, time.Second)
	b.Refused("time", time.Second)
	b.Cancelled()
	m.SetBuildInfo("v1", "abc", "go1")
	m.HTTPMiddleware(nil, nil)(http.NotFoundHandler())
}

func TestWatchCluster(t *testing.T) {
	m := metrics.New()
	figures := metrics.ClusterFigures{Instances: 3, WS: 4, TCP: 2}
	m.WatchCluster(func() metrics.ClusterFigures { return figures })
	want := `
# HELP wscalc_cluster_clients Clients connected to every live instance of the cluster, by transport: the counts the playground shows (wscalc_active_sessions is this instance's).
# TYPE wscalc_cluster_clients gauge
wscalc_cluster_clients{transport="tcp"} 2
wscalc_cluster_clients{transport="ws"} 4
# HELP wscalc_cluster_instances Live instances of the cluster, this one included (1 alone).
# TYPE wscalc_cluster_instances gauge
wscalc_cluster_instances 3
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry, strings.NewReader(want),
		"wscalc_cluster_instances", "wscalc_cluster_clients"))
	figures = metrics.ClusterFigures{Instances: 1, WS: 1} // read again at each scrape
	want = `
# HELP wscalc_cluster_instances Live instances of the cluster, this one included (1 alone).
# TYPE wscalc_cluster_instances gauge
wscalc_cluster_instances 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "wscalc_cluster_instances"))
	m = nil
	m.WatchCluster(func() metrics.ClusterFigures { return figures }) // a nil *Metrics records nothing
}
