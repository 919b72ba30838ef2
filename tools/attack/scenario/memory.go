package scenario

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Memory is the memory attack: Sessions sessions (even ones TCP, odd ones WebSocket) run
// the storage attack (store Vars variables of ~1 000 000 bits) or the scratch attack (store
// x and send one line of Terms subtractions on it), half of each transport's sessions
// each, then stay connected, while the server's RSS is sampled and light probes run. The
// attacks go to different sessions because each spoils the other in one session: the
// scratch line's cost leaves no budget to store anything after it, and stored values
// filling the session's memory leave no room for x. Before the attack, VarsReplySize
// measures what `vars` sends.
type Memory struct {
	Sessions int           // default 1000
	Vars     int           // storage lines per storage session (default 100, the variable limit; negative: no storage attack)
	Terms    int           // terms of the scratch line (default ScratchTerms; negative: no scratch attack)
	Duration time.Duration // bound on the attack (default 60 s)
	Hold     time.Duration // once every session has sent everything, stay connected this long (default 2 s)
	Sample   time.Duration // RSS sampling interval (default 250 ms); RSSAbort is checked every 50 ms
	RSSAbort int64         // stop the attack once RSS exceeds this (0: never), so it cannot exhaust the machine
	OnAbort  func()        // called once if RSS still grows past 1.5 × RSSAbort after that (e.g. to kill the server)
	Light    Probe
	LightOn  []string // default TCP, WS, HTTP
}

// RSSSample is one reading of the server's resident set.
type RSSSample struct {
	At  time.Duration `json:"at_ns"` // since the scenario started
	RSS int64         `json:"rss"`
}

// MemoryResult is what the attack did to the server.
type MemoryResult struct {
	Sessions   int            `json:"sessions"`
	Connected  int            `json:"connected"`
	Outcomes   map[string]int `json:"outcomes"` // "store answered", "store session_memory", "scratch time", …
	Texts      map[string]int `json:"texts"`    // refusal and error texts (Shape)
	BaseRSS    int64          `json:"base_rss"` // before connecting
	PeakRSS    int64          `json:"peak_rss"` // the highest sample
	HWM        int64          `json:"hwm"`      // VmHWM at the end: the process's peak since it started
	FinalRSS   int64          `json:"final_rss"`
	Samples    []RSSSample    `json:"samples"`
	Aborted    bool           `json:"aborted"` // RSS crossed RSSAbort
	AbortedAt  time.Duration  `json:"aborted_at_ns,omitempty"`
	Killed     bool           `json:"killed"`                // RSS then crossed 1.5 × RSSAbort, and OnAbort was called
	AllSent    time.Duration  `json:"all_sent_ns,omitempty"` // when the last session had all its replies (0: not within Duration)
	VarsReply  int            `json:"vars_reply_bytes"`      // the size of the reply to `vars` after 100 values of 4 300 digits (VarsReplySize)
	Elapsed    time.Duration  `json:"elapsed_ns"`
	Light      []*ProbeResult `json:"light"`
	DialErrors []string       `json:"dial_errors,omitempty"`
	RSSError   string         `json:"rss_error,omitempty"`
}

