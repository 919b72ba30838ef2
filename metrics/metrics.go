// Package metrics defines wscalc's Prometheus collectors. Labels are low-cardinality by
// construction: a transport ("tcp", "ws", "http"), an outcome or a refusal reason, never
// an expression, address or session id.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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
			Help: "Connections refused, by transport and reason (busy, per_ip, origin, host, shutdown).",
		}, []string{"transport", "reason"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wscalc_refusals_total",
			Help: "Lines and connections refused to protect the server, by transport and reason " +
				"(every reason of metrics.Reasons is present from the start). A refused line also counts " +
				"as outcome=\"error\" in wscalc_expressions_total; a refused connection also counts in " +
				"wscalc_rejected_sessions_total.",
		}, []string{"transport", "reason"}),
		expressions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wscalc_expressions_total",
			Help: "Lines evaluated, by transport and outcome (ok, error, cancelled: the client went away or the server closed first).",
		}, []string{"transport", "outcome"}),
		evalDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wscalc_eval_duration_seconds",
			Help: "Time to evaluate one line, excluding network I/O.",
			// 1 µs to ~1 s: a typical line takes about a microsecond, the limit is 1 s.
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 11),
		}),
	}
	reg.MustRegister(m.activeSessions, m.sessionsTotal, m.rejected, m.refusals, m.expressions, m.evalDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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
// Connections are refused for busy (the transport's session limit), per_ip (the
// per-address connection limit), origin and host (cross-site WebSocket origin, DNS
// rebinding host check) and shutdown. The line reasons are the Refusal values of calc.Error.
var Reasons = []string{
	"time", "budget", "cost", "session_memory", "server_memory", "busy",
	"per_ip", "origin", "host", "shutdown",
}

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
// transport's refusal series at 0, one per reason of Reasons. A nil *Metrics gives a nil
// *Bound, which records nothing.
func (m *Metrics) Transport(transport string) *Bound {
	if m == nil {
		return nil
	}
	b := &Bound{
		ok:        m.expressions.WithLabelValues(transport, "ok"),
		failed:    m.expressions.WithLabelValues(transport, "error"),
		cancelled: m.expressions.WithLabelValues(transport, "cancelled"),
		duration:  m.evalDuration,
		transport: transport,
		refusals:  m.refusals,
		refused:   make(map[string]prometheus.Counter, len(Reasons)),
	}
	for _, r := range Reasons {
		b.refused[r] = m.refusals.WithLabelValues(transport, r)
	}
	return b
}

// Bound records the lines of one transport.
type Bound struct {
	ok, failed, cancelled prometheus.Counter
	duration              prometheus.Histogram

	transport string
	refusals  *prometheus.CounterVec
	refused   map[string]prometheus.Counter // read-only: the series of Reasons
}

// Refused records a line refused for reason (a calc.Error's Refusal). It is counted in
// addition to Evaluated, which counts the line as an error.
func (b *Bound) Refused(reason string) {
	if b == nil {
		return
	}
	if c, ok := b.refused[reason]; ok {
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

// Evaluated records one evaluated line.
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
