package rooms

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"wscalc/internal/natstest"
)

// testServer is an in-process NATS server with JetStream, reachable only from the test.
// (roomstest has the same for other packages; it imports rooms, so these tests cannot.)
type testServer struct {
	*natstest.Server
	t testing.TB
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	return &testServer{Server: natstest.Start(t, "rooms-test"), t: t}
}

// instance connects as one wscalc instance would, and opens the room log over that
// connection: two instances on one server are two replicas of each room.
func (ts *testServer) instance() *Log {
	ts.t.Helper()
	js, err := jetstream.New(ts.Conn())
	require.NoError(ts.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log, err := OpenLog(ctx, js, LogConfig{Replicas: 1, Storage: jetstream.MemoryStorage})
	require.NoError(ts.t, err)
	ts.t.Cleanup(log.Close)
	return log
}
