package scenario

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Probe is a light session: it sends Expr on a fixed schedule (open loop) and checks each
// reply. Over TCP and WebSocket the requests are pipelined on one session, as a client that
// does not wait for the previous reply would; over HTTP each request is its own.
type Probe struct {
	Transport string        // TCP, WS or HTTP
	Interval  time.Duration // between scheduled sends (default 100 ms)
	Timeout   time.Duration // per request; a request not answered by then counts as unanswered (default 30 s)
	Expr      string        // default "1+1"
	Want      string        // default "2"
	Local     string        // source address ("" = any)
}

// ProbeResult is what a probe saw. Each latency counts from the request's scheduled send
// time, so a server that stalls is charged for every request it delays.
type ProbeResult struct {
	Transport  string          `json:"transport"`
	Sent       int             `json:"sent"`
	Answered   int             `json:"answered"`   // replies equal to Want
	Wrong      int             `json:"wrong"`      // other replies
	Unanswered int             `json:"unanswered"` // timed out, or the connection failed
	Latency    Summary         `json:"latency"`    // of every request; an unanswered one counts as its wait until given up
	Problems   []string        `json:"problems"`   // the first few wrong replies and errors
	Samples    []ProbeSample   `json:"-"`
	Elapsed    time.Duration   `json:"elapsed_ns"` // from the first send to the last reply
	mu         sync.Mutex      // guards the above while the probe runs
	start      time.Time       //
	latencies  []time.Duration //
}

// ProbeSample is one request: when it was scheduled (since the probe started) and how long
// it waited; Err is "" for a right reply, else the wrong reply or the error.
type ProbeSample struct {
	At      time.Duration
	Latency time.Duration
	Err     string
}

// OK reports whether every request was answered correctly.
func (r *ProbeResult) OK() bool { return r.Sent > 0 && r.Answered == r.Sent }

func (r *ProbeResult) String() string {
	return fmt.Sprintf("%s: sent %d, answered %d, wrong %d, unanswered %d; latency %v",
		r.Transport, r.Sent, r.Answered, r.Wrong, r.Unanswered, r.Latency)
}

// record files the outcome of the request scheduled at sched.
func (r *ProbeResult) record(sched time.Time, reply string, err error, want string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := time.Since(sched)
	s := ProbeSample{At: sched.Sub(r.start), Latency: lat}
	switch {
	case err != nil:
		r.Unanswered++
		s.Err = errShape(err)
	case reply == want:
		r.Answered++
	default:
		r.Wrong++
		s.Err = fmt.Sprintf("%q", reply)
	}
	if s.Err != "" && len(r.Problems) < 5 {
		r.Problems = append(r.Problems, fmt.Sprintf("at %s: %s", Dur(s.At), s.Err))
	}
	r.Samples = append(r.Samples, s)
	r.latencies = append(r.latencies, lat)
}

func (p *Probe) defaults() {
	if p.Interval <= 0 {
		p.Interval = 100 * time.Millisecond
	}
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Second
	}
	if p.Expr == "" {
		p.Expr, p.Want = "1+1", "2"
	}
}

// errTimeout marks a request given up after the probe's Timeout.
var errTimeout = fmt.Errorf("no reply within the timeout")

// Run sends requests until ctx is done, then waits for the replies still due (each at most
// Timeout after its scheduled time). It returns within Timeout of ctx's end.
func (p Probe) Run(ctx context.Context, t Target) *ProbeResult {
	p.defaults()
	res := &ProbeResult{Transport: p.Transport, start: time.Now()}
	if p.Transport == HTTP {
		p.runHTTP(ctx, t, res)
	} else {
		p.runPipelined(ctx, t, res)
	}
	res.Elapsed = time.Since(res.start)
	res.Latency = Summarize(res.latencies)
	return res
}

// schedule calls send at start, start+Interval, … until ctx is done.
func (p Probe) schedule(ctx context.Context, start time.Time, send func(sched time.Time)) {
	for next := start; ; next = next.Add(p.Interval) {
		if wait := time.Until(next); wait > 0 {
			sleep(ctx, wait)
		}
		if ctx.Err() != nil {
			return
		}
		send(next)
	}
}

func (p Probe) runHTTP(ctx context.Context, t Target, res *ProbeResult) {
	s := NewHTTPSession(t.HTTP, p.Local)
	defer s.Close()
	var wg sync.WaitGroup
	p.schedule(ctx, res.start, func(sched time.Time) {
		res.mu.Lock()
		res.Sent++
		res.mu.Unlock()
		wg.Go(func() {
			rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), sched.Add(p.Timeout))
			defer cancel()
			reply, err := s.Eval(rctx, p.Expr)
			if rctx.Err() != nil {
				err = errTimeout
			}
			res.record(sched, reply, err, p.Want)
		})
	})
	wg.Wait()
}

