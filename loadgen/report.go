package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Summary is the outcome of a run; its JSON form is what -json prints.
type Summary struct {
	Proto       string  `json:"proto"`
	Addr        string  `json:"addr"`
	Conns       int     `json:"conns"`
	Held        int     `json:"conns_held"` // open when the load started
	DialErrors  int     `json:"dial_errors"`
	Pipeline    int     `json:"pipeline"`
	Rate        float64 `json:"rate,omitempty"` // open-loop target, requests/s
	Requested   int64   `json:"requested,omitempty"`
	DurationSec float64 `json:"duration_s,omitempty"`
	Checked     bool    `json:"checked"`

	Sent       int64 `json:"sent"`
	Answered   int64 `json:"answered"`
	Unanswered int64 `json:"unanswered"` // sent but never answered: must be 0
	Errors     int   `json:"errors"`     // failed connections (dial, I/O, protocol, timeout)
	Mismatches int64 `json:"mismatches"` // replies that differ from the expected one

	// Every answered request is either successful or an error reply. An error reply is one
	// that starts with "Error: " or "Error at column N: " and is not the reply the
	// expressions expect; it is classified whether or not the run is checked.
	Successful     int64 `json:"successful"`      // answered, not an unexpected error reply
	ErrorReplies   int64 `json:"error_replies"`   // unexpected error replies, refusals included
	ExpectedErrors int64 `json:"expected_errors"` // error replies the expressions expect: successful
	// Refusals are the error replies in which the server turned the work away (session
	// budget, cost, time or memory limit, busy, too many connections); any fails the run.
	Refusals     int64            `json:"refusals"`
	RefusalKinds map[string]int64 `json:"refusal_kinds,omitempty"` // budget, cost, time, session_memory, server_memory, busy, connections
	// ErrorTexts are the most common error replies (at most 5), their numbers replaced by
	// N so that "try again in 3 s" and "try again in 41 s" are one text; ErrorClasses is
	// how many such texts there were in all.
	ErrorTexts   []ErrorText `json:"error_texts,omitempty"`
	ErrorClasses int         `json:"error_classes"`

	ElapsedSec float64 `json:"elapsed_s"`  // load phase, until the last reply
	RPS        float64 `json:"rps"`        // successful replies per second: the throughput
	ErrorRPS   float64 `json:"error_rps"`  // error replies per second, not throughput
	Latency    Latency `json:"latency_us"` // of the successful replies

	ErrorSamples    []string   `json:"error_samples,omitempty"`
	MismatchSamples []Mismatch `json:"mismatch_samples,omitempty"`
}

// Latency is the distribution of request latencies in microseconds.
type Latency struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// Mismatch is an example of a wrong reply.
type Mismatch struct {
	Expr string `json:"expr"`
	Want string `json:"want"`
	Got  string `json:"got"`
}

func latencyOf(h *Histogram) Latency {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return Latency{Count: h.Count(), Mean: us(h.Mean()), P50: us(h.Quantile(0.5)),
		P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)), P999: us(h.Quantile(0.999)),
		Max: us(h.Max())}
}

// OK reports whether the run was clean: every request answered, no connection failed, no
// request refused unless expected, and (when checked) every reply right.
func (s *Summary) OK() bool {
	return s.Unanswered == 0 && s.Errors == 0 && s.Mismatches == 0 && s.Refusals == 0
}

// Warnings explain what went wrong beyond the figures: refusals, and how to avoid them.
func (s *Summary) Warnings() []string {
	if s.Refusals == 0 {
		return nil
	}
	kinds := slices.Sorted(maps.Keys(s.RefusalKinds))
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, s.RefusalKinds[k])
	}
	w := []string{fmt.Sprintf("the server refused %d of %d answered requests (%.1f%%: %s); "+
		"refusals are not throughput, and the run fails unless the expressions file expects them",
		s.Refusals, s.Answered, 100*float64(s.Refusals)/float64(max(s.Answered, 1)), strings.Join(parts, ", "))}
	if s.RefusalKinds["budget"] > 0 || s.RefusalKinds["cost"] > 0 {
		w = append(w, "a server's session budget stops one user hogging it, and a load is such a user: "+
			"on a test server lift it with `wscalc -session-budget 1000000000000` "+
			"(or WSCALC_SESSION_BUDGET=1000000000000)")
	}
	if s.RefusalKinds["busy"] > 0 || s.RefusalKinds["connections"] > 0 {
		w = append(w, "the server is at its connection limit: use fewer -conns, or raise the "+
			"server's limits (-max-clients) on a test server")
	}
	return w
}

