package cluster

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// roundTrip checks that a message published on from reaches a subscriber on to.
func roundTrip(t *testing.T, from, to *Node) {
	t.Helper()
	sub, err := to.Conn().SubscribeSync("wscalc.test.roundtrip")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := to.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	// Interest crosses routes asynchronously: publish until one arrives.
	eventually(t, "a message from "+from.Instance()+" reaches "+to.Instance(), func() bool {
		if err := from.Conn().Publish("wscalc.test.roundtrip", []byte("hi")); err != nil {
			t.Fatal(err)
		}
		_, err := sub.NextMsg(100 * time.Millisecond)
		return err == nil
	})
}

// createStream creates an in-memory stream of the node's replicas on n.
func createStream(t *testing.T, n *Node, name string) jetstream.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := n.JetStream().CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{"wscalc.test." + name}, Storage: n.Storage(), Replicas: n.Replicas()})
	if err != nil {
		t.Fatalf("create stream %s on %s: %v", name, n.Instance(), err)
	}
	return s
}

func TestEmbeddedSingle(t *testing.T) {
	n := start(t, Config{Instance: "solo"})
	waitReady(t, n)
	if got := n.Mode(); got != "embedded single" {
		t.Errorf("Mode() = %q, want embedded single", got)
	}
	if n.Replicas() != 1 || n.Storage() != jetstream.MemoryStorage || n.ClientURL() != "" {
		t.Errorf("Replicas, Storage, ClientURL = %d, %v, %q; want 1, memory, none (no port)", n.Replicas(), n.Storage(), n.ClientURL())
	}
	if !n.Ready() {
		t.Error("Ready() = false after WaitReady")
	}
	if !n.Alone() {
		t.Error("Alone() = false for an embedded server without ports")
	}
	roundTrip(t, n, n)
	createStream(t, n, "single")
	dir := n.tempDir
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("store directory: %v", err)
	}
	n.Close()
	if n.Ready() {
		t.Error("Ready() = true after Close")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("store directory %s left after Close (%v)", dir, err)
	}
	n.Close() // a second Close does nothing
}

// With -data-dir the streams are in files and outlive a restart.
func TestEmbeddedDataDir(t *testing.T) {
	dir := t.TempDir()
	n := start(t, Config{Instance: "keeper", DataDir: dir})
	waitReady(t, n)
	if n.Storage() != jetstream.FileStorage {
		t.Fatalf("Storage() = %v with DataDir, want file", n.Storage())
	}
	s := createStream(t, n, "kept")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := n.JetStream().Publish(ctx, "wscalc.test.kept", []byte("x = 1")); err != nil {
		t.Fatal(err)
	}
	_ = s
	n.Close()

	again := start(t, Config{Instance: "keeper", DataDir: dir})
	waitReady(t, again)
	info, err := again.JetStream().Stream(ctx, "kept")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	if msgs := info.CachedInfo().State.Msgs; msgs != 1 {
		t.Errorf("messages after restart = %d, want 1", msgs)
	}
}

