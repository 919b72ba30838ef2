// Package natstest gives tests an in-process NATS server with JetStream, reachable only
// from the test: the one home of how tests start one (roomstest and the rooms package's
// own tests build on it).
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// Server is an in-process NATS server with JetStream, stopped when the test ends.
type Server struct {
	t   testing.TB
	srv *server.Server
}

// Start starts a Server named name.
func Start(t testing.TB, name string) *Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: name, JetStream: true, StoreDir: t.TempDir(),
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
