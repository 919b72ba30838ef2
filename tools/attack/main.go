package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wscalc/loadgen"
	"wscalc/tools/attack/scenario"
)

var scenarios = []string{"runaway", "heavy", "memory", "perip", "shutdown"}

type options struct {
	bin, serverArgs, serverCPU string
	serverNofile               int
	tcp, http                  string
	pid                        int
	jsonFile                   string

	lightInterval, lightTimeout time.Duration

	runawayCases, runawayVia string
	runawayTimeout           time.Duration

	heavySessions              string
	heavyBits                  int
	heavyDuration, heavyDrain  time.Duration
	memSessions, memVars       int
	memTerms                   int
	memDuration, memSample     time.Duration
	memRSSAbort                string
	peripConns                 int
	peripFrom, peripOther      string
	peripTimeout               time.Duration
	shutdownClients, shutdownN int
}

// run is one scenario run: its parameters, load context and result.
type run struct {
	Scenario   string  `json:"scenario"`
	Params     string  `json:"params"`
	LoadBefore string  `json:"load_before"`
	LoadAfter  string  `json:"load_after"`
	ServerCPU  float64 `json:"server_cpu_s"` // server CPU seconds during the run (started servers only)
	ServerEnd  string  `json:"server_end,omitempty"`
	Result     any     `json:"result"`
	Error      string  `json:"error,omitempty"`
}

func main() {
	var o options
	fs := flag.NewFlagSet("attack", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: attack [flags] scenario...\n\nscenarios: %s, or all\n\nflags:\n",
			strings.Join(scenarios, ", "))
		fs.PrintDefaults()
	}
	fs.StringVar(&o.bin, "bin", "", "start a fresh server from this wscalc binary for each run")
	fs.StringVar(&o.serverArgs, "server-args", "", "extra flags for a started server (space-separated), e.g. \"-max-memory 512MiB\"")
	fs.StringVar(&o.serverCPU, "server-cpu", "", "pin a started server to these CPUs (taskset -c); empty: no pinning")
	fs.IntVar(&o.serverNofile, "server-nofile", 0, "start the server with this open-file limit (prlimit); 0: inherit")
	fs.StringVar(&o.tcp, "tcp", "", "line-protocol address of an already running server")
	fs.StringVar(&o.http, "http", "", "HTTP address of an already running server")
	fs.IntVar(&o.pid, "pid", 0, "pid of the already running server (RSS, SIGTERM)")
	fs.StringVar(&o.jsonFile, "json", "", "also save every result to this JSON file")
	fs.DurationVar(&o.lightInterval, "light-interval", 100*time.Millisecond, "light sessions: time between requests")
	fs.DurationVar(&o.lightTimeout, "light-timeout", 60*time.Second, "light sessions: a reply later than this counts as unanswered")
	fs.StringVar(&o.runawayCases, "runaway-cases", "log,gcd,gcd8", "runaway: cases to run (log: 2 × "+scenario.RunawayLog+"; gcd; gcd8: x= then eight gcds)")
	fs.StringVar(&o.runawayVia, "runaway-via", "", "runaway: send every case over this transport (tcp, ws, http); default: log over http, the others over tcp")
	fs.DurationVar(&o.runawayTimeout, "runaway-timeout", 30*time.Second, "runaway: wait at most this long for each reply")
	fs.StringVar(&o.heavySessions, "heavy-sessions", "20,100", "heavy: comma-separated session counts, one run each (half TCP, half WebSocket)")
	fs.IntVar(&o.heavyBits, "heavy-bits", defaultHeavyBits, "heavy: bits of y = 2**(b-1) - 1; x = 3**(3b/5) + 1 has 0.95 b bits (1000000: the gcd of the runaway case, ~1 s before issue 8)")
	fs.DurationVar(&o.heavyDuration, "heavy-duration", 5*time.Second, "heavy: attack duration")
	fs.DurationVar(&o.heavyDrain, "heavy-drain", 5*time.Second, "heavy: how long a heavy line in flight may still take after the attack")
	fs.IntVar(&o.memSessions, "mem-sessions", 1000, "memory: attacking sessions (half TCP, half WebSocket; half storage, half scratch)")
	fs.IntVar(&o.memVars, "mem-vars", 100, "memory: variables of ~1 000 000 bits each storage session stores (-1: no storage attack)")
	fs.IntVar(&o.memTerms, "mem-terms", scenario.ScratchTerms, "memory: terms of the scratch line -x-x-…-x of each scratch session (-1: no scratch attack)")
	fs.DurationVar(&o.memDuration, "mem-duration", 60*time.Second, "memory: bound on the attack")
	fs.DurationVar(&o.memSample, "mem-sample", 250*time.Millisecond, "memory: RSS sampling interval")
	fs.StringVar(&o.memRSSAbort, "mem-rss-abort", "4GiB", "memory: stop the attack (and kill a started server) once its RSS exceeds this")
	fs.IntVar(&o.peripConns, "perip-conns", 300, "per-ip: idle connections in all, taking turns between TCP, WebSocket and HTTP keep-alive")
	fs.StringVar(&o.peripFrom, "perip-from", "127.0.0.1", "per-ip: the crowding address")
	fs.StringVar(&o.peripOther, "perip-other", "127.0.0.2", "per-ip: the address that must still be served")
	fs.DurationVar(&o.peripTimeout, "perip-timeout", 5*time.Second, "per-ip: bound on each connection's first exchange")
	fs.IntVar(&o.shutdownClients, "shutdown-clients", 2, "shutdown: sessions per mode (WebSocket text, WebSocket JSON, TCP)")
	fs.IntVar(&o.shutdownN, "shutdown-msgs", 250, "shutdown: lines pipelined per session before SIGTERM")
	_ = fs.Parse(os.Args[1:])

	names := fs.Args()
	if len(names) == 1 && names[0] == "all" {
		names = scenarios
	}
	if len(names) == 0 {
		fs.Usage()
		os.Exit(2)
	}
	for _, n := range names {
		if !slices.Contains(scenarios, n) {
			fmt.Fprintf(os.Stderr, "attack: unknown scenario %q\n", n)
			os.Exit(2)
		}
	}
	if o.bin == "" && (o.tcp == "" || o.http == "") {
		fmt.Fprintln(os.Stderr, "attack: give -bin, or -tcp and -http (and -pid) of a running server")
		os.Exit(2)
	}
	// The memory scenario holds 1 000 sessions and the per-ip one -perip-conns.
	if n, err := loadgen.RaiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "attack: raising the open-file limit:", err)
	} else {
		logf("open-file limit %d", n)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Println(machine(o))
	fmt.Println()
	var runs []run
	for _, name := range names {
		rs := runScenario(ctx, o, name)
		runs = append(runs, rs...)
		fmt.Println(table(name, rs))
		if ctx.Err() != nil {
			break
		}
	}
	if o.jsonFile != "" {
		b, _ := json.MarshalIndent(map[string]any{"machine": machine(o), "runs": runs}, "", "  ")
		if err := os.WriteFile(o.jsonFile, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "attack:", err)
			os.Exit(1)
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
}

func machine(o options) string {
	// runtime.NumCPU counts only the CPUs this process may run on (1 under taskset -c 1),
	// so the machine's CPUs are counted from /proc/cpuinfo.
	model, cpus := "unknown CPU", 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") && model == "unknown CPU" {
				model = strings.TrimSpace(l[strings.Index(l, ":")+1:])
			}
			if strings.HasPrefix(l, "processor") {
				cpus++
			}
		}
	}
	if cpus == 0 {
		cpus = runtime.NumCPU()
	}
	tool := ""
	if n := runtime.NumCPU(); n < cpus {
		tool = fmt.Sprintf(" (this tool may use %d of them)", n)
	}
	server := "an external server"
	if o.bin != "" {
		server = "a fresh `" + o.bin + " " + o.serverArgs + "` per run"
		if o.serverCPU != "" {
			server += ", pinned to CPU " + o.serverCPU
		} else {
			server += ", not pinned"
		}
	}
	return fmt.Sprintf("Machine: %d × %s%s, %s; server: %s; load average at start %s.",
		cpus, model, tool, runtime.Version(), server, scenario.LoadAvg())
}

