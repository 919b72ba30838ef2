package scenario

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Heavy is the heavy-against-light scenario: Sessions sessions (even ones TCP, odd ones
// WebSocket) each send their Setup lines once and then Line in a closed loop for Duration,
// while light probes run.
type Heavy struct {
	Sessions int                        // default 20
	Duration time.Duration              // of the attack (default 5 s)
	Drain    time.Duration              // after Duration, how long a heavy line in flight may still take (default 5 s)
	Setup    func(session int) []string // default GCDSetup
	Line     string                     // default GCDLine
	Light    Probe
	LightOn  []string // transports of the light probes (default TCP, WS, HTTP)
}

// HeavyResult is what the heavy sessions got and what the light probes saw.
type HeavyResult struct {
	Sessions   int            `json:"sessions"`
	Connected  int            `json:"connected"` // and set up
	Sent       int            `json:"sent"`
	Outcomes   map[string]int `json:"outcomes"` // by Classify name; NoReply for lines unanswered at the end
	Texts      map[string]int `json:"texts"`    // refusal and error texts (Shape)
	Light      []*ProbeResult `json:"light"`
	Elapsed    time.Duration  `json:"elapsed_ns"`
	DialErrors []string       `json:"dial_errors,omitempty"`
}

// Run connects the heavy sessions and sends their Setup lines, then starts the light
// probes and attacks for Duration. It returns within about Duration + max(Drain,
// Light.Timeout) + the time to connect and set up.
func (h Heavy) Run(ctx context.Context, t Target) *HeavyResult {
	if h.Sessions <= 0 {
		h.Sessions = 20
	}
	if h.Duration <= 0 {
		h.Duration = 5 * time.Second
	}
	if h.Drain <= 0 {
		h.Drain = 5 * time.Second
	}
	if h.Setup == nil {
		h.Setup = GCDSetup
	}
	if h.Line == "" {
		h.Line = GCDLine
	}
	if h.LightOn == nil {
		h.LightOn = []string{TCP, WS, HTTP}
	}
	res := &HeavyResult{Sessions: h.Sessions}
	sessions, dialErrs := dialMany(ctx, t, h.Sessions, func(i int) string {
		if i%2 == 0 {
			return TCP
		}
		return WS
	}, 50)
	defer closeAll(sessions)
	res.DialErrors = dialErrs
	var outcomes, texts Counts

	// Each session stores its operands before the attack starts (within 30 s).
	setupCtx, cancelSetup := context.WithTimeout(ctx, 30*time.Second)
	defer cancelSetup()
	var setup sync.WaitGroup
	for i, s := range sessions {
		if s == nil {
			continue
		}
		setup.Go(func() {
			for _, l := range h.Setup(i) {
				if reply, err := Setup(setupCtx, s, l); err != nil {
					outcomes.Add("setup failed", 1)
					texts.Add(Shape(err.Error()), 1)
					_ = s.Close()
					sessions[i] = nil
					return
				} else if Classify(reply) != Answered {
					outcomes.Add("setup failed", 1)
					texts.Add(Shape(l+" → "+reply), 1)
					_ = s.Close()
					sessions[i] = nil
					return
				}
			}
		})
	}
	setup.Wait()
	for _, s := range sessions {
		if s != nil {
			res.Connected++
		}
	}

	start := time.Now()
	attackCtx, stop := context.WithDeadline(ctx, start.Add(h.Duration))
	defer stop()
	probes := make(chan []*ProbeResult, 1)
	go func() { probes <- RunProbes(attackCtx, t, h.Light, h.LightOn) }()

	var sent atomic.Int64
	var wg sync.WaitGroup
	hard, cancel := context.WithDeadline(ctx, start.Add(h.Duration+h.Drain))
	defer cancel()
	for _, s := range sessions {
		if s == nil {
			continue
		}
		wg.Go(func() {
			for attackCtx.Err() == nil {
				sent.Add(1)
				reply, err := s.Eval(hard, h.Line)
				if err != nil {
					outcomes.Add(NoReply, 1)
					return
				}
				o := Classify(reply)
				outcomes.Add(o, 1)
				if o != Answered {
					texts.Add(Shape(reply), 1)
				}
			}
		})
	}
	wg.Wait()
	res.Light = <-probes
	res.Elapsed = time.Since(start)
	res.Sent = int(sent.Load())
	res.Outcomes, res.Texts = outcomes.Map(), texts.Map()
	return res
}

// dialMany opens n sessions, transport(i) for the i-th, at most par at a time. A session
// that could not be opened is nil; the first few errors are returned.
func dialMany(ctx context.Context, t Target, n int, transport func(i int) string, par int) ([]Session, []string) {
	out := make([]Session, n)
	var mu sync.Mutex
	var errs []string
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			s, err := Dial(dctx, t, transport(i), "")
			if err != nil {
				mu.Lock()
				if len(errs) < 5 {
					errs = append(errs, transport(i)+": "+err.Error())
				}
				mu.Unlock()
				return
			}
			out[i] = s
		})
	}
	wg.Wait()
	return out, errs
}

// Setup evaluates a line that prepares an attack (storing an operand). A refusal that
// says "not now" (the time limit while waiting for a turn, server busy) is retried, up to
// 10 times, 200 ms apart; the last reply is returned.
func Setup(ctx context.Context, s Session, line string) (string, error) {
	for try := 0; ; try++ {
		reply, err := s.Eval(ctx, line)
		if err != nil {
			return "", err
		}
		switch Classify(reply) {
		case RefusedTime, RefusedBusy, RefusedServer:
			if try < 10 && ctx.Err() == nil {
				sleep(ctx, 200*time.Millisecond)
				continue
			}
		}
		return reply, nil
	}
}
