// Package metrics defines wscalc's Prometheus collectors. Labels are low-cardinality by
// construction: a transport ("tcp", "ws", "http"), an outcome or a refusal reason, an HTTP
// route pattern, method and status code, never an expression, address, path or session id.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of collectors the server updates. A nil *Metrics is valid and records
// nothing, so packages can be used without metrics (in tests, in `wscalc eval`).
type Metrics struct {
	Registry *prometheus.Registry

	activeSessions *prometheus.GaugeVec
	sessionsTotal  *prometheus.CounterVec
	rejected       *prometheus.CounterVec
	refusals       *prometheus.CounterVec
	expressions    *prometheus.CounterVec
	evalDuration   prometheus.Histogram
	buildInfo      *prometheus.GaugeVec
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
}

// New creates the collectors on a fresh registry that also carries the Go runtime and
// process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		activeSessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wscalc_active_sessions",
			Help: "Sessions connected now, by transport.",
		}, []string{"transport"}),
		sessionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wscalc_sessions_total",
			Help: "Sessions accepted since start, by transport.",
		}, []string{"transport"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wscalc_rejected_sessions_total",
			Help: "Connections refused, by transport and reason (busy, per_ip, origin, host, shutdown; each present from the start).",
		}, []string{"transport", "reason"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wscalc_refusals_total",
			Help: "Lines and connections refused to protect the server, by transport and reason " +
				"(every reason of metrics.Reasons is present from the start). Per transport, it is the sum of " +
				"wscalc_expressions_total{outcome=\"refused\"} (lines) and wscalc_rejected_sessions_total (connections).",
		}, []string{"transport", "reason"}),
		expressions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wscalc_expressions_total",
			Help: "Lines evaluated, by transport and outcome: ok; error (the line's own mistake: syntax, division by zero, …); " +
				"refused (a limit: time, budget, cost, memory, busy; by reason in wscalc_refusals_total); " +
				"cancelled (the client went away or the server closed first).",
		}, []string{"transport", "outcome"}),
		evalDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wscalc_eval_duration_seconds",
			Help: "Time to evaluate one line, excluding network I/O.",
			// 1 µs to ~1 s: a typical line takes about a microsecond, the limit is 1 s.
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 11),
		}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wscalc_build_info",
			Help: "Always 1; the labels say which build is running: module version, VCS revision and Go version.",
		}, []string{"version", "revision", "goversion"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wscalc_http_requests_total",
			Help: "HTTP requests answered, by route pattern (\"unmatched\" for a path no route serves), method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wscalc_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route pattern and method (not /ws, whose requests last as long as their session).",
			// 100 µs to ~26 s: a file or an evaluation takes well under a millisecond to 1 s;
			// a reply may take up to the 30 s write timeout.
			Buckets: prometheus.ExponentialBuckets(1e-4, 4, 10),
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.activeSessions, m.sessionsTotal, m.rejected, m.refusals, m.expressions, m.evalDuration,
		m.buildInfo, m.httpRequests, m.httpDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetBuildInfo sets wscalc_build_info: one series, value 1, whose labels are the running
// build's module version, VCS revision (empty if the build did not record it) and Go
// version. A later call replaces the series.
func (m *Metrics) SetBuildInfo(version, revision, goVersion string) {
	if m == nil {
		return
	}
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, revision, goVersion).Set(1)
}

// ClusterFigures are what /metrics shows of the cluster of instances this one belongs to
// (a lone instance is a cluster of one).
type ClusterFigures struct {
	Instances int // live instances, this one included
	WS, TCP   int // clients connected to them, by transport
}

// WatchCluster adds the gauges wscalc_cluster_instances and
// wscalc_cluster_clients{transport} (rooms.md §8), read from figures at each scrape. Call
// it once.
func (m *Metrics) WatchCluster(figures func() ClusterFigures) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(clusterCollector{figures})
}

var (
	clusterInstancesDesc = prometheus.NewDesc("wscalc_cluster_instances",
		"Live instances of the cluster, this one included (1 alone).", nil, nil)
	clusterClientsDesc = prometheus.NewDesc("wscalc_cluster_clients",
		"Clients connected to every live instance of the cluster, by transport: the counts the playground shows "+
			"(wscalc_active_sessions is this instance's).", []string{"transport"}, nil)
)