// runScenario runs one scenario: several runs for runaway (one per case) and heavy (one per
// session count), one run otherwise.
func runScenario(ctx context.Context, o options, name string) []run {
	light := scenario.Probe{Interval: o.lightInterval, Timeout: o.lightTimeout}
	var out []run
	switch name {
	case "runaway":
		want := strings.Split(o.runawayCases, ",")
		for _, c := range scenario.RunawayCases(o.runawayVia) {
			if !slices.Contains(want, c.Name) {
				continue
			}
			p := light
			p.Timeout = o.runawayTimeout // the run ends when the runaways are answered or given up
			out = append(out, oneRun(ctx, o, name, fmt.Sprintf("%s: %d × %q over %s", c.Name, c.Count, c.Line, c.Transport),
				func(ctx context.Context, s *server) any {
					return scenario.Runaway(ctx, s.target, c, o.runawayTimeout, time.Second, p, []string{scenario.TCP})
				}))
		}
	case "heavy":
		for _, f := range strings.Split(o.heavySessions, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				fmt.Fprintf(os.Stderr, "attack: bad -heavy-sessions %q\n", o.heavySessions)
				os.Exit(2)
			}
			if o.heavyBits < 2 || o.heavyBits > 1_000_000 {
				fmt.Fprintf(os.Stderr, "attack: -heavy-bits %d out of range (2 to 1000000)\n", o.heavyBits)
				os.Exit(2)
			}
			setup := func(k int) []string { return heavySetup(k, o.heavyBits) }
			h := scenario.Heavy{Sessions: n, Duration: o.heavyDuration, Drain: o.heavyDrain, Light: light,
				Setup: setup, Line: scenario.GCDLine}
			out = append(out, oneRun(ctx, o, name, fmt.Sprintf("%d sessions × %s of %q after %q", n, o.heavyDuration, scenario.GCDLine, setup(0)),
				func(ctx context.Context, s *server) any { return h.Run(ctx, s.target) }))
		}
	case "memory":
		abort, err := parseSize(o.memRSSAbort)
		if err != nil {
			fmt.Fprintln(os.Stderr, "attack: -mem-rss-abort:", err)
			os.Exit(2)
		}
		attack := fmt.Sprintf("half storing %d vars, half a scratch line of %d terms", o.memVars, o.memTerms)
		if o.memVars < 0 {
			attack = fmt.Sprintf("scratch line of %d terms only", o.memTerms)
		} else if o.memTerms < 0 {
			attack = fmt.Sprintf("%d vars only", o.memVars)
		}
		out = append(out, oneRun(ctx, o, name, fmt.Sprintf("%d sessions, %s, bound %s, abort at %s",
			o.memSessions, attack, o.memDuration, o.memRSSAbort),
			func(ctx context.Context, s *server) any {
				if s.target.PID == 0 {
					return "needs -bin or -pid"
				}
				m := scenario.Memory{Sessions: o.memSessions, Vars: o.memVars, Terms: o.memTerms, Duration: o.memDuration,
					Sample: o.memSample, RSSAbort: abort, Light: light}
				if s.cmd != nil {
					m.OnAbort = s.kill
				}
				return m.Run(ctx, s.target)
			}))
	case "perip":
		p := scenario.PerIP{Conns: o.peripConns, From: o.peripFrom, Other: o.peripOther, Timeout: o.peripTimeout}
		out = append(out, oneRun(ctx, o, name, fmt.Sprintf("%d connections from %s; then %s", o.peripConns, o.peripFrom, o.peripOther),
			func(ctx context.Context, s *server) any { return p.Run(ctx, s.target) }))
	case "shutdown":
		out = append(out, oneRun(ctx, o, name, fmt.Sprintf("%d session(s) per mode × %d lines, then SIGTERM", o.shutdownClients, o.shutdownN),
			func(ctx context.Context, s *server) any {
				if s.target.PID == 0 {
					return "needs -bin or -pid"
				}
				sd := scenario.Shutdown{Clients: o.shutdownClients, Messages: o.shutdownN, Signal: s.sigterm, Readyz: true}
				r := sd.Run(ctx, s.target)
				end, took := s.waitExit(15 * time.Second)
				return map[string]any{"result": r, "exit": end, "exit_after_ns": took + r.Elapsed}
			}))
	}
	return out
}

