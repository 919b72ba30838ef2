package web

import (
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"wscalc/calc"
	"wscalc/hub"
)

// Config is what the router serves. Every field is optional: a nil handler leaves its route
// out (404), so tests can build just the part they exercise.
type Config struct {
	// Assets are the playground files, index.html at the root; GET / serves index.html.
	Assets fs.FS
	// WS serves GET /ws. No middleware that buffers or times out responses wraps it, so the
	// upgrade and the hijacked connection are untouched.
	WS http.Handler
	// Hub gates and counts /api/eval evaluations (transport "http"); nil uses a private hub
	// without metrics.
	Hub *hub.Hub
	// Metrics serves GET /metrics (a promhttp handler).
	Metrics http.Handler
	// Ready reports whether the server takes new work; /readyz answers 503 once it is
	// false (draining). Nil means always ready.
	Ready func() bool
	// Limits apply to each /api/eval session; zero fields take calc's defaults.
	Limits calc.Limits
	// ListenAddr is the HTTP server's address. When it is a loopback address, /ws and
	// /api/eval answer only requests for a loopback Host name (localhost, a loopback IP,
	// any port) or one of AllowHosts, and refuse others with 403: DNS rebinding protection
	// (see hosts.go). Nil: every Host is answered.
	ListenAddr net.Addr
	// AllowHosts are more Host names /ws and /api/eval answer on a loopback listener:
	// "example.com" (any port), "example.com:8080", "*.example.com" (see CheckHostPattern).
	AllowHosts []string
	// Logger receives one line per request and handler panics; nil discards them.
	Logger *slog.Logger
}

// New returns the router for cfg.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Hub == nil {
		cfg.Hub = hub.New(hub.Options{})
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}

	r := chi.NewRouter()
	// The logger goes first so that it sees the 500 that Recoverer writes, and Recoverer
	// reports panics through the logger's entry (slog) instead of printing to stderr.
	r.Use(middleware.RequestLogger(requestLogger{cfg.Logger}))
	r.Use(middleware.Recoverer)
	r.Use(securityHeaders)
	r.Use(refuseOverLimit(cfg.Hub, cfg.WS != nil))
	r.Use(middleware.GetHead)

	hosts := newHostPolicy(cfg.ListenAddr, cfg.AllowHosts)
	if cfg.WS != nil {
		r.With(checkHost(hosts, cfg.Hub, hub.WS)).Get("/ws", cfg.WS.ServeHTTP)
	}

	a := newAPI(cfg.Hub, cfg.Limits)
	api := r.With(checkHost(hosts, cfg.Hub, hub.HTTP))
	api.Get("/api/eval", a.serveGET)
	api.Post("/api/eval", a.servePOST)

	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !cfg.Ready() {
			writeText(w, http.StatusServiceUnavailable, "draining")
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
	if cfg.Metrics != nil {
		r.Get("/metrics", cfg.Metrics.ServeHTTP)
	}

	if cfg.Assets != nil {
		mountAssets(r, loadAssets(cfg.Assets, cfg.Logger))
	}
	return r
}

// writeText answers a probe: a short plain-text word that scripts and humans can read, never
// cached so a probe always sees the current state.
func writeText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, text+"\n")
}