// pipe is one pipelined session of a probe: the requests it has sent and not yet seen
// answered, in order.
type pipe struct {
	send    func(string) error
	recv    func() (string, error)
	close   func()
	mu      sync.Mutex
	pending []time.Time // scheduled times
	done    chan struct{}
}

func (p Probe) dialPipe(ctx context.Context, t Target) (*pipe, error) {
	bg := context.Background() // requests are bounded by closing the session instead
	switch p.Transport {
	case TCP:
		s, err := DialTCP(ctx, t.TCP, p.Local)
		if err != nil {
			return nil, err
		}
		return &pipe{send: func(l string) error { return s.Send(bg, l) }, recv: func() (string, error) { return s.Recv(bg) },
			close: func() { _ = s.Close() }, done: make(chan struct{})}, nil
	case WS:
		s, err := DialWS(ctx, t.HTTP, p.Local, false)
		if err != nil {
			return nil, err
		}
		return &pipe{send: func(l string) error { return s.Send(bg, l) }, recv: func() (string, error) { return s.Recv(bg) },
			close: func() { _ = s.Close() }, done: make(chan struct{})}, nil
	}
	return nil, fmt.Errorf("unknown transport %q", p.Transport)
}

// reader matches replies to the pending requests in order; when the session fails or is
// closed, every request still pending is unanswered (with the timeout as the reason if
// the watchdog closed it).
func (p Probe) reader(pp *pipe, res *ProbeResult, timedOut func() bool) {
	defer close(pp.done)
	for {
		reply, err := pp.recv()
		pp.mu.Lock()
		if err != nil {
			if timedOut() {
				err = errTimeout
			}
			for _, sched := range pp.pending {
				res.record(sched, "", err, p.Want)
			}
			pp.pending = nil
			pp.mu.Unlock()
			return
		}
		if len(pp.pending) == 0 { // a reply nobody asked for
			pp.mu.Unlock()
			res.record(time.Now(), reply, nil, p.Want+" (unasked)")
			continue
		}
		sched := pp.pending[0]
		pp.pending = pp.pending[1:]
		pp.mu.Unlock()
		res.record(sched, reply, nil, p.Want)
	}
}

func (p Probe) runPipelined(ctx context.Context, t Target, res *ProbeResult) {
	var cur *pipe
	var timedOut bool // the watchdog closed cur
	var mu sync.Mutex // guards timedOut
	retire := func(timeout bool) {
		if cur == nil {
			return
		}
		mu.Lock()
		timedOut = timeout
		mu.Unlock()
		cur.close()
		<-cur.done
		cur = nil
	}
	defer retire(false)
	// expired reports whether the oldest pending request of cur has waited past Timeout.
	expired := func() bool {
		cur.mu.Lock()
		defer cur.mu.Unlock()
		return len(cur.pending) > 0 && time.Since(cur.pending[0]) > p.Timeout
	}
	p.schedule(ctx, res.start, func(sched time.Time) {
		res.mu.Lock()
		res.Sent++
		res.mu.Unlock()
		if cur != nil && expired() {
			retire(true)
		}
		if cur == nil {
			dctx, cancel := context.WithDeadline(ctx, sched.Add(p.Timeout))
			pp, err := p.dialPipe(dctx, t)
			cancel()
			if err != nil {
				res.record(sched, "", err, p.Want)
				return
			}
			cur = pp
			mu.Lock()
			timedOut = false
			mu.Unlock()
			go p.reader(cur, res, func() bool { mu.Lock(); defer mu.Unlock(); return timedOut })
		}
		cur.mu.Lock()
		cur.pending = append(cur.pending, sched)
		cur.mu.Unlock()
		if err := cur.send(p.Expr); err != nil {
			retire(false) // the reader files the pending requests, this one included
		}
	})
	// Wait for the replies still due, each up to its Timeout.
	for cur != nil {
		cur.mu.Lock()
		n := len(cur.pending)
		var oldest time.Time
		if n > 0 {
			oldest = cur.pending[0]
		}
		cur.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Since(oldest) > p.Timeout {
			retire(true)
			return
		}
		select {
		case <-cur.done:
			cur = nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// RunProbes runs one probe per transport until ctx is done and returns their results in
// the same order.
func RunProbes(ctx context.Context, t Target, base Probe, transports []string) []*ProbeResult {
	out := make([]*ProbeResult, len(transports))
	var wg sync.WaitGroup
	for i, tr := range transports {
		p := base
		p.Transport = tr
		wg.Go(func() { out[i] = p.Run(ctx, t) })
	}
	wg.Wait()
	return out
}
