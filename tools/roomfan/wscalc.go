package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"wscalc/loadgen"
)

// runWscalc runs the room load (loadgen.RunRoom, as wscalc bench -room) on the cluster,
// the servers' CPU measured over the load alone (the joins excluded).
func runWscalc(ctx context.Context, cfg config, c *cluster, run int) (*result, error) {
	var used []usage
	var stopPerf func()
	retriesBefore := c.retries()
	rcfg := loadgen.RoomConfig{
		Addrs: c.clients, Room: fmt.Sprintf("roomfan-%d-%d", time.Now().Unix()%100000, run),
		Members: cfg.members, Writers: cfg.writers, Rate: cfg.rate, Duration: cfg.duration,
		OnLoad: func() func() {
			measured, err := c.measure()
			if err != nil {
				return func() {}
			}
			stopPerf, err = c.perfRecord(cfg.profile, run)
			if err != nil {
				stopPerf = func() {}
			}
			return func() {
				used = measured()
				stopPerf()
			}
		},
	}
	sum, err := loadgen.RunRoom(ctx, rcfg)
	if err != nil {
		return nil, err
	}
	r := &result{What: "wscalc", Run: run, Elapsed: sum.Elapsed, Events: sum.Events, Deliveries: sum.Deliveries,
		p50: sum.P50, p99: sum.P99, max: sum.Max, OK: sum.OK()}
	r.setUsage(used)
	r.Retries = -1
	if after := c.retries(); retriesBefore >= 0 && after >= 0 {
		r.Retries = after - retriesBefore
	}
	r.Detail = fmt.Sprintf("missing %d, out of order %d, incomplete %d, resets %d, error replies %d, final x %d = increments %d, failures %d",
		sum.Missing, sum.OutOfOrder, sum.Incomplete, sum.Resets, sum.ErrorReplies, sum.FinalX, sum.Increments, len(sum.Failures))
	if r.Retries >= 0 && sum.Events > 0 {
		r.Detail += fmt.Sprintf("; retries %d (%.3f per event, %.0f events/s)", r.Retries,
			float64(r.Retries)/float64(sum.Events), float64(sum.Events)/sum.Elapsed.Seconds())
	}
	for _, e := range sum.ErrorTexts {
		r.Detail += "\n       error reply: " + e
	}
	for _, f := range sum.Failures[:min(3, len(sum.Failures))] {
		r.Detail += "\n       failed: " + f
	}
	return r, nil
}

var retriesRE = regexp.MustCompile(`(?m)^wscalc_room_retries_total (\d+)$`)

// retries is the sum of the instances' wscalc_room_retries_total; -1 if one does not
// say.
func (c *cluster) retries() int64 {
	var total int64
	for _, a := range c.clients {
		resp, err := http.Get("http://" + a + "/metrics")
		if err != nil {
			return -1
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := retriesRE.FindSubmatch(b)
		if m == nil {
			return -1
		}
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		total += n
	}
	return total
}
