package client

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/hub"
	"wscalc/tcp"
	"wscalc/ws"
)

// testServer is wscalc's own TCP line server and WebSocket handler, in-process on loopback.
type testServer struct {
	TCP string // host:port
	WS  string // ws://host:port/ws

	tcp *tcp.Server
	ws  *ws.Handler
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	h := hub.New(hub.Options{})
	quiet := slog.New(slog.DiscardHandler)
	s := &testServer{
		tcp: &tcp.Server{Hub: h, Logger: quiet},
		ws:  ws.New(ws.Options{Hub: h, Logger: quiet}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.TCP = l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- s.tcp.Serve(l) }()
	mux := http.NewServeMux()
	mux.Handle("/ws", s.ws)
	hs := httptest.NewServer(mux)
	s.WS = "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	t.Cleanup(func() {
		s.tcp.Close()
		s.ws.Close()
		hs.Close()
		if err := <-served; !errors.Is(err, tcp.ErrServerClosed) {
			t.Errorf("tcp Serve: %v", err)
		}
	})
	return s
}

// shutdown stops the servers gracefully, as SIGTERM does: in-flight lines are answered,
// then TCP sessions get "Error: server shutting down" and WebSocket sessions close 1001.
func (s *testServer) shutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.tcp.Shutdown(ctx))
	require.NoError(t, s.ws.Shutdown(ctx))
}
