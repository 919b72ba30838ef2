package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one load. The zero value of each optional field means its default.
type Config struct {
	Proto    string // "tcp" or "ws"
	Addr     string // host:port; for ws also a ws:// URL
	Conns    int    // connections, all held open for the whole run
	Pipeline int    // requests in flight per connection (the cap, with Rate)
	// Duration bounds the load phase when Requests is 0.
	Duration time.Duration
	// Requests is the total to send, split evenly over the connections (so -requests N
	// with N connections sends exactly one request on each).
	Requests int64
	Exprs    []Expr // the load, cycled; Builtin() if nil
	Check    bool   // verify every reply against its Expr.Want
	// Rate, if > 0, is the total requests per second, sent on a fixed schedule whatever
	// the replies do (open loop); latency then counts from the scheduled time.
	Rate float64
	// Hold keeps the connections open and idle this long before the load, so that the
	// server's memory per idle connection can be measured.
	Hold time.Duration
	// Timeout gives up on a connection that has requests in flight and gets no reply for
	// this long; its unanswered requests count as never answered. Default 10 s.
	Timeout time.Duration
	// DialConcurrency bounds the connection attempts in progress at once. Default 64.
	DialConcurrency int
	// Progress receives progress while the load runs; nil for none. ProgressBar draws a
	// bar (for a terminal) instead of printing a line a second.
	Progress    io.Writer
	ProgressBar bool
	// Log receives one-off notes (connections held, holding); nil for none.
	Log io.Writer
}