// Three embedded servers form a cluster: R3 streams, messages across routes.
func TestEmbeddedCluster(t *testing.T) {
	nodes := startCluster(t, 3)
	for _, n := range nodes {
		if got := n.Mode(); got != "embedded cluster of 3" {
			t.Errorf("%s: Mode() = %q, want embedded cluster of 3", n.Instance(), got)
		}
		if n.Replicas() != 3 {
			t.Errorf("%s: Replicas() = %d, want 3", n.Instance(), n.Replicas())
		}
	}
	roundTrip(t, nodes[0], nodes[2])
	roundTrip(t, nodes[2], nodes[1])
	s := createStream(t, nodes[0], "r3")
	if got := len(s.CachedInfo().Cluster.Replicas) + 1; got != 3 {
		t.Errorf("stream has %d copies, want 3", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := nodes[1].JetStream().Publish(ctx, "wscalc.test.r3", []byte("seen everywhere")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the message is in the stream seen from node2", func() bool {
		info, err := nodes[2].JetStream().Stream(ctx, "r3")
		return err == nil && info.CachedInfo().State.Msgs == 1
	})
}

// Ready waits for the cluster: a new cluster forms once every peer has come up (NATS
// elects its first meta leader only then), and an instance is no longer ready when it
// loses quorum.
func TestReadyFollowsQuorum(t *testing.T) {
	cfgs := clusterConfigs(t, 3)
	a := start(t, cfgs[0])
	// Several readiness checks pass without a cluster.
	time.Sleep(time.Second)
	if a.Ready() {
		t.Fatal("Ready() = true for one instance of three")
	}
	nodes := []*Node{a, start(t, cfgs[1]), start(t, cfgs[2])}
	waitReady(t, nodes...)

	// The meta leader stops: the other two keep their quorum and stay ready throughout,
	// while they elect a new leader.
	var leader *Node
	eventually(t, "a meta leader is known", func() bool {
		for _, n := range nodes {
			if n.srv.JetStreamIsLeader() {
				leader = n
			}
		}
		return leader != nil
	})
	var survivors []*Node
	for _, n := range nodes {
		if n != leader {
			survivors = append(survivors, n)
		}
	}
	leader.Close()
	eventually(t, "the survivors elect a new meta leader", func() bool {
		for _, n := range survivors {
			if !n.Ready() {
				t.Fatalf("%s not ready after %s, the meta leader, stopped; two of three keep quorum", n.Instance(), leader.Instance())
			}
		}
		return survivors[0].srv.JetStreamIsLeader() || survivors[1].srv.JetStreamIsLeader()
	})

	// One of three is no quorum.
	survivors[1].Close()
	eventually(t, survivors[0].Instance()+" not ready alone", func() bool { return !survivors[0].Ready() })
}

// An instance with -nats-url uses another one's -nats-listen.
func TestExternalURL(t *testing.T) {
	host := start(t, Config{Instance: "host", NATSListen: "127.0.0.1:0"})
	url := host.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Fatalf("ClientURL() = %q, want nats://127.0.0.1:port", url)
	}
	if got, want := host.Mode(), "embedded single, NATS clients on "+url; got != want {
		t.Errorf("Mode() = %q, want %q", got, want)
	}
	user := start(t, Config{Instance: "user", NATSURL: strings.Replace(url, "nats://", "nats://me:secret@", 1)})
	waitReady(t, host, user)
	if got := user.Mode(); got != "external "+url {
		t.Errorf("Mode() = %q, want %q (no credentials)", got, "external "+url)
	}
	if host.Alone() || user.Alone() {
		t.Errorf("Alone() = %v, %v; want false: they share the host's NATS", host.Alone(), user.Alone())
	}
	if user.Replicas() != 1 || user.Storage() != jetstream.FileStorage || user.ClientURL() != "" {
		t.Errorf("Replicas, Storage, ClientURL = %d, %v, %q; want 1, file, none", user.Replicas(), user.Storage(), user.ClientURL())
	}
	roundTrip(t, user, host)
	roundTrip(t, host, user)
	ph := startPresence(t, host, "host", newFakeLocal(Counts{Total: 1, WS: 1}), fast)
	pu := startPresence(t, user, "user", newFakeLocal(Counts{Total: 2, TCP: 2}), fast)
	waitGlobal(t, Counts{Total: 3, WS: 1, TCP: 2}, 2, ph, pu)
}

// An external NATS that is not there is an error at start, naming it without credentials.
func TestExternalURLUnreachable(t *testing.T) {
	addr := freeAddrs(t, 1)[0]
	_, err := Start(context.Background(), Config{NATSURL: "nats://me:secret@" + addr, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "nats://"+addr) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Start with nothing at %s: err = %v; want one naming nats://%s without the password", addr, err, addr)
	}
	if !errors.Is(err, nats.ErrNoServers) {
		t.Errorf("err = %v, want it to wrap nats.ErrNoServers", err)
	}
}

// A port that is taken is an error at start, not a hang or an exit.
func TestEmbeddedPortTaken(t *testing.T) {
	host := start(t, Config{Instance: "first", NATSListen: "127.0.0.1:0"})
	taken := strings.TrimPrefix(host.ClientURL(), "nats://")
	_, err := Start(context.Background(), Config{Instance: "second", NATSListen: taken, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "did not start") {
		t.Fatalf("Start on the taken %s: err = %v, want it did not start", taken, err)
	}
}

// An external NATS that goes away makes the instance not ready; it reconnects and is
// ready again when the server is back.
func TestExternalReconnects(t *testing.T) {
	addr := freeAddrs(t, 1)[0]
	host := start(t, Config{Instance: "host", NATSListen: addr})
	user := start(t, Config{Instance: "user", NATSURL: "nats://" + addr})
	waitReady(t, user)
	host.Close()
	eventually(t, "not ready without its NATS", func() bool { return !user.Ready() })
	again := start(t, Config{Instance: "host", NATSListen: addr})
	waitReady(t, again)
	eventually(t, "ready again once its NATS is back", user.Ready)
	roundTrip(t, user, again)
}