// clusterCollector reads the cluster's figures once per scrape.
type clusterCollector struct{ figures func() ClusterFigures }

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clusterInstancesDesc
	ch <- clusterClientsDesc
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.figures()
	ch <- prometheus.MustNewConstMetric(clusterInstancesDesc, prometheus.GaugeValue, float64(f.Instances))
	ch <- prometheus.MustNewConstMetric(clusterClientsDesc, prometheus.GaugeValue, float64(f.TCP), "tcp")
	ch <- prometheus.MustNewConstMetric(clusterClientsDesc, prometheus.GaugeValue, float64(f.WS), "ws")
}

// RoomFigures are this instance's rooms, read at each scrape.
type RoomFigures struct {
	Rooms   int    // rooms with a member here
	Members int    // room members connected here
	Events  uint64 // events this instance stored, since it started
	Retries uint64 // lines evaluated again after a conflict on the room log, since it started
}

// WatchRooms adds the gauges wscalc_rooms and wscalc_room_members and the counters
// wscalc_room_events_total (rooms.md §8) and wscalc_room_retries_total, read from figures at each scrape; no label names
// a room or a nick. Call it once.
func (m *Metrics) WatchRooms(figures func() RoomFigures) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(roomsCollector{figures})
}

var (
	roomsDesc       = prometheus.NewDesc("wscalc_rooms", "Rooms with a member connected to this instance.", nil, nil)
	roomMembersDesc = prometheus.NewDesc("wscalc_room_members", "Room members connected to this instance.", nil, nil)
	roomEventsDesc  = prometheus.NewDesc("wscalc_room_events_total", "Room events this instance stored in the room log.", nil, nil)
	roomRetriesDesc = prometheus.NewDesc("wscalc_room_retries_total",
		"Room lines this instance evaluated again because another event was stored first (conflicts on the room log).", nil, nil)
)

type roomsCollector struct{ figures func() RoomFigures }

func (c roomsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- roomsDesc
	ch <- roomMembersDesc
	ch <- roomEventsDesc
	ch <- roomRetriesDesc
}

func (c roomsCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.figures()
	ch <- prometheus.MustNewConstMetric(roomsDesc, prometheus.GaugeValue, float64(f.Rooms))
	ch <- prometheus.MustNewConstMetric(roomMembersDesc, prometheus.GaugeValue, float64(f.Members))
	ch <- prometheus.MustNewConstMetric(roomEventsDesc, prometheus.CounterValue, float64(f.Events))
	ch <- prometheus.MustNewConstMetric(roomRetriesDesc, prometheus.CounterValue, float64(f.Retries))
}

// UnmatchedRoute is the route label of an HTTP request that no route serves (a 404).
const UnmatchedRoute = "unmatched"

// HTTPMiddleware records every request it wraps with promhttp's instrumentation, in
// wscalc_http_requests_total and (unless untimed says otherwise) in
// wscalc_http_request_duration_seconds. route names the request's route after the
// handler has run: a pattern such as /api/eval, never the raw path, so that the series
// stay few whatever clients send; UnmatchedRoute for a path no route serves. untimed
// (may be nil) picks the requests whose duration means nothing, such as a WebSocket
// upgrade that lasts its whole session. A nil *Metrics gives a middleware that records
// nothing.
func (m *Metrics) HTTPMiddleware(route func(*http.Request) string, untimed func(*http.Request) bool) func(http.Handler) http.Handler {
	if m == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	label := promhttp.WithLabelFromRequest("route", route)
	return func(next http.Handler) http.Handler {
		counted := promhttp.InstrumentHandlerCounter(m.httpRequests, next, label)
		timed := promhttp.InstrumentHandlerDuration(m.httpDuration, counted, label)
		if untimed == nil {
			return timed
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if untimed(r) {
				counted.ServeHTTP(w, r)
				return
			}
			timed.ServeHTTP(w, r)
		})
	}
}

// SessionStarted records a session accepted on transport.
func (m *Metrics) SessionStarted(transport string) {
	if m == nil {
		return
	}
	m.activeSessions.WithLabelValues(transport).Inc()
	m.sessionsTotal.WithLabelValues(transport).Inc()
}

