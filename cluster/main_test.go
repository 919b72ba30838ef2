package cluster

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChild(cfg)) // one instance of kill_test.go's clusters
	}
	goleak.VerifyTestMain(m)
}

// wait is the generous limit of every wait for the cluster: routes, elections and
// heartbeats on a shared machine under -race.
const wait = 60 * time.Second

// testLogger logs warnings and errors into the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: testLogLevel}))
}

// freeAddrs returns n loopback addresses whose ports were free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return addrs
}

// start starts a node for cfg (with the test's logger and fast readiness checks) and
// closes it when the test ends.
func start(t *testing.T, cfg Config) *Node {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	cfg.readyEvery = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	n, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start(%+v): %v", cfg, err)
	}
	t.Cleanup(n.Close)
	return n
}

// clusterConfigs are the configs of an embedded cluster of n on free loopback ports.
func clusterConfigs(t *testing.T, n int) []Config {
	peers := freeAddrs(t, n)
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = Config{Instance: "node" + strconv.Itoa(i), ClusterListen: peers[i], ClusterPeers: peers}
	}
	return cfgs
}

// startCluster starts an embedded cluster of n and waits until every node is ready.
func startCluster(t *testing.T, n int) []*Node {
	t.Helper()
	var nodes []*Node
	for _, cfg := range clusterConfigs(t, n) {
		nodes = append(nodes, start(t, cfg))
	}
	waitReady(t, nodes...)
	return nodes
}

func waitReady(t *testing.T, nodes ...*Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, n := range nodes {
		if err := n.WaitReady(ctx); err != nil {
			t.Fatalf("%s: %v", n.Instance(), err)
		}
	}
}

// eventually polls cond every 20 ms until it holds or the generous limit passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after %s: %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var testLogLevel = func() slog.Level {
	if os.Getenv("CLUSTER_TEST_DEBUG") != "" {
		return slog.LevelDebug - 4
	}
	return slog.LevelWarn
}()
