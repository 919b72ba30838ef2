package ws

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/presence"
	"wscalc/session"
	"wscalc/wire"
)

const (
	// jsonOverhead is the room left in the read limit for the JSON request around the line:
	// {"id": …, "expr": "…"} with an id of reasonable length.
	jsonOverhead = 256
	// maxEscapeGrowth is how many bytes JSON may spend on one byte of a line (\u00XX).
	maxEscapeGrowth = 6
	// libraryWriteBuf is the size of the library's write buffer: room for a frame header
	// and a typical text reply, so that most messages reach batchConn in one piece.
	libraryWriteBuf = 128
	// presenceInterval is the shortest time between two presence pushes to one session.
	presenceInterval = time.Second / 4
)

// Config configures a Handler.
type Config struct {
	// Session is what every session shares: Presence and Sched are required (sessions join
	// presence as transport presence.WS, evaluate through the scheduler and read the
	// presence counts for the pushes); the zero limits and timeouts take session's
	// defaults. The write timeout bounds every write to a client (replies, pushes, pings):
	// a client that stops reading is disconnected instead of pinning its session forever.
	Session session.Config
	// PingInterval is the time between pings; <= 0 means session.DefaultPingInterval.
	PingInterval time.Duration
	// OriginPatterns are extra allowed origins (coder/websocket AcceptOptions.OriginPatterns
	// syntax: a host pattern such as "example.com" or "*.example.com", or a pattern with a
	// scheme such as "https://example.com"). Same-origin requests are always allowed.
	// Patterns that allow every origin are dropped (see the package documentation).
	OriginPatterns []string
	// Version is sent in the JSON hello.
	Version string
	// TCPAddr, the line protocol's host:port, is sent in the JSON hello; empty when it is off.
	TCPAddr string
}

// Handler serves WebSocket sessions. Create it with New; it is an http.Handler.
type Handler struct {
	cfg       Config // with the defaults filled in
	accept    websocket.AcceptOptions
	readLimit int64
	evalHook  func(line string) // tests only: runs before each evaluation

	// ctx is the server lifetime that every session context derives from.
	ctx    context.Context
	cancel context.CancelFunc

	// sessions decides when the sessions end because the server stops (Shutdown, Close).
	sessions session.Group

	mu        sync.Mutex
	listeners map[*conn]struct{} // JSON sessions: presence is pushed to them
	presence  chan struct{}      // closed when the presence goroutine ends; nil before it starts
}

// New returns a Handler for cfg, or an error if cfg lacks a dependency.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Session.Prepare(presence.WS); err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = session.DefaultPingInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Handler{
		cfg: cfg,
		accept: websocket.AcceptOptions{
			Subprotocols:    []string{wire.Subprotocol},
			OriginPatterns:  originPatterns(cfg.OriginPatterns, cfg.Session.Logger),
			CompressionMode: websocket.CompressionDisabled,
		},
		readLimit: readLimit(cfg.Session.Limits),
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[*conn]struct{}),
	}, nil
}

// readLimit is the largest message a session reads: the longest line the core accepts,
// fully JSON-escaped, plus the request around it.
func readLimit(l calc.Limits) int64 {
	return int64(l.WithDefaults().MaxLineBytes)*maxEscapeGrowth + jsonOverhead
}

// ServeHTTP upgrades the request and starts the session. The session runs on a goroutine
// of its own and ServeHTTP returns at once, so that net/http releases the request, its
// headers and the connection state it keeps for the handler (the session needs none of
// them): an idle session holds only what it uses.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.sessions.Enter() {
		h.cfg.Session.Presence.Reject(presence.WS, "shutdown")
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	rec := &hijackRecorder{ResponseWriter: w, writeTimeout: h.cfg.Session.WriteTimeout}
	conn, err := websocket.Accept(rec, r, &h.accept)
	if err != nil {
		h.sessions.Leave(nil)
		h.refused(r, rec.status, err)
		return
	}
	conn.SetReadLimit(h.readLimit)

	s := newConn(h, conn, rec.conn, rec.batch, r.RemoteAddr)
	if h.cfg.Session.Rooms != nil {
		q := r.URL.Query()
		s.urlJoin, s.urlRefusal = session.ParseURLJoin(q.Get("room"), q.Get("nick"), q.Get("epoch"), q.Get("since"), q.Has("epoch"), q.Has("since"))
	}
	if ac := admission.FromContext(r.Context()); ac.Refused() {
		s.perAddressLimit = ac.Limit() // run refuses it
	}
	if !h.sessions.Track(s) {
		s.sess.Cancel()
		conn.CloseNow()
		h.sessions.Leave(s)
		return
	}
	go func() {
		defer h.sessions.Leave(s)
		defer func() {
			// run recovers its own panics once the session has started; this is for a bug
			// before that, which must not take the process down either.
			if s.sess.Recovered(recover()) {
				s.forceClose(session.ReasonInternal)
			}
		}()
		s.run()
	}()
}