// defaultHeavyBits is the size of the heavy scenario's gcd operands: the costliest gcd(x, y)
// of this shape that the server after issue 8 still answers (it refuses by estimate a line
// that cannot fit its 1 s limit). With -bin /tmp/wscalc-after on an idle 2 × EPYC vCPU,
// `wscalc eval` of heavySetup(0, b) and gcd(x, y): b = 740 000 (x of 703 700 bits) answers
// 1 in ~0.53 s, b = 745 000 is refused. The default leaves 20 000 bits (~50 ms of
// estimate) of margin so that a line that waited a little for its turn is still answered.
const defaultHeavyBits = 720_000

// heavySetup stores the heavy scenario's gcd operands: y = 2**(bits-1) - 1 (bits bits) and
// x = 3**(3·bits/5) + 2k+1 (0.951·bits bits; k varies it per session). At bits = 1 000 000
// these are exactly scenario.GCDSetup's operands.
func heavySetup(k, bits int) []string {
	return []string{fmt.Sprintf("x = 3**%d + %d", bits*3/5, 2*k+1), fmt.Sprintf("y = 2**%d - 1", bits-1)}
}

// oneRun starts a server (with -bin), runs f against it, and stops the server.
func oneRun(ctx context.Context, o options, name, params string, f func(context.Context, *server) any) run {
	r := run{Scenario: name, Params: params, LoadBefore: scenario.LoadAvg()}
	logf("%s: %s (load %s)", name, params, r.LoadBefore)
	s := &server{target: scenario.Target{TCP: o.tcp, HTTP: o.http, PID: o.pid}}
	if o.bin != "" {
		var err error
		if s, err = startServer(o.bin, o.serverCPU, o.serverNofile, strings.Fields(o.serverArgs)); err != nil {
			r.Error = err.Error()
			logf("%s", err)
			return r
		}
		time.Sleep(300 * time.Millisecond) // let it settle (RSS baseline)
	}
	cpu0 := cpuSeconds(s.target.PID)
	r.Result = f(ctx, s)
	if s.target.PID != 0 {
		r.ServerCPU = cpuSeconds(s.target.PID) - cpu0
	}
	if s.cmd != nil {
		r.ServerEnd = s.stop(5 * time.Second)
		if r.ServerEnd != "" && !strings.HasPrefix(r.ServerEnd, "exit status 0") {
			logf("server: %s; last output: %s", r.ServerEnd, strings.TrimSpace(s.stderr.String()))
		}
	}
	r.LoadAfter = scenario.LoadAvg()
	if b, err := json.Marshal(r.Result); err == nil {
		logf("%s done: %s", name, abbreviate(string(b), 600))
	}
	return r
}

func abbreviate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// parseSize parses "4GiB", "512MiB", "100MB" or a number of bytes.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
			return int64(f * float64(u.mult)), err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
