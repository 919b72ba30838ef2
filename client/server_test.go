package client

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/presence"
	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/sched"
	wssession "wscalc/session"
	"wscalc/tcp"
	"wscalc/ws"
)

// testServer is wscalc's own TCP line server and WebSocket handler, in-process on loopback.
// It can be shut down and started again on the same ports, as a restarted server is.
type testServer struct {
	TCP  string // host:port
	HTTP string // host:port of the WebSocket endpoint's HTTP server
	WS   string // ws://host:port/ws

	rooms *wssession.Rooms // nil: a server without rooms

	mu   sync.Mutex
	tcp  *tcp.Server
	ws   *ws.Handler
	hs   *http.Server
	done chan struct{} // closed when both Serve calls have returned
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerWith(t, nil)
}

// startRoomServer is a testServer whose sessions have rooms, on a room log of their own.
func startRoomServer(t *testing.T) *testServer {
	t.Helper()
	d := wssession.NewRooms(roomstest.Start(t).Log(), rooms.RoomConfig{}, rooms.DefaultLimits())
	t.Cleanup(d.Close) // registered before the server's: runs after it has stopped
	return startServerWith(t, d)
}

func startServerWith(t *testing.T, d *wssession.Rooms) *testServer {
	t.Helper()
	s := &testServer{rooms: d}
	s.start(t, "127.0.0.1:0", "127.0.0.1:0")
	t.Cleanup(func() { s.stop(t) })
	return s
}

// start serves on the given addresses (port 0 picks one) and records the addresses.
func (s *testServer) start(t *testing.T, tcpAddr, httpAddr string) {
	t.Helper()
	sessions := wssession.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{}),
		Logger: slog.New(slog.DiscardHandler), Rooms: s.rooms}
	tl, err := listenRetry(tcpAddr)
	require.NoError(t, err)
	hl, err := listenRetry(httpAddr)
	require.NoError(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tcp, err = tcp.New(tcp.Config{Session: sessions})
	require.NoError(t, err)
	s.ws, err = ws.New(ws.Config{Session: sessions})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/ws", s.ws)
	s.hs = &http.Server{Handler: mux}
	s.TCP, s.HTTP = tl.Addr().String(), hl.Addr().String()
	s.WS = "ws://" + s.HTTP + "/ws"
	s.done = make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.tcp.Serve(tl); !errors.Is(err, tcp.ErrServerClosed) {
			t.Errorf("tcp Serve: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := s.hs.Serve(hl); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("http Serve: %v", err)
		}
	}()
	go func() { wg.Wait(); close(s.done) }()
}

// listenRetry listens on addr, retrying for a while if a just-closed listener still holds
// the port.
func listenRetry(addr string) (net.Listener, error) {
	var l net.Listener
	var err error
	for range 50 {
		if l, err = net.Listen("tcp", addr); err == nil {
			return l, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}

// shutdown stops the servers gracefully, as SIGTERM does: in-flight lines are answered,
// then TCP sessions get "Error: server shutting down" and WebSocket sessions close 1001.
func (s *testServer) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NoError(t, s.tcp.Shutdown(ctx))
	require.NoError(t, s.ws.Shutdown(ctx))
	require.NoError(t, s.hs.Shutdown(ctx))
	<-s.done
}

// restart starts the servers again on the same ports, after shutdown.
func (s *testServer) restart(t *testing.T) {
	t.Helper()
	s.start(t, s.TCP, s.HTTP)
}

func (s *testServer) stop(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tcp.Close()
	s.ws.Close()
	s.hs.Close()
	<-s.done
}
