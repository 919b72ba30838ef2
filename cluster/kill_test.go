package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// childEnv carries a child's Config (JSON): the test binary, run with it, is one instance
// of a cluster in a process of its own, so that a test can kill -9 it.
const childEnv = "WSCALC_CLUSTER_TEST_CHILD"

// childState is what a child prints (a JSON line) whenever it changes.
type childState struct {
	Ready     bool   `json:"ready"`
	Leader    bool   `json:"leader"`
	Instances int    `json:"instances"`
	Global    Counts `json:"global"`
}

// runChild runs one instance with presence (one WebSocket client of its own, default
// timings) until its stdin closes, printing its state as it changes.
func runChild(cfgJSON string) int {
	var cfg Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.readyEvery = 200 * time.Millisecond
	n, err := Start(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p, err := NewPresence(n, n.Instance(), func() Counts { return Counts{Total: 1, WS: 1} }, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stdinClosed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stdinClosed) }()
	var last childState
	for {
		s := childState{Ready: n.Ready(), Leader: n.srv.JetStreamIsLeader(), Instances: p.Instances(), Global: p.Global()}
		if s != last {
			b, _ := json.Marshal(s)
			fmt.Println(string(b))
			last = s
		}
		select {
		case <-stdinClosed:
			p.Close()
			n.Close()
			return 0
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// child is an instance in a process of its own.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}

	mu     sync.Mutex
	state  childState
	states []string // every state printed, for a failure message
	when   time.Time
}

func startChild(t *testing.T, cfg Config) *child {
	t.Helper()
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &child{name: cfg.Instance, cmd: exec.Command(os.Args[0], "-test.run=^$"), done: make(chan struct{})}
	// The private store directory of a killed child is left behind: in the test's.
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(cfgJSON), "TMPDIR="+t.TempDir())
	c.cmd.Stderr = t.Output()
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var s childState
			if json.Unmarshal(sc.Bytes(), &s) != nil {
				continue
			}
			c.mu.Lock()
			c.state, c.when = s, time.Now()
			c.states = append(c.states, sc.Text())
			c.mu.Unlock()
		}
		_ = c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.stdin.Close() // the child closes its node and exits
		select {
		case <-c.done:
		case <-time.After(wait):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) get() (childState, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.when
}

func (c *child) history() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.states, "\n")
}

// Three instances in processes of their own; the meta leader is killed with SIGKILL: the
// others stay ready throughout, and their global count heals within 10 s (rooms.md §10).
func TestKilledLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes and waits for presence to heal (about 10 s)")
	}
	var children []*child
	for _, cfg := range clusterConfigs(t, 3) {
		children = append(children, startChild(t, cfg))
	}
	var leader *child
	eventually(t, "all three ready, counting each other, one the meta leader", func() bool {
		leader = nil
		for _, c := range children {
			s, _ := c.get()
			if !s.Ready || s.Instances != 3 || s.Global.Total != 3 {
				return false
			}
			if s.Leader {
				leader = c
			}
		}
		return leader != nil
	})
	if err := leader.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for _, c := range children {
		if c == leader {
			continue
		}
		eventually(t, c.name+" counts two instances", func() bool {
			s, _ := c.get()
			return s.Instances == 2 && s.Global.Total == 2
		})
		_, healed := c.get()
		t.Logf("%s healed %.1f s after the kill", c.name, healed.Sub(killed).Seconds())
		if healed.Sub(killed) > 10*time.Second {
			t.Errorf("%s healed %s after the kill, want within 10 s", c.name, healed.Sub(killed))
		}
	}
	// The survivors elect a new leader and never stopped being ready.
	eventually(t, "a new meta leader", func() bool {
		for _, c := range children {
			if s, _ := c.get(); c != leader && s.Leader {
				return true
			}
		}
		return false
	})
	t.Logf("a new meta leader %.1f s after the kill", time.Since(killed).Seconds())
	for _, c := range children {
		if c == leader {
			continue
		}
		if h := c.history(); strings.Contains(h, `"ready":false`) && strings.Index(h, `"ready":true`) < strings.LastIndex(h, `"ready":false`) {
			t.Errorf("%s was not ready for a while after the kill:\n%s", c.name, h)
		}
	}
}
