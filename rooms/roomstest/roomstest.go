// Package roomstest gives tests a room log on an in-process NATS server with JetStream,
// reachable only from the test.
package roomstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"wscalc/internal/natstest"
	"wscalc/rooms"
)

// Server is an in-process NATS server with JetStream, stopped when the test ends.
type Server struct {
	*natstest.Server
	t testing.TB
}

// Start starts a Server.
func Start(t testing.TB) *Server {
	t.Helper()
	return &Server{Server: natstest.Start(t, "roomstest"), t: t}
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
