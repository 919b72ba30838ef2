// Package roomstest gives tests a room log on an in-process NATS server with JetStream,
// reachable only from the test.
package roomstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"wscalc/rooms"
)

// Server is an in-process NATS server with JetStream, stopped when the test ends.
type Server struct {
	t   testing.TB
	srv *server.Server
}

// Start starts a Server.
func Start(t testing.TB) *Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "roomstest", JetStream: true, StoreDir: t.TempDir(),
		DontListen: true, NoSigs: true, NoLog: true,
	})
	require.NoError(t, err)
	srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second), "the NATS server did not start")
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return &Server{t: t, srv: srv}
}

// Conn is a new connection to the server, closed when the test ends.
func (s *Server) Conn() *nats.Conn {
	s.t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(s.srv), nats.NoReconnect())
	require.NoError(s.t, err)
	s.t.Cleanup(nc.Close)
	return nc
}

// Log connects as one wscalc instance would and opens the room log: two Logs of one
// Server are two instances of one cluster. Closed when the test ends.
func (s *Server) Log() *rooms.Log {
	s.t.Helper()
	js, err := jetstream.New(s.Conn())
	require.NoError(s.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log, err := rooms.OpenLog(ctx, js, rooms.LogConfig{Replicas: 1, Storage: jetstream.MemoryStorage})
	require.NoError(s.t, err)
	s.t.Cleanup(log.Close)
	return log
}