// refused records a handshake that Accept refused (and has answered already): a foreign
// origin (403) is counted and logged as a warning, anything else logged for debugging.
func (h *Handler) refused(r *http.Request, status int, err error) {
	if status == http.StatusForbidden {
		h.cfg.Session.Presence.Reject(presence.WS, "origin")
		h.cfg.Session.Logger.Warn("websocket refused: origin not allowed", "transport", presence.WS,
			"remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
		return
	}
	h.cfg.Session.Logger.Debug("websocket handshake failed", "transport", presence.WS, "remote", r.RemoteAddr, "err", err)
}

// listen subscribes a JSON session to presence changes, starting the presence goroutine
// on first use.
func (h *Handler) listen(s *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.presence == nil {
		changes, unsubscribe := h.cfg.Session.Presence.Subscribe()
		h.presence = make(chan struct{})
		go h.fanOut(changes, unsubscribe, h.presence)
	}
	h.listeners[s] = struct{}{}
}

func (h *Handler) unlisten(s *conn) {
	h.mu.Lock()
	delete(h.listeners, s)
	h.mu.Unlock()
}

// fanOut tells every JSON session when the counts change (each then schedules its own
// push), until the Handler's lifetime ends. One goroutine per Handler instead of one per
// session.
func (h *Handler) fanOut(changes <-chan struct{}, unsubscribe func(), done chan struct{}) {
	defer close(done)
	defer unsubscribe()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-changes:
			h.mu.Lock()
			for s := range h.listeners {
				s.out.Changed()
			}
			h.mu.Unlock()
		}
	}
}

// end ends the Handler's lifetime and waits for the presence goroutine. Every session
// has ended (or been dropped) by then.
func (h *Handler) end() {
	h.cancel()
	h.mu.Lock()
	presence := h.presence
	h.mu.Unlock()
	if presence != nil {
		<-presence
	}
}

// Shutdown refuses new sessions, lets every session answer the messages that have reached
// the server (see the package documentation), then closes each with 1001 "server shutting
// down" and waits for the session goroutines to finish. If ctx ends first it returns
// ctx.Err(); as with http.Server.Shutdown, the sessions left are then still open: call
// Close to close them.
func (h *Handler) Shutdown(ctx context.Context) error {
	if err := h.sessions.Shutdown(ctx); err != nil {
		return err
	}
	h.end()
	return nil
}

// Close closes every session at once, without a close handshake, and waits for the
// session goroutines to finish.
func (h *Handler) Close() error {
	h.sessions.Close()
	h.end()
	return nil
}

// hijackRecorder lets the Handler see what Accept did with the response: the status it
// refused the handshake with (403 means a foreign origin) and the hijacked connection,
// which is the only way to drop a session whose close handshake hangs. It also puts a
// batchConn under the library.
type hijackRecorder struct {
	http.ResponseWriter
	writeTimeout time.Duration
	status       int
	conn         net.Conn
	batch        *batchConn // wraps conn; what the library reads and writes
}

func (w *hijackRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	w.conn = c
	w.batch = newBatchConn(c, w.writeTimeout)
	// The library writes every message through brw.Writer and flushes it at once; the
	// batch is the real buffer, so a small one will do instead of net/http's 4 KiB.
	brw.Writer = bufio.NewWriterSize(w.batch, libraryWriteBuf)
	return w.batch, brw, nil
}
