// Package metrics defines wscalc's Prometheus collectors. Labels are low-cardinality by
// construction: a transport ("tcp", "ws", "http"), an outcome or a rejection reason, never
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
			Help: "Connections refused, by transport and reason (busy, origin, shutdown).",
		}, []string{"transport", "reason"}),
		expressions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wscalc_expressions_total",
			Help: "Lines evaluated, by transport and outcome (ok, error).",
		}, []string{"transport", "outcome"}),
		evalDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wscalc_eval_duration_seconds",
			Help: "Time to evaluate one line, excluding network I/O.",
			// 1 µs to ~1 s: a typical line takes about a microsecond, the limit is 1 s.
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 11),
		}),
	}
	reg.MustRegister(m.activeSessions, m.sessionsTotal, m.rejected, m.expressions, m.evalDuration,
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

// Rejected records a connection refused on transport for reason.
func (m *Metrics) Rejected(transport, reason string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(transport, reason).Inc()
}

// Transport returns the collectors of one transport with their labels resolved, for a
// caller that records every line: it saves a label lookup per line. A nil *Metrics gives
// a nil *Bound, which records nothing.
func (m *Metrics) Transport(transport string) *Bound {
	if m == nil {
		return nil
	}
	return &Bound{
		ok:       m.expressions.WithLabelValues(transport, "ok"),
		failed:   m.expressions.WithLabelValues(transport, "error"),
		duration: m.evalDuration,
	}
}

// Bound records the lines of one transport.
type Bound struct {
	ok, failed prometheus.Counter
	duration   prometheus.Histogram
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
