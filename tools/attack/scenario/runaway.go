package scenario

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RunawayCase is a line that ran far beyond its time limit before issue 8, sent Count
// times at once (each copy on its own session).
type RunawayCase struct {
	Name      string   `json:"name"`
	Transport string   `json:"transport"`
	Setup     []string `json:"setup,omitempty"` // lines sent first on the same session (TCP, WS)
	Line      string   `json:"line"`
	Count     int      `json:"count"`
}

// RunawayCases are the default cases: the two /api/eval logarithms, one gcd and a
// line of eight gcds on stored operands. With transport "" the logarithms go over HTTP
// and the others over TCP; otherwise all go over transport (HTTP computes the operands in
// the line, having no variables).
func RunawayCases(transport string) []RunawayCase {
	logVia, other := HTTP, TCP
	if transport != "" {
		logVia, other = transport, transport
	}
	gcd := RunawayCase{Name: "gcd", Transport: other, Setup: GCDSetup(0), Line: GCDLine, Count: 1}
	gcd8 := RunawayCase{Name: "gcd8", Transport: other, Setup: GCDSetup(0), Line: GCD8Line, Count: 1}
	if other == HTTP {
		gcd.Setup, gcd.Line = nil, GCDInline(0)
		gcd8.Setup, gcd8.Line = nil, GCD8Inline
	}
	return []RunawayCase{{Name: "log", Transport: logVia, Line: RunawayLog, Count: 2}, gcd, gcd8}
}

// RunawayReply is one runaway line's fate.
type RunawayReply struct {
	Reply   string        `json:"reply"`   // the reply, abbreviated ("" if none)
	Outcome string        `json:"outcome"` // Classify's name, or NoReply
	Time    time.Duration `json:"time_ns"` // from sending the line to its reply (or to giving up)
	Err     string        `json:"error,omitempty"`
}

// RunawayResult is one case: each copy's reply and the light probes meanwhile.
type RunawayResult struct {
	Case    RunawayCase    `json:"case"`
	Replies []RunawayReply `json:"replies"`
	Light   []*ProbeResult `json:"light"`
}

// Runaway runs one case: light probes start, then (after a short baseline) the Count copies
// are sent at once; each reply is awaited up to timeout. The probes go on for settle after
// the last reply, then stop (each request in flight keeps its own Timeout).
func Runaway(ctx context.Context, t Target, c RunawayCase, timeout, settle time.Duration, light Probe, lightTransports []string) *RunawayResult {
	res := &RunawayResult{Case: c}
	lightCtx, stopLight := context.WithCancel(ctx)
	defer stopLight()
	probes := make(chan []*ProbeResult, 1)
	go func() { probes <- RunProbes(lightCtx, t, light, lightTransports) }()
	sleep(ctx, 300*time.Millisecond)

	res.Replies = c.Send(ctx, t, timeout)
	sleep(ctx, settle)
	stopLight()
	res.Light = <-probes
	return res
}

// Send sends the Count copies of the case at once, each on its own session, and returns
// their replies; each is awaited up to timeout.
func (c RunawayCase) Send(ctx context.Context, t Target, timeout time.Duration) []RunawayReply {
	out := make([]RunawayReply, c.Count)
	var wg sync.WaitGroup
	for i := range c.Count {
		wg.Go(func() { out[i] = runawayOne(ctx, t, c, timeout) })
	}
	wg.Wait()
	return out
}

func runawayOne(ctx context.Context, t Target, c RunawayCase, timeout time.Duration) RunawayReply {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := Dial(rctx, t, c.Transport, "")
	if err != nil {
		return RunawayReply{Outcome: NoReply, Err: "dial: " + errShape(err)}
	}
	defer s.Close()
	for _, l := range c.Setup {
		if r, err := Setup(rctx, s, l); err != nil {
			return RunawayReply{Outcome: NoReply, Err: fmt.Sprintf("setup %q: %v", l, err)}
		} else if Classify(r) != Answered {
			return RunawayReply{Reply: r, Outcome: Classify(r), Err: fmt.Sprintf("setup %q refused", l)}
		}
	}
	start := time.Now()
	reply, err := s.Eval(rctx, c.Line)
	out := RunawayReply{Time: time.Since(start), Reply: abbreviate(reply, 100)}
	if err != nil {
		out.Outcome, out.Err = NoReply, errShape(err)
		return out
	}
	out.Outcome = Classify(reply)
	return out
}

func abbreviate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