// WriteText prints the summary for people.
func (s *Summary) WriteText(w io.Writer) {
	mode := "closed loop"
	if s.Rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f req/s", s.Rate)
	}
	fmt.Fprintf(w, "wscalc bench: %s %s, %d connections × pipeline %d, %s\n", s.Proto, s.Addr,
		s.Conns, s.Pipeline, mode)
	fmt.Fprintf(w, "connections:  %d held (%d failed to open, %d errors in all)\n", s.Held, s.DialErrors, s.Errors)
	check := "not checked"
	if s.Checked {
		check = fmt.Sprintf("%d mismatches", s.Mismatches)
	}
	fmt.Fprintf(w, "requests:     %d sent, %d answered, %d never answered, %s\n", s.Sent, s.Answered,
		s.Unanswered, check)
	fmt.Fprintf(w, "replies:      %d successful (%d expected errors), %d error replies (%d refusals)\n",
		s.Successful, s.ExpectedErrors, s.ErrorReplies, s.Refusals)
	fmt.Fprintf(w, "throughput:   %.0f req/s successful, %.0f error replies/s, over %.2fs\n",
		s.RPS, s.ErrorRPS, s.ElapsedSec)
	l := s.Latency
	fmt.Fprintf(w, "latency:      p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s; successful replies)\n",
		fmtUS(l.P50), fmtUS(l.P90), fmtUS(l.P99), fmtUS(l.P999), fmtUS(l.Max), fmtUS(l.Mean))
	for _, t := range s.ErrorTexts {
		kind := ""
		if t.Refusal != "" {
			kind = "  [refused: " + t.Refusal + "]"
		}
		fmt.Fprintf(w, "error reply:  %d× %s%s\n", t.Count, t.Text, kind)
	}
	if more := s.ErrorClasses - len(s.ErrorTexts); more > 0 {
		fmt.Fprintf(w, "error reply:  … and %d other texts\n", more)
	}
	for _, e := range s.ErrorSamples {
		fmt.Fprintf(w, "error:        %s\n", e)
	}
	for _, m := range s.MismatchSamples {
		fmt.Fprintf(w, "mismatch:     %q: want %q, got %q\n", m.Expr, m.Want, m.Got)
	}
	for _, m := range s.Warnings() {
		fmt.Fprintf(w, "warning:      %s\n", m)
	}
	if !s.OK() {
		fmt.Fprintln(w, "FAILED: "+strings.Join(s.problems(), ", "))
	}
}

func (s *Summary) problems() []string {
	var p []string
	if s.Unanswered > 0 {
		p = append(p, fmt.Sprintf("%d requests never answered", s.Unanswered))
	}
	if s.Errors > 0 {
		p = append(p, fmt.Sprintf("%d connection errors", s.Errors))
	}
	if s.Mismatches > 0 {
		p = append(p, fmt.Sprintf("%d wrong replies", s.Mismatches))
	}
	if s.Refusals > 0 {
		p = append(p, fmt.Sprintf("%d requests refused by the server", s.Refusals))
	}
	return p
}

// fmtUS prints microseconds with a unit that keeps 3 significant digits readable.
func fmtUS(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	default:
		return fmt.Sprintf("%.0fµs", us)
	}
}

// progress shows the load as it runs: a bar with elapsed and remaining time and the current
// rate on a terminal, or a plain line per second otherwise.
type progress struct {
	r        *runner
	workers  []*worker
	bar      *progressbar.ProgressBar
	lastAt   time.Duration
	lastRecv int64
	lastErrs int64
}

func newProgress(r *runner, workers []*worker) *progress {
	p := &progress{r: r, workers: workers, lastAt: r.now()}
	if r.cfg.Progress == nil || !r.cfg.ProgressBar {
		return p
	}
	max, unit := r.cfg.Requests, "req"
	if max == 0 { // a timed run: the bar counts milliseconds
		max, unit = r.cfg.Duration.Milliseconds(), "ms"
	}
	p.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(r.cfg.Progress),
		progressbar.OptionSetDescription("bench"),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
	)
	return p
}

func (p *progress) interval() time.Duration {
	if p.bar != nil {
		return 200 * time.Millisecond
	}
	return time.Second
}

func (p *progress) totals() (sent, recv, errs int64) {
	for _, w := range p.workers {
		sent += w.sent.Load()
		recv += w.recv.Load()
		errs += w.tally.errors.Load()
	}
	return sent, recv, errs
}

func (p *progress) update() {
	if p.r.cfg.Progress == nil {
		return
	}
	now := p.r.now()
	sent, recv, errs := p.totals()
	// The rates are the successful replies' and, beside them, the error replies'.
	secs := (now - p.lastAt).Seconds()
	errRate := float64(errs-p.lastErrs) / secs
	rate := float64(recv-p.lastRecv)/secs - errRate
	p.lastAt, p.lastRecv, p.lastErrs = now, recv, errs
	elapsed := now - p.r.loadStart
	if p.bar != nil {
		desc := fmt.Sprintf("%.0f req/s, %d in flight", rate, sent-recv)
		if errs > 0 {
			desc += fmt.Sprintf(", %.0f error replies/s", errRate)
		}
		p.bar.Describe(desc)
		if p.r.cfg.Requests > 0 {
			p.bar.Set64(recv)
		} else {
			p.bar.Set64(min(elapsed.Milliseconds(), p.r.cfg.Duration.Milliseconds()))
		}
		return
	}
	fmt.Fprintf(p.r.cfg.Progress, "bench: %5.1fs  %d answered  %.0f req/s successful  %.0f error replies/s  %d in flight\n",
		elapsed.Seconds(), recv, rate, errRate, sent-recv)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.r.cfg.Progress)
	}
}
