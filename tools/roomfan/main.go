// Command roomfan is the three-instance fan-out benchmark of issue 12 (BENCHMARKS.md,
// "Rooms: fan-out and contention across three instances"): it builds wscalc, starts three
// clustered instances on free loopback ports, runs `wscalc bench -room`'s load
// (loadgen.RunRoom) with the members spread over them, and reports each server's CPU over
// the load (utime+stime from /proc/PID/stat) and the deliveries per second of server CPU.
// In the same run it does the same with a bare NATS publish/subscribe baseline: three
// clustered nats-server processes (this program, `roomfan natsd`), the same number of
// subscribers spread over them, one publisher at the same rate with payloads of the size
// and shape of a room event, every subscriber checking that it sees every message once,
// in order. The ratio wscalc/NATS of deliveries per CPU-second is the figure.
//
// The servers are pinned to one core and this program (the load) to another with taskset,
// so that the load does not take the servers' CPU: on a 2-core machine, -server-cpu 0 and
// -bench-cpu 1 (the defaults). It is benchmark tooling, not part of wscalc.
//
//	go run ./tools/roomfan                      # fan-out, 1 000 members, 100 events/s, 10 s
//	go run ./tools/roomfan -contention -duration 20s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"
)

// config is a roomfan run's flags.
type config struct {
	bin        string
	members    int
	writers    int
	rate       float64
	duration   time.Duration
	runs       int
	serverCPU  string
	benchCPU   string
	contention bool
	skipNATS   bool
	skipWscalc bool
	profile    string
	loadProf   string
	asJSON     bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "natsd" {
		os.Exit(runNATSD(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("roomfan", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.bin, "bin", "", "the wscalc `binary` to run (default: go build of this checkout into a temporary directory)")
	fs.IntVar(&cfg.members, "members", 1000, "room members (and NATS subscribers), spread round-robin over the 3 servers")
	fs.IntVar(&cfg.writers, "writers", 1, "members that send lines (-contention: 10)")
	fs.Float64Var(&cfg.rate, "rate", 100, "events/s over all writers (-contention: as fast as replies allow)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long the writers send")
	fs.IntVar(&cfg.runs, "runs", 1, "runs of each load, alternating wscalc and NATS, on the same servers")
	fs.StringVar(&cfg.serverCPU, "server-cpu", "0", "taskset `cpu list` of the servers")
	fs.StringVar(&cfg.benchCPU, "bench-cpu", "1", "taskset `cpu list` of this program (the load); empty: not pinned")
	fs.BoolVar(&cfg.contention, "contention", false, "the contention load: 10 writers (-writers) as fast as they can, 10 members, no NATS baseline")
	fs.BoolVar(&cfg.skipNATS, "no-nats", false, "skip the bare NATS baseline")
	fs.BoolVar(&cfg.skipWscalc, "no-wscalc", false, "skip wscalc (the NATS baseline alone)")
	fs.StringVar(&cfg.profile, "profile", "", "record the wscalc servers with perf during each load into `dir` (perf-<instance>-<run>.data)")
	fs.StringVar(&cfg.loadProf, "load-profile", "", "write this program's own CPU profile (the load) to `file`")
	fs.BoolVar(&cfg.asJSON, "json", false, "print each run's figures as a JSON line too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.contention {
		if !isSet(fs, "writers") {
			cfg.writers = 10
		}
		if !isSet(fs, "members") {
			cfg.members = cfg.writers
		}
		if !isSet(fs, "rate") {
			cfg.rate = 0
		}
		cfg.skipNATS = true
	}
	if err := cfg.check(); err != nil {
		fmt.Fprintf(os.Stderr, "roomfan: %v\n", err)
		return 2
	}
	if pinned, err := pinSelf(cfg.benchCPU); err != nil || pinned {
		if err != nil {
			fmt.Fprintf(os.Stderr, "roomfan: %v\n", err)
			return 1
		}
		return 0 // unreachable: pinSelf execs
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.loadProf != "" {
		f, err := os.Create(cfg.loadProf)
		if err != nil {
			fmt.Fprintf(os.Stderr, "roomfan: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "roomfan: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := bench(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "roomfan: %v\n", err)
		return 1
	}
	return 0
}

// check refuses what the loads cannot run: the members and writers are loadgen's to
// check; the NATS baseline needs a rate.
func (cfg config) check() error {
	switch {
	case cfg.members < 1:
		return fmt.Errorf("-members must be at least 1, not %d", cfg.members)
	case cfg.runs < 1:
		return fmt.Errorf("-runs must be at least 1, not %d", cfg.runs)
	case cfg.rate < 0:
		return fmt.Errorf("-rate must not be negative, not %v", cfg.rate)
	case cfg.rate == 0 && !cfg.skipNATS:
		return errors.New("the NATS baseline needs a -rate (or use -no-nats)")
	case cfg.skipNATS && cfg.skipWscalc:
		return errors.New("-no-nats and -no-wscalc leave nothing to run")
	}
	return nil
}

func isSet(fs *flag.FlagSet, name string) (set bool) {
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// pinnedEnv marks the process that pinSelf started under taskset.
const pinnedEnv = "ROOMFAN_PINNED"

// pinSelf runs this program again under taskset on cpus (it does not return then), unless
// it already is or cpus is empty.
func pinSelf(cpus string) (bool, error) {
	if cpus == "" || os.Getenv(pinnedEnv) != "" {
		return false, nil
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return false, fmt.Errorf("taskset: %w (use -bench-cpu '' -server-cpu '' to run unpinned)", err)
	}
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	argv := append([]string{"taskset", "-c", cpus, self}, os.Args[1:]...)
	return true, syscall.Exec(taskset, argv, append(os.Environ(), pinnedEnv+"=1"))
}

// bench runs the loads and prints their figures.
func bench(ctx context.Context, cfg config) error {
	dir, err := os.MkdirTemp("", "roomfan-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if !cfg.skipWscalc && cfg.bin == "" {
		cfg.bin = filepath.Join(dir, "wscalc")
		build := exec.CommandContext(ctx, "go", "build", "-o", cfg.bin, ".")
		build.Dir, build.Stdout, build.Stderr = moduleRoot(), os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	fmt.Printf("roomfan: %d members, %d writers, rate %v/s, %v; servers on cpu %s, load on cpu %s\n",
		cfg.members, cfg.writers, cfg.rate, cfg.duration, orNone(cfg.serverCPU), orNone(cfg.benchCPU))
	fmt.Printf("uptime: %s\n", loadAverage())
	var ws, nats *cluster
	if !cfg.skipWscalc {
		if ws, err = startWscalc(ctx, cfg, dir); err != nil {
			return err
		}
		defer ws.stop()
	}
	if !cfg.skipNATS {
		if nats, err = startNATS(ctx, cfg, dir); err != nil {
			return err
		}
		defer nats.stop()
	}
	for i := range cfg.runs {
		var wsRes, natsRes *result
		if ws != nil {
			if wsRes, err = runWscalc(ctx, cfg, ws, i); err != nil {
				return err
			}
			report(cfg, wsRes)
			if !wsRes.OK {
				ws.keepLogs()
			}
		}
		if nats != nil {
			if natsRes, err = runNATS(ctx, cfg, nats, i); err != nil {
				return err
			}
			report(cfg, natsRes)
		}
		if wsRes != nil && natsRes != nil && natsRes.perCPUSecond() > 0 {
			fmt.Printf("run %d: wscalc/NATS deliveries per server CPU-second: %.2f×  (p99 %v vs %v)  uptime: %s\n\n",
				i+1, wsRes.perCPUSecond()/natsRes.perCPUSecond(), wsRes.p99.Round(10*time.Microsecond),
				natsRes.p99.Round(10*time.Microsecond), loadAverage())
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(not pinned)"
	}
	return s
}

// result is one load's figures.
type result struct {
	What       string          `json:"what"` // wscalc or nats
	Run        int             `json:"run"`
	Elapsed    time.Duration   `json:"elapsed_ns"`
	Events     int64           `json:"events"`
	Deliveries int64           `json:"deliveries"`
	CPU        []time.Duration `json:"server_cpu_ns"` // per server over the load
	Writes     int64           `json:"server_writes"` // the servers' write system calls over the load
	LoadCPU    time.Duration   `json:"load_cpu_ns"`   // this program's CPU over the load
	p50, p99   time.Duration
	max        time.Duration
	OK         bool   `json:"ok"`
	Detail     string `json:"detail"`
	Retries    int64  `json:"retries,omitempty"`
}

// setUsage sets CPU and Writes from each server's usage over the load, LoadCPU from the
// last (measure's).
func (r *result) setUsage(us []usage) {
	r.CPU = nil
	if len(us) == 0 {
		return
	}
	r.LoadCPU = us[len(us)-1].cpu
	for _, u := range us[:len(us)-1] {
		r.CPU = append(r.CPU, u.cpu)
		r.Writes += u.writes
	}
}

func (r *result) cpu() (total time.Duration) {
	for _, c := range r.CPU {
		total += c
	}
	return total
}

// perCPUSecond is the deliveries per second of the servers' CPU (all three).
func (r *result) perCPUSecond() float64 {
	if r.cpu() <= 0 {
		return 0
	}
	return float64(r.Deliveries) / r.cpu().Seconds()
}

func report(cfg config, r *result) {
	sec := r.Elapsed.Seconds()
	fmt.Printf("%-6s run %d: %.1f s, events %d (%.0f/s), deliveries %d (%.0f/s), p50 %v p99 %v max %v, ok %v\n",
		r.What, r.Run+1, sec, r.Events, float64(r.Events)/sec, r.Deliveries, float64(r.Deliveries)/sec,
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.max.Round(10*time.Microsecond), r.OK)
	fmt.Printf("       server CPU %v (%.2f cores; per server", r.cpu().Round(time.Millisecond), r.cpu().Seconds()/sec)
	for _, c := range r.CPU {
		fmt.Printf(" %v", c.Round(time.Millisecond))
	}
	fmt.Printf("), %.0f deliveries per server CPU-second, %.2f write calls per delivery; load CPU %v\n",
		r.perCPUSecond(), float64(r.Writes)/float64(max(r.Deliveries, 1)), r.LoadCPU.Round(time.Millisecond))
	if r.Detail != "" {
		fmt.Printf("       %s\n", r.Detail)
	}
	if cfg.asJSON {
		b, _ := json.Marshal(struct {
			*result
			P50, P99, Max time.Duration
			PerCPUSecond  float64 `json:"deliveries_per_cpu_second"`
		}{r, r.p50, r.p99, r.max, r.perCPUSecond()})
		fmt.Println(string(b))
	}
}

// moduleRoot is the wscalc checkout this program is built from (the current directory's
// module, found by go env GOMOD).
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "."
	}
	return filepath.Dir(string(out[:len(out)-1]))
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	var a, b1, c float64
	fmt.Sscanf(string(b), "%f %f %f", &a, &b1, &c)
	return strconv.FormatFloat(a, 'f', 2, 64) + " " + strconv.FormatFloat(b1, 'f', 2, 64) + " " + strconv.FormatFloat(c, 'f', 2, 64)
}
