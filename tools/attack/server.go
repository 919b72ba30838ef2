package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"wscalc/tools/attack/scenario"
)

// server is a wscalc process this tool started (with -bin), or one it was pointed at.
type server struct {
	target scenario.Target
	cmd    *exec.Cmd // nil for a server this tool did not start
	exited chan struct{}
	stderr *tail
}

var (
	httpAddrRE = regexp.MustCompile(`playground\S*\s+http://([^/\s]+)`)
	tcpAddrRE  = regexp.MustCompile(`line protocol\S*\s+(?:on\s+)?(\S+:\d+)`)
)

// startServer starts bin on loopback port 0 (pinned with taskset when cpu is set, with the
// open-file limit nofile when set) and waits for it to print both addresses.
func startServer(bin, cpu string, nofile int, args []string) (*server, error) {
	argv := append([]string{bin, "-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-log-level", "error"}, args...)
	if nofile > 0 {
		argv = append([]string{"prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile), "--"}, argv...)
	}
	if cpu != "" {
		argv = append([]string{"taskset", "-c", cpu}, argv...)
	}
	s := &server{exited: make(chan struct{}), stderr: &tail{}}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stderr = s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	// taskset and prlimit exec the server, so the pid is the server's.
	s.target.PID = s.cmd.Process.Pid
	addrs := make(chan [2]string, 2)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			for kind, re := range map[string]*regexp.Regexp{"http": httpAddrRE, "tcp": tcpAddrRE} {
				if m := re.FindStringSubmatch(line); m != nil {
					select {
					case addrs <- [2]string{kind, m[1]}:
					default:
					}
				}
			}
		}
	}()
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.After(15 * time.Second)
	for s.target.HTTP == "" || s.target.TCP == "" {
		select {
		case a := <-addrs:
			if a[0] == "http" {
				s.target.HTTP = a[1]
			} else {
				s.target.TCP = a[1]
			}
		case <-s.exited:
			return nil, fmt.Errorf("%s exited before printing its addresses: %s", bin, s.stderr)
		case <-deadline:
			s.kill()
			return nil, fmt.Errorf("%s did not print its addresses within 15 s", bin)
		}
	}
	return s, nil
}

// sigterm sends SIGTERM to the server (started or not).
func (s *server) sigterm() error {
	if s.target.PID == 0 {
		return errors.New("no server pid (use -bin or -pid)")
	}
	return syscall.Kill(s.target.PID, syscall.SIGTERM)
}

// stop ends a server this tool started: SIGTERM, then SIGKILL after grace. It returns how
// the process ended.
func (s *server) stop(grace time.Duration) string {
	if s.cmd == nil {
		return ""
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.cmd.ProcessState.String()
	case <-time.After(grace):
		s.kill()
		return fmt.Sprintf("killed: no exit within %v of SIGTERM", grace)
	}
}

func (s *server) kill() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// waitExit waits up to d for a server this tool started to exit by itself.
func (s *server) waitExit(d time.Duration) (string, time.Duration) {
	if s.cmd == nil {
		return "", 0
	}
	start := time.Now()
	select {
	case <-s.exited:
		return s.cmd.ProcessState.String(), time.Since(start)
	case <-time.After(d):
		return "still running", d
	}
}

// cpuSeconds is the process's user+system CPU time so far (0 if unknown).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100 // USER_HZ is 100 on Linux
}

// tail keeps the last 8 KiB written to it.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