// Run runs the attack. It needs t.PID for the RSS samples. It returns within about
// Duration + Hold + Light.Timeout + the time to connect.
func (m Memory) Run(ctx context.Context, t Target) *MemoryResult {
	if m.Sessions <= 0 {
		m.Sessions = 1000
	}
	if m.Vars < 0 {
		m.Vars = 0
	} else if m.Vars == 0 {
		m.Vars = 100
	}
	if m.Terms == 0 {
		m.Terms = ScratchTerms
	}
	if m.Duration <= 0 {
		m.Duration = 60 * time.Second
	}
	if m.Hold <= 0 {
		m.Hold = 2 * time.Second
	}
	if m.Sample <= 0 {
		m.Sample = 250 * time.Millisecond
	}
	if m.LightOn == nil {
		m.LightOn = []string{TCP, WS, HTTP}
	}
	res := &MemoryResult{Sessions: m.Sessions}
	start := time.Now()
	attackCtx, stopAttack := context.WithDeadline(ctx, start.Add(m.Duration))
	defer stopAttack()

	// The sampler runs from before the first connection to the end.
	var mu sync.Mutex // guards res's RSS fields while the sampler runs
	var abortOnce, killOnce sync.Once
	var lastRecorded time.Time
	sample := func() {
		rss, hwm, err := RSS(t.PID)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if res.RSSError == "" && !res.Aborted { // an abort may have killed the server
				res.RSSError = err.Error()
			}
			return
		}
		if now := time.Now(); now.Sub(lastRecorded) >= m.Sample-m.Sample/8 {
			res.Samples = append(res.Samples, RSSSample{At: now.Sub(start), RSS: rss})
			lastRecorded = now
		}
		res.PeakRSS = max(res.PeakRSS, rss)
		res.HWM = hwm
		res.FinalRSS = rss
		if m.RSSAbort > 0 && rss > m.RSSAbort {
			abortOnce.Do(func() {
				res.Aborted, res.AbortedAt = true, time.Since(start)
				stopAttack() // the sessions are then closed, which frees their memory
			})
		}
		if m.RSSAbort > 0 && rss > m.RSSAbort*3/2 && m.OnAbort != nil {
			killOnce.Do(func() {
				res.Killed = true
				go m.OnAbort()
			})
		}
	}
	if rss, _, err := RSS(t.PID); err == nil {
		res.BaseRSS = rss
	} else {
		res.RSSError = err.Error()
	}
	samplerDone := make(chan struct{})
	stopSampler := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(min(m.Sample, 50*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-stopSampler:
				return
			case <-tick.C:
				sample()
			}
		}
	}()

	res.VarsReply, _ = VarsReplySize(attackCtx, t)
	sessions, dialErrs := dialMany(attackCtx, t, m.Sessions, func(i int) string {
		if i%2 == 0 {
			return TCP
		}
		return WS
	}, 100)
	res.DialErrors = dialErrs
	for _, s := range sessions {
		if s != nil {
			res.Connected++
		}
	}

	lightCtx, stopLight := context.WithCancel(ctx)
	defer stopLight()
	probes := make(chan []*ProbeResult, 1)
	go func() { probes <- RunProbes(lightCtx, t, m.Light, m.LightOn) }()

	var outcomes, texts Counts
	var wg sync.WaitGroup
	for i, s := range sessions {
		if s == nil {
			continue
		}
		wg.Go(func() {
			send := func(kind, line string) bool {
				reply, err := s.Eval(attackCtx, line)
				if err != nil {
					outcomes.Add(kind+" "+NoReply, 1)
					return false
				}
				o := Classify(reply)
				outcomes.Add(kind+" "+o, 1)
				if o != Answered {
					texts.Add(Shape(reply), 1)
				}
				return true
			}
			if m.scratches(i) {
				if send("store", ScratchSetup) {
					send("scratch", ScratchLine(m.Terms))
				}
				return
			}
			for v := 1; v <= m.Vars; v++ {
				if !send("store", StoreLine(v)) {
					return
				}
			}
		})
	}
	wg.Wait()
	if attackCtx.Err() == nil {
		res.AllSent = time.Since(start)
		sleep(attackCtx, m.Hold)
	}
	sample()
	closeAll(sessions)
	stopLight()
	res.Light = <-probes
	close(stopSampler)
	<-samplerDone
	res.Elapsed = time.Since(start)
	res.Outcomes, res.Texts = outcomes.Map(), texts.Map()
	if _, hwm, err := RSS(t.PID); err == nil {
		res.HWM = hwm
	}
	return res
}

// VarsReplySize stores 100 values of 4 300 digits (the longest the display rules show in
// full) on a new TCP session, sends `vars` (5 bytes), and returns the size of the reply.
func VarsReplySize(ctx context.Context, t Target) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := DialTCP(ctx, t.TCP, "")
	if err != nil {
		return 0, err
	}
	defer s.Close()
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = fmt.Sprintf("v%d = (1 << 14280) - %d", i+1, i+1)
	}
	if err := s.Send(ctx, append(lines, "vars")...); err != nil {
		return 0, err
	}
	for range lines {
		if _, err := s.Recv(ctx); err != nil {
			return 0, err
		}
	}
	reply, err := s.Recv(ctx)
	return len(reply), err
}

// scratches reports whether session i runs the scratch attack (else the storage attack):
// sessions 2, 3, 6, 7, … when both attacks run, so that each has as many TCP as WebSocket
// sessions.
func (m Memory) scratches(i int) bool {
	switch {
	case m.Terms <= 0:
		return false
	case m.Vars <= 0:
		return true
	}
	return (i/2)%2 == 1
}