// SessionEnded records the end of a session started with SessionStarted.
func (m *Metrics) SessionEnded(transport string) {
	if m == nil {
		return
	}
	m.activeSessions.WithLabelValues(transport).Dec()
}

// Reasons are the refusal reasons of wscalc_refusals_total, each present at 0 for every
// transport once that transport's collectors exist (see Transport), so that a dashboard or
// an alert sees the series before the first refusal. Lines are refused for time (the line's
// time limit), budget (the session's or address's work budget is spent), cost (the line
// alone costs more than a full budget), session_memory (the session's stored values),
// server_memory (the whole server is near its memory cap), busy (no evaluation capacity).
// Connections are refused for the ConnectionReasons. The line reasons are the Refusal
// values of calc.Error.
var Reasons = []string{
	"time", "budget", "cost", "session_memory", "server_memory", "busy",
	"per_ip", "origin", "host", "shutdown",
}

// ConnectionReasons are the reasons of wscalc_rejected_sessions_total, each present at 0
// for every transport once that transport's collectors exist: busy (the transport's
// session limit), per_ip (the per-address connection limit), origin and host (cross-site
// WebSocket origin, DNS rebinding host check) and shutdown.
var ConnectionReasons = []string{"busy", "per_ip", "origin", "host", "shutdown"}

// Rejected records a connection refused on transport for reason, in
// wscalc_rejected_sessions_total and wscalc_refusals_total.
func (m *Metrics) Rejected(transport, reason string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(transport, reason).Inc()
	m.refusals.WithLabelValues(transport, reason).Inc()
}

// Transport returns the collectors of one transport with their labels resolved, for a
// caller that records every line: it saves a label lookup per line. It also creates the
// transport's refusal series at 0, one per reason of Reasons, its connection rejection
// series, one per ConnectionReasons, and its expression series, one per outcome. A nil
// *Metrics gives a nil *Bound, which records nothing.
func (m *Metrics) Transport(transport string) *Bound {
	if m == nil {
		return nil
	}
	b := &Bound{
		ok:        m.expressions.WithLabelValues(transport, "ok"),
		failed:    m.expressions.WithLabelValues(transport, "error"),
		refused:   m.expressions.WithLabelValues(transport, "refused"),
		cancelled: m.expressions.WithLabelValues(transport, "cancelled"),
		duration:  m.evalDuration,
		transport: transport,
		refusals:  m.refusals,
		reasons:   make(map[string]prometheus.Counter, len(Reasons)),
	}
	for _, r := range Reasons {
		b.reasons[r] = m.refusals.WithLabelValues(transport, r)
	}
	for _, r := range ConnectionReasons {
		m.rejected.WithLabelValues(transport, r)
	}
	return b
}

// Bound records the lines of one transport.
type Bound struct {
	ok, failed, refused, cancelled prometheus.Counter
	duration                       prometheus.Histogram

	transport string
	refusals  *prometheus.CounterVec
	reasons   map[string]prometheus.Counter // read-only: the series of Reasons
}

// Refused records a line refused for reason (a calc.Error's Refusal) after d of
// evaluation: outcome "refused" in wscalc_expressions_total, and the reason in
// wscalc_refusals_total.
func (b *Bound) Refused(reason string, d time.Duration) {
	if b == nil {
		return
	}
	b.refused.Inc()
	b.duration.Observe(d.Seconds())
	if c, ok := b.reasons[reason]; ok {
		c.Inc()
		return
	}
	b.refusals.WithLabelValues(b.transport, reason).Inc() // a reason this list does not know yet
}

// Cancelled records a line whose evaluation stopped because its context ended (the client
// went away, the request was cancelled, the server is closing): neither a result nor a
// refusal.
func (b *Bound) Cancelled() {
	if b == nil {
		return
	}
	b.cancelled.Inc()
}

// Evaluated records one evaluated line: a result (ok) or the line's own error, not a
// refusal (see Refused).
func (b *Bound) Evaluated(ok bool, d time.Duration) {
	if b == nil {
		return
	}
	if ok {
		b.ok.Inc()
	} else {
		b.failed.Inc()
	}
	b.duration.Observe(d.Seconds())
}
