package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"wscalc/calc"
	"wscalc/loadgen"
)

const benchUsage = `usage: wscalc bench [flags]

Drives a running wscalc server with many connections and reports requests/s, latency
percentiles, errors, wrong replies and requests that were never answered.

Every reply that starts with "Error: " or "Error at column N: " is an error reply, checked
or not: it is counted and its text shown (the five most common, numbers as N), and it is
not throughput. Throughput (req/s, and -json's "rps") and latency are the successful
replies'; the error replies' rate is shown beside them. An error reply that the -exprs file
gives as the expected reply is a success (a refusal passes if the file expects the same
kind: budget, cost, time, session_memory, server_memory, busy, connections).

Refusals fail the run: a server with default settings lets each session spend %d cost
units a minute (one power costs 1000); a load spends that within seconds, and from then
on most replies are "Error: session budget exhausted, try again in N s". To measure the
server rather than its budget, lift the budget on a test server:

    wscalc -session-budget 1000000000000      (or WSCALC_SESSION_BUDGET=1000000000000)

Exit status 1 if any request went unanswered, a connection failed, the server refused
requests that the -exprs file does not expect, or (with -check) a reply was wrong.
-json adds "successful", "error_replies", "expected_errors", "refusals", "refusal_kinds",
"error_texts" (text, count, refusal), "error_classes" and "error_rps"; see README.

With -room NAME: a fan-out load on one room over WebSocket in JSON mode (-addr as for ws,
or several, comma-separated: the instances of a cluster). -conns members join it by URL,
spread round-robin over the addresses (writers too); -room-writers of them send
"x = x + 1" (with -rate, that many lines/s over all writers; else each line on the reply
to the one before) for -duration. Every member checks that it receives every event exactly once, in seq order;
the summary gives events and deliveries per second, the latency from a writer's send to
the last member's receipt (p50, p99, max), and checks that the final x equals the number
of increments. Exit status 1 on any gap, repeat, reordering, reset of the room, event not
received by all, error reply, failed connection or lost update.

`

// runBench is `wscalc bench`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wscalc bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Proto, "proto", "tcp", "protocol: tcp (line protocol) or ws (WebSocket plain text mode)")
	addr := fs.String("addr", "", "server `address` (default "+defaultTCPAddr+" for tcp, "+defaultHTTPAddr+" for ws; ws also takes a ws:// URL; with -room, several comma-separated: members spread over them)")
	fs.IntVar(&cfg.Conns, "conns", 64, "connections, all held open for the whole run")
	fs.IntVar(&cfg.Pipeline, "pipeline", 1, "requests in flight per connection (with -rate: at most)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send (unless -requests)")
	fs.Int64Var(&cfg.Requests, "requests", 0, "total `requests` to send, split evenly over the connections (instead of -duration)")
	exprsFile := fs.String("exprs", "", "`file` of expressions, one per line, optionally TAB and the expected reply (default: a built-in mix)")
	fs.BoolVar(&cfg.Check, "check", false, "verify every reply against the expected one")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: total `requests/s` on a fixed schedule, latency from the scheduled time (0: closed loop)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	fs.DurationVar(&cfg.Hold, "hold", 0, "keep the connections open and idle this long before the load")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile to `file`")
	room := fs.String("room", "", "fan-out load on the room `NAME` (WebSocket, JSON mode): -conns members, -room-writers of them writing")
	roomWriters := fs.Int("room-writers", 1, "with -room, how many members send lines")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "give up on a connection with no reply for this long (its requests count as never answered)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, benchUsage, calc.DefaultLimits().Budget)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "wscalc bench: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if isSet(fs, "duration") && isSet(fs, "requests") {
		return usage("use -duration or -requests, not both")
	}
	if isSet(fs, "room") {
		return benchRoom(ctx, fs, loadgen.RoomConfig{Addrs: roomAddrs(*addr), Room: *room, Members: cfg.Conns,
			Writers: *roomWriters, Rate: cfg.Rate, Duration: cfg.Duration}, *asJSON, stdout, stderr)
	}
	if isSet(fs, "room-writers") {
		return usage("-room-writers needs -room")
	}
	if cfg.Requests > 0 {
		cfg.Duration = 0
	}
	cfg.Addr = *addr
	if cfg.Addr == "" {
		cfg.Addr = map[string]string{"tcp": defaultTCPAddr, "ws": defaultHTTPAddr}[cfg.Proto]
	}
	if *exprsFile != "" {
		f, err := os.Open(*exprsFile)
		if err != nil {
			return usage("%v", err)
		}
		cfg.Exprs, err = loadgen.ParseExprs(f)
		f.Close()
		if err != nil {
			return usage("%s: %v", *exprsFile, err)
		}
	}
	if limit, err := loadgen.RaiseFileLimit(); err != nil || limit < uint64(cfg.Conns)+16 {
		fmt.Fprintf(stderr, "wscalc bench: warning: open-file limit %d (%v) may not allow %d connections\n",
			limit, err, cfg.Conns)
	}
	cfg.Progress, cfg.Log = stderr, stderr
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.ProgressBar = true
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return usage("%v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return usage("%v", err)
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return usage("%v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
		for _, w := range sum.Warnings() { // the text summary has them; JSON goes to a program
			fmt.Fprintf(stderr, "wscalc bench: warning: %s\n", w)
		}
	} else {
		sum.WriteText(stdout)
	}
	if !sum.OK() {
		return 1
	}
	return 0
}

// roomAddrs is -addr with -room: a comma-separated list of servers (those of a cluster),
// the default HTTP address if empty.
func roomAddrs(addr string) []string {
	if addr == "" {
		return []string{defaultHTTPAddr}
	}
	return strings.Split(addr, ",")
}

// benchRoom is wscalc bench -room NAME: the fan-out load of loadgen.RunRoom.
func benchRoom(ctx context.Context, fs *flag.FlagSet, cfg loadgen.RoomConfig, asJSON bool, stdout, stderr io.Writer) int {
	for _, name := range []string{"proto", "requests", "pipeline", "exprs", "check", "hold", "cpuprofile", "timeout"} {
		if isSet(fs, name) {
			fmt.Fprintf(stderr, "wscalc bench: -%s does not apply to -room\n", name)
			return 2
		}
	}
	if err := cfg.Check(); err != nil { // members are -conns, writers -room-writers
		fmt.Fprintf(stderr, "wscalc bench: %s\n", strings.TrimPrefix(err.Error(), "Error: "))
		return 2
	}
	if limit, err := loadgen.RaiseFileLimit(); err != nil || limit < uint64(cfg.Members)+16 {
		fmt.Fprintf(stderr, "wscalc bench: warning: open-file limit %d (%v) may not allow %d connections\n",
			limit, err, cfg.Members)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := loadgen.RunRoom(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "wscalc bench: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
	} else {
		sum.WriteText(stdout)
	}
	if !sum.OK() {
		return 1
	}
	return 0
}