func (c *Config) setDefaults() error {
	switch c.Proto {
	case "tcp", "ws":
	default:
		return fmt.Errorf("-proto must be tcp or ws, not %q", c.Proto)
	}
	if c.Conns <= 0 || c.Pipeline <= 0 {
		return errors.New("-conns and -pipeline must be positive")
	}
	if c.Requests < 0 || c.Duration < 0 || c.Rate < 0 || c.Hold < 0 {
		return errors.New("-requests, -duration, -rate and -hold cannot be negative")
	}
	if c.Requests == 0 && c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Exprs == nil {
		c.Exprs = Builtin()
	}
	c.Exprs = slices.Clone(c.Exprs) // the byte forms below are ours to set
	if len(c.Exprs) == 0 {
		return errors.New("no expressions to send")
	}
	for i := range c.Exprs {
		e := &c.Exprs[i]
		if c.Check && !e.Checked {
			return fmt.Errorf("-check: no expected reply for %q", e.Line)
		}
		e.lineBytes, e.wantBytes = []byte(e.Line), []byte(e.Want)
		if e.Checked {
			e.wantRefusal = refusalOf(e.wantBytes)
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.DialConcurrency <= 0 {
		c.DialConcurrency = 64
	}
	return nil
}

// maxSamples bounds the error and mismatch examples kept for the report.
const maxSamples = 5

// runner is the state of one run shared by its workers.
type runner struct {
	cfg       Config
	base      time.Time
	loadStart time.Duration // since base
	deadline  time.Duration // since base; 0 without Duration
	stop      chan struct{} // closed when no new request may start
	shards    []shard

	mu           sync.Mutex
	mismatches   int64
	mismatchSeen []Mismatch
}

// shard is a histogram shared by some workers: one per worker would cost 60 KB each, too
// much with ten thousand connections, and one for all would make every reply contend.
type shard struct {
	mu sync.Mutex
	h  *Histogram
	_  [40]byte // keep neighbouring shards' locks off one cache line
}

func (r *runner) shard(id int) *shard { return &r.shards[id%len(r.shards)] }

func (s *shard) record(d time.Duration) {
	s.mu.Lock()
	s.h.Record(d)
	s.mu.Unlock()
}

func (r *runner) now() time.Duration { return time.Since(r.base) }

func (r *runner) mismatch(e *Expr, got []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mismatches++
	if len(r.mismatchSeen) < maxSamples {
		r.mismatchSeen = append(r.mismatchSeen, Mismatch{Expr: e.Line, Want: e.Want, Got: string(got)})
	}
}

// errUnsolicited is a reply with no request in flight, e.g. a server's goodbye line, or
// its refusal of the connection.
func errUnsolicited(reply []byte) error {
	if kind := refusalOf(reply); kind != "" {
		return fmt.Errorf("connection refused by the server (%s): %q", kind, string(reply))
	}
	return fmt.Errorf("reply without a request: %q", string(reply))
}

// Run drives the load and returns its summary. It returns an error only for a bad
// configuration; failures of the server are in the summary.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, base: time.Now(), stop: make(chan struct{})}
	r.shards = make([]shard, 4*runtime.GOMAXPROCS(0))
	for i := range r.shards {
		r.shards[i].h = NewHistogram()
	}
	sum := &Summary{Proto: cfg.Proto, Addr: cfg.Addr, Conns: cfg.Conns, Pipeline: cfg.Pipeline,
		Rate: cfg.Rate, Requested: cfg.Requests, Checked: cfg.Check}
	if cfg.Requests == 0 {
		sum.DurationSec = cfg.Duration.Seconds()
	}

	workers, dialErrs := r.dialAll(ctx)
	sum.DialErrors = len(dialErrs)
	errSamples := dialErrs[:min(len(dialErrs), maxSamples)]
	logf(cfg.Log, "%d of %d connections open (%d failed) in %.1fs", len(workers), cfg.Conns,
		len(dialErrs), r.now().Seconds())
	for _, w := range workers {
		go w.readLoop()
	}
	if cfg.Hold > 0 && len(workers) > 0 {
		logf(cfg.Log, "holding %d idle connections for %v", len(workers), cfg.Hold)
		select {
		case <-time.After(cfg.Hold):
		case <-ctx.Done():
		}
	}
	for _, w := range workers {
		if !isDone(w.finished) { // not failed during the hold
			sum.Held++
		}
	}

	r.loadStart = r.now()
	if cfg.Requests == 0 {
		r.deadline = r.loadStart + cfg.Duration
	}
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWatch := r.watch(loadCtx, workers)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.sendLoop(loadCtx) }()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	r.await(ctx, workers, allDone)
	end := r.now()
	stopWatch()
	for _, w := range workers {
		w.t.close()
	}
	tallies := make([]*tally, len(workers))
	for i, w := range workers {
		<-w.readDone // its counts are final
		tallies[i] = &w.tally
	}

	hist := NewHistogram()
	for i := range r.shards {
		hist.Merge(r.shards[i].h)
	}
	for _, w := range workers {
		sent, recv := w.sent.Load(), w.recv.Load()
		sum.Sent += sent
		sum.Answered += recv
		sum.Unanswered += sent - recv
		if err := w.failure(); err != nil {
			sum.Errors++
			if len(errSamples) < maxSamples {
				errSamples = append(errSamples, fmt.Errorf("conn %d: %w", w.id, err))
			}
		}
	}
	sum.Errors += sum.DialErrors
	for _, e := range errSamples {
		sum.ErrorSamples = append(sum.ErrorSamples, e.Error())
	}
	sum.Mismatches, sum.MismatchSamples = r.mismatches, r.mismatchSeen
	mergeTallies(sum, tallies)
	sum.Successful = sum.Answered - sum.ErrorReplies
	sum.ElapsedSec = (end - r.loadStart).Seconds()
	if sum.ElapsedSec > 0 {
		sum.RPS = float64(sum.Successful) / sum.ElapsedSec
		sum.ErrorRPS = float64(sum.ErrorReplies) / sum.ElapsedSec
	}
	sum.Latency = latencyOf(hist)
	return sum, nil
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// await runs the load to its end: at the deadline (or on ctx's end) no new request may
// start; the run is over when every worker is done, with progress reported meanwhile.
func (r *runner) await(ctx context.Context, workers []*worker, allDone chan struct{}) {
	p := newProgress(r, workers)
	defer p.finish()
	var deadline <-chan time.Time
	if r.deadline > 0 {
		t := time.NewTimer(r.deadline - r.now())
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(p.interval())
	defer tick.Stop()
	stopped := false
	stopOnce := func() {
		if !stopped {
			stopped = true
			close(r.stop)
		}
	}
	defer stopOnce()
	for {
		select {
		case <-allDone:
			return
		case <-deadline:
			stopOnce()
		case <-ctx.Done():
			stopOnce()
			ctx = context.Background() // the workers' own context ends their wait
		case <-tick.C:
			p.update()
		}
	}
}

// watch is the watchdog: a connection with requests in flight and no reply for Timeout
// fails, and its requests count as never answered. One goroutine checks all connections,
// so ten thousand connections cost no timers.
func (r *runner) watch(ctx context.Context, workers []*worker) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		period := min(r.cfg.Timeout/4, 250*time.Millisecond)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := r.now()
			for _, w := range workers {
				if w.outstanding() > 0 && now-time.Duration(w.lastProgress.Load()) > r.cfg.Timeout {
					w.fail(fmt.Errorf("no reply for %v with %d requests in flight", r.cfg.Timeout, w.outstanding()))
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// dialAll opens the connections, DialConcurrency at a time.
func (r *runner) dialAll(ctx context.Context) ([]*worker, []error) {
	cfg := &r.cfg
	var (
		mu      sync.Mutex
		workers []*worker
		errs    []error
		wg      sync.WaitGroup
		next    atomic.Int64
	)
	for range min(cfg.DialConcurrency, cfg.Conns) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				id := int(next.Add(1) - 1)
				if id >= cfg.Conns || ctx.Err() != nil {
					return
				}
				dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
				t, err := dial(dctx, cfg.Proto, cfg.Addr)
				cancel()
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("dial: %w", err))
				} else {
					workers = append(workers, newWorker(r, id, t, r.quota(id)))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return workers, errs
}

// quota is connection id's share of Requests, or -1 to send until stopped.
func (r *runner) quota(id int) int64 {
	n, c := r.cfg.Requests, int64(r.cfg.Conns)
	if n == 0 {
		return -1
	}
	q := n / c
	if int64(id) < n%c {
		q++
	}
	return q
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "bench: "+format+"\n", args...)
	}
}
