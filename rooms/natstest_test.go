package rooms

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// testServer is an in-process NATS server with JetStream, reachable only from the test.
type testServer struct {
	t   testing.TB
	srv *server.Server
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "rooms-test", JetStream: true, StoreDir: t.TempDir(),
		DontListen: true, NoSigs: true, NoLog: true,
	})
	require.NoError(t, err)
	srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second), "the NATS server did not start")
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return &testServer{t: t, srv: srv}
}

// instance connects as one wscalc instance would, and opens the room log over that
// connection: two instances on one server are two replicas of each room.
func (ts *testServer) instance() *Log {
	ts.t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ts.srv), nats.NoReconnect())
	require.NoError(ts.t, err)
	ts.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(ts.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log, err := OpenLog(ctx, js, LogConfig{Replicas: 1, Storage: jetstream.MemoryStorage})
	require.NoError(ts.t, err)
	ts.t.Cleanup(log.Close)
	return log
}
