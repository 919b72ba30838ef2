package rooms

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
)

// startCluster starts three clustered NATS servers with JetStream on loopback and returns
// one room log per server, each over its own in-process connection, replicated R3.
func startCluster(t *testing.T) []*Log {
	t.Helper()
	var ports []int
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		require.NoError(t, l.Close())
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var servers []*server.Server
	for i, p := range ports {
		srv, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprint("rooms-", i), JetStream: true, StoreDir: t.TempDir(),
			Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "rooms-test", Host: "127.0.0.1", Port: p},
			Routes:  routes,
		})
		require.NoError(t, err)
		srv.Start()
		t.Cleanup(func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		})
		servers = append(servers, srv)
	}
	var logs []*Log
	for _, srv := range servers {
		require.True(t, srv.ReadyForConnections(10*time.Second))
		nc, err := nats.Connect("", nats.InProcessServer(srv), nats.NoReconnect())
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		var log *Log
		require.Eventually(t, func() bool { // until the cluster has elected its meta leader
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			log, err = OpenLog(ctx, js, LogConfig{Replicas: 3, Storage: jetstream.MemoryStorage})
			return err == nil
		}, 30*time.Second, 100*time.Millisecond, "the JetStream cluster did not form")
		t.Cleanup(log.Close)
		logs = append(logs, log)
	}
	return logs
}

// Three instances on three clustered servers, the log replicated three times: the
// conflicts of a replicated stream (another error code) are caught the same, and no
// increment is lost.
func TestClusterR3(t *testing.T) {
	logs := startCluster(t)
	var rooms []*Room
	for _, log := range logs {
		rooms = append(rooms, openRoom(t, log, "lab", RoomConfig{}))
	}
	epoch := rooms[0].View().Epoch
	for _, r := range rooms {
		assert.Equal(t, epoch, r.View().Epoch, "one epoch, whoever created the room")
	}
	const writers, increments = 3, 10
	var stored, attempts atomic.Int64
	counting := func(ctx context.Context, s *calc.Session, line string) (Outcome, error) {
		attempts.Add(1)
		return evalLine(ctx, s, line)
	}
	init := &member{Member: Member{ID: "init"}}
	init.say(t, rooms[0], "x = 0")
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &member{Member: Member{ID: fmt.Sprint(w)}}
			for range increments {
				if _, err := rooms[w].Evaluate(testContext(t), m.Member, "x = x + 1", &m.session, counting); err == nil {
					stored.Add(1)
				} else {
					assert.True(t, IsUnavailable(err), "%v", err)
				}
			}
		}()
	}
	wg.Wait()
	for i, r := range rooms {
		require.Eventually(t, func() bool { return r.Position().Seq == uint64(1+stored.Load()) }, 10*time.Second, 10*time.Millisecond, "replica %d", i)
		assert.Equal(t, fmt.Sprintf("x = %d", stored.Load()), vars(t, r.View().State))
	}
	assert.Equal(t, int64(writers*increments), stored.Load())
	t.Logf("%d lines stored, %d evaluations", stored.Load(), attempts.Load())
}
