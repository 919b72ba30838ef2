package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cluster is three server processes: wscalc instances or bare NATS servers.
type cluster struct {
	procs   []*exec.Cmd
	clients []string // each server's client address: HTTP for wscalc, NATS for nats
	names   []string
	logs    []*os.File
}

// readyWait bounds a new cluster's start: every peer up and the first JetStream leader
// elected.
const readyWait = 90 * time.Second

// freePorts returns n free loopback addresses (listened on and closed: a race with other
// programs is possible, and unlikely).
func freePorts(n int) ([]string, error) {
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addrs[i] = l.Addr().String()
		defer l.Close()
	}
	return addrs, nil
}

// start starts a server process pinned to cpus (taskset execs it: the pid is the server's),
// its output in a log file of dir.
func (c *cluster) start(cpus, dir, name string, argv ...string) error {
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive roomfan
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	c.procs, c.names, c.logs = append(c.procs, cmd), append(c.names, name), append(c.logs, log)
	return nil
}

// keepLogs copies the servers' logs so far out of the temporary directory, and says
// where: for a run that failed.
func (c *cluster) keepLogs() {
	dir, err := os.MkdirTemp("", "roomfan-logs-")
	if err != nil {
		return
	}
	for i, l := range c.logs {
		if b, err := os.ReadFile(l.Name()); err == nil {
			_ = os.WriteFile(filepath.Join(dir, c.names[i]+".log"), b, 0o644)
		}
	}
	fmt.Printf("       the servers' logs: %s\n", dir)
}

// stop ends the servers (SIGTERM, then SIGKILL after 10 s).
func (c *cluster) stop() {
	for _, p := range c.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	for _, l := range c.logs {
		l.Close()
	}
}

// usage is what a server process used: CPU time (user and system) and write system
// calls.
type usage struct {
	cpu    time.Duration
	writes int64
}

// usage is each server's usage so far.
func (c *cluster) usage() ([]usage, error) {
	out := make([]usage, len(c.procs))
	for i, p := range c.procs {
		u, err := processUsage(p.Process.Pid)
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

// clockTick is the unit of /proc/PID/stat's times: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// processUsage is utime+stime of pid (/proc/PID/stat) and its write calls (syscw of
// /proc/PID/io).
func processUsage(pid int) (usage, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return usage{}, err
	}
	io, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return usage{}, err
	}
	return parseUsage(string(stat), string(io))
}

// parseUsage reads the CPU time of a /proc/PID/stat and the write calls of a /proc/PID/io.
func parseUsage(stat, io string) (usage, error) {
	// The command (field 2) is in parentheses and may hold spaces: count from after it.
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if len(fields) < 13 {
		return usage{}, fmt.Errorf("/proc/PID/stat: %q", stat)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(fields[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return usage{}, fmt.Errorf("/proc/PID/stat: %q", stat)
	}
	u := usage{cpu: time.Duration(utime+stime) * clockTick, writes: -1}
	for _, line := range strings.Split(io, "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			u.writes, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if u.writes < 0 {
		return usage{}, fmt.Errorf("/proc/PID/io: no syscw in %q", io)
	}
	return u, nil
}

// measure returns a function that, called at the end of a load, returns each server's
// usage since measure was called, and this program's (the load's) last.
func (c *cluster) measure() (func() []usage, error) {
	before, err := c.usage()
	if err != nil {
		return nil, err
	}
	self, err := processUsage(os.Getpid())
	if err != nil {
		return nil, err
	}
	before = append(before, self)
	return func() []usage {
		after, err := c.usage()
		if err != nil {
			return nil
		}
		self, err := processUsage(os.Getpid())
		if err != nil {
			return nil
		}
		after = append(after, self)
		for i := range after {
			after[i].cpu -= before[i].cpu
			after[i].writes -= before[i].writes
		}
		return after
	}, nil
}

// startWscalc starts three clustered wscalc instances, the budget lifted and the
// per-address connection limit raised for the load's members (all from 127.0.0.1), and
// waits until each is ready.
func startWscalc(ctx context.Context, cfg config, dir string) (*cluster, error) {
	addrs, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	httpAddrs, routes := addrs[:3], addrs[3:]
	c := &cluster{clients: httpAddrs}
	for i := range 3 {
		name := "calc-" + strconv.Itoa(i)
		err := c.start(cfg.serverCPU, dir, name, cfg.bin, "-http", httpAddrs[i], "-tcp", "",
			"-instance", name, "-cluster-listen", routes[i], "-cluster-peers", strings.Join(routes, ","),
			"-session-budget", "1000000000000", "-max-conns-per-ip", strconv.Itoa(cfg.members+100))
		if err != nil {
			c.stop()
			return nil, err
		}
	}
	for i, a := range httpAddrs {
		if err := waitReady(ctx, "http://"+a+"/readyz"); err != nil {
			c.stop()
			log, _ := os.ReadFile(c.logs[i].Name())
			return nil, fmt.Errorf("%s: %w\n%s", c.names[i], err, log)
		}
	}
	return c, nil
}

// waitReady polls url until it answers 200.
func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(readyWait)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v (%v)", url, readyWait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// perfRecord records the servers with perf (call graphs) until the returned function is
// called; nothing if dir is empty.
func (c *cluster) perfRecord(dir string, run int) (func(), error) {
	if dir == "" {
		return func() {}, nil
	}
	var recs []*exec.Cmd
	for i, p := range c.procs {
		out := filepath.Join(dir, fmt.Sprintf("perf-%s-%d.data", c.names[i], run+1))
		rec := exec.Command("perf", "record", "-g", "-F", "499", "-o", out, "-p", strconv.Itoa(p.Process.Pid))
		rec.Stderr = os.Stderr
		if err := rec.Start(); err != nil {
			return nil, fmt.Errorf("perf: %w", err)
		}
		recs = append(recs, rec)
	}
	return func() {
		for _, r := range recs {
			_ = r.Process.Signal(syscall.SIGINT)
		}
		for _, r := range recs {
			_ = r.Wait()
		}
	}, nil
}
