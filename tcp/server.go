package tcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"wscalc/admission"
	"wscalc/presence"
	"wscalc/session"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("tcp: Server closed")

// Config configures a Server.
type Config struct {
	// Session is what every session shares: Presence and Sched are required, the zero
	// limits and timeouts take session's defaults.
	Session session.Config
	// HTTPAddr is the address of the HTTP server, named in the reply to a client that
	// speaks HTTP to this port.
	HTTPAddr string

	stackReset time.Duration // tests only: replaces the constant stackReset when > 0
}

// Server serves the line protocol. Create it with New. A Server must not be copied.
type Server struct {
	cfg Config // with the defaults filled in

	// sessions decides when the sessions end because the server stops (Shutdown, Close).
	sessions session.Group

	mu        sync.Mutex
	listeners map[*onceCloseListener]struct{}
	addr      net.Addr
	shutting  bool          // Shutdown or Close was called: accept nothing more
	quit      chan struct{} // closed when shutting becomes true
}

// New returns a Server for cfg, or an error if cfg lacks a dependency.
func New(cfg Config) (*Server, error) {
	if err := cfg.Session.Prepare(presence.TCP); err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	if cfg.stackReset <= 0 {
		cfg.stackReset = stackReset
	}
	return &Server{cfg: cfg, quit: make(chan struct{})}, nil
}

// Serve accepts connections on l and serves each in its own goroutine. It blocks until l
// fails or the server is shut down, and returns ErrServerClosed after Shutdown or Close.
// Serve closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	ol := &onceCloseListener{Listener: l}
	defer ol.Close()
	if !s.trackListener(ol) {
		return ErrServerClosed
	}
	defer s.untrackListener(ol)

	var delay time.Duration // backoff after temporary accept errors, as net/http does
	for {
		rw, err := ol.Accept()
		if err != nil {
			if s.isShutting() {
				return ErrServerClosed
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.cfg.Session.Logger.Warn("tcp accept error; retrying", "err", err, "delay", delay)
				if !s.sleep(delay) {
					return ErrServerClosed
				}
				continue
			}
			return err
		}
		delay = 0
		s.start(rw)
	}
}

// start begins the session of an accepted connection, or refuses it.
func (s *Server) start(rw net.Conn) {
	if !s.sessions.Enter() {
		// Shutdown began between Accept and here: the listener is closed and the next
		// Accept fails. This connection never got to send a request.
		rw.Close()
		s.cfg.Session.Presence.Reject(presence.TCP, "shutdown")
		return
	}
	c := s.newConn(rw)
	if !s.sessions.Track(c) { // Close, just now
		rw.Close()
		s.sessions.Leave(c)
		return
	}
	if ac := admission.Of(rw); ac.Refused() {
		c.refuse(ac.Limit())
		return
	}
	c.begin()
}

// Shutdown stops accepting connections, lets every session answer the lines it has
// already received, sends each "Error: server shutting down" and closes them. It returns
// nil once all connections are closed, or ctx.Err() when ctx expires first; as with
// http.Server.Shutdown, the sessions left are then still open: call Close to close them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.beginShutdownLocked()
	s.mu.Unlock()
	return s.sessions.Shutdown(ctx)
}

// Close closes the listeners and every connection immediately, without goodbyes, and waits
// for the session goroutines, which end as soon as their reads and writes fail.
func (s *Server) Close() error {
	s.mu.Lock()
	err := s.beginShutdownLocked()
	s.mu.Unlock()
	s.sessions.Close()
	return err
}

// Addr returns the address of the listener most recently given to Serve, or nil before.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// beginShutdownLocked marks the server as shutting down and closes its listeners.
func (s *Server) beginShutdownLocked() error {
	if !s.shutting {
		s.shutting = true
		close(s.quit)
	}
	var err error
	for l := range s.listeners {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
		delete(s.listeners, l)
	}
	return err
}

func (s *Server) trackListener(l *onceCloseListener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[*onceCloseListener]struct{})
	}
	s.listeners[l] = struct{}{}
	s.addr = l.Addr()
	return true
}

func (s *Server) untrackListener(l *onceCloseListener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
}

func (s *Server) isShutting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutting
}

// sleep waits for d; false if the server started shutting down meanwhile.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.quit:
		return false
	}
}

// onceCloseListener lets Serve and Shutdown both close the listener without the second
// Close reporting an error.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
