package main

import (
	"fmt"
	"sort"
	"strings"

	"wscalc/tools/attack/scenario"
)

// table prints one scenario's runs as Markdown.
func table(name string, runs []run) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	switch name {
	case "runaway":
		line("### Runaway lines (a light TCP session sends `1+1` every 100 ms)")
		line("")
		line("| case | line | replies (time: text) | light TCP p99 | light TCP max | light unanswered | server CPU | load |")
		line("|---|---|---|---:|---:|---:|---:|---|")
	case "heavy":
		line("### Heavy sessions against light ones")
		line("")
		line("| heavy sessions | heavy lines: outcomes | light TCP p50 / p99 / max | light WS p50 / p99 / max | light HTTP p50 / p99 / max | light unanswered | server CPU | load |")
		line("|---:|---|---|---|---|---:|---:|---|")
	case "memory":
		line("### Memory attacks")
		line("")
		line("| run | RSS before | peak RSS (samples) | VmHWM | attack stopped (RSS over the threshold) | attack lines: outcomes | `vars` reply | light p99 / max (TCP, WS, HTTP) | light unanswered | load |")
		line("|---|---:|---:|---:|---|---|---:|---|---:|---|")
	case "perip":
		line("### Connections from one address")
		line("")
		line("| run | TCP | WebSocket | HTTP keep-alive | other address served |")
		line("|---|---|---|---|---|")
	case "shutdown":
		line("### SIGTERM with pipelined lines")
		line("")
		line("| run | mode | sent | answered | how sessions ended | /readyz after the signal | exit |")
		line("|---|---|---:|---:|---|---|---|")
	}
	load := func(r run) string { return r.LoadBefore + " → " + r.LoadAfter }
	for _, r := range runs {
		if r.Error != "" {
			line("| %s | error: %s |", r.Params, r.Error)
			continue
		}
		switch res := r.Result.(type) {
		case *scenario.RunawayResult:
			var replies []string
			for _, rep := range res.Replies {
				text := rep.Reply
				if rep.Err != "" {
					text = "no reply (" + rep.Err + ")"
				}
				replies = append(replies, fmt.Sprintf("%s: %s", scenario.Dur(rep.Time), cell(text)))
			}
			l := res.Light[0]
			line("| %s × %d over %s | `%s` | %s | %s | %s | %d of %d | %.1f s | %s |", res.Case.Name, res.Case.Count,
				res.Case.Transport, abbreviate(res.Case.Line, 60), strings.Join(replies, "; "),
				scenario.Dur(l.Latency.P99), scenario.Dur(l.Latency.Max), l.Unanswered+l.Wrong, l.Sent, r.ServerCPU, load(r))
		case *scenario.HeavyResult:
			cols := make([]string, 3)
			unanswered := 0
			for i, l := range res.Light {
				cols[i] = fmt.Sprintf("%s / %s / %s (n=%d)", scenario.Dur(l.Latency.P50), scenario.Dur(l.Latency.P99),
					scenario.Dur(l.Latency.Max), l.Sent)
				unanswered += l.Unanswered + l.Wrong
			}
			line("| %d | %s; refusals: %s | %s | %s | %s | %d | %.1f s | %s |", res.Sessions, scenario.FormatCounts(res.Outcomes),
				cell(scenario.FormatCounts(res.Texts)), cols[0], cols[1], cols[2], unanswered, r.ServerCPU, load(r))
		case *scenario.MemoryResult:
			aborted := "no"
			if res.Aborted {
				aborted = "at " + scenario.Dur(res.AbortedAt)
			}
			if res.Killed {
				aborted += ", server killed at 1.5 × the threshold"
			}
			var lights []string
			unanswered := 0
			for _, l := range res.Light {
				lights = append(lights, scenario.Dur(l.Latency.P99)+" / "+scenario.Dur(l.Latency.Max))
				unanswered += l.Unanswered + l.Wrong
			}
			vars := "—"
			if res.VarsReply > 0 {
				vars = fmt.Sprintf("%.0f kB", float64(res.VarsReply)/1000)
			}
			line("| %s | %s | %s (%d) | %s | %s | %s; refusals: %s | %s | %s | %d | %s |", r.Params, scenario.MiB(res.BaseRSS),
				scenario.MiB(res.PeakRSS), len(res.Samples), scenario.MiB(res.HWM), aborted,
				scenario.FormatCounts(res.Outcomes), cell(scenario.FormatCounts(res.Texts)), vars, strings.Join(lights, ", "), unanswered, load(r))
		case *scenario.PerIPResult:
			var cols []string
			for _, tr := range []string{scenario.TCP, scenario.WS, scenario.HTTP} {
				c := res.Conns[tr]
				s := fmt.Sprintf("%d opened, %d accepted", c.Opened, c.Accepted)
				if len(c.Refused) > 0 {
					s += "; refused: " + scenario.FormatCounts(c.Refused)
				}
				if len(c.Failed) > 0 {
					s += "; failed: " + scenario.FormatCounts(c.Failed)
				}
				cols = append(cols, cell(s))
			}
			other := "yes"
			if !res.OtherServed {
				other = "NO"
			}
			keys := make([]string, 0, len(res.Other))
			for k := range res.Other {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var os []string
			for _, k := range keys {
				os = append(os, k+": "+res.Other[k])
			}
			line("| %s | %s | %s | %s | %s (%s) |", r.Params, cols[0], cols[1], cols[2], other, cell(strings.Join(os, "; ")))
		case map[string]any: // shutdown
			sd := res["result"].(*scenario.ShutdownResult)
			for _, mode := range []string{scenario.ModeWSText, scenario.ModeWSJSON, scenario.ModeTCP} {
				m := sd.Modes[mode]
				line("| %s | %s | %d | %d | %s | %s | %v |", r.Params, mode, m.Sent, m.Answered,
					cell(scenario.FormatCounts(m.Ends)), scenario.FormatCounts(sd.Readyz), res["exit"])
			}
		default:
			line("| %s | %v |", r.Params, r.Result)
		}
	}
	return b.String()
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
