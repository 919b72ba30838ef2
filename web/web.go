package web

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"wscalc/calc"
	"wscalc/metrics"
	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
	"wscalc/wire"
)

// Config is what the router serves. Every field is optional: a nil handler leaves its route
// out (404), so tests can build just the part they exercise.
type Config struct {
	// Assets are the playground files, index.html at the root; GET / serves index.html.
	Assets fs.FS
	// WS serves GET /ws. No middleware that buffers or times out responses wraps it, so the
	// upgrade and the hijacked connection are untouched.
	WS http.Handler
	// Presence records the requests refused (transport "http", and "ws" for /ws). Required.
	Presence *presence.Presence
	// Sched gates and counts the /api/eval evaluations (transport "http"). Required.
	Sched *sched.Scheduler
	// Metrics serves GET /metrics (a promhttp handler).
	Metrics http.Handler
	// HTTPMetrics, if not nil, records every request by route pattern, method and status
	// (wscalc_http_requests_total, wscalc_http_request_duration_seconds).
	HTTPMetrics *metrics.Metrics
	// Ready reports whether the instance can serve: it has joined its cluster and can use
	// it (rooms.md §8); /readyz answers 503 "not ready" while it is false. Nil means always.
	Ready func() bool
	// Draining reports whether shutdown has begun; /readyz answers 503 "draining" once it
	// is true. Nil means never.
	Draining func() bool
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
	// Rooms answer GET /api/rooms/NAME; nil: 503 rooms unavailable.
	Rooms *session.Rooms
	// Logger receives one line per request and handler panics; nil discards them.
	Logger *slog.Logger
}

// New returns the router for cfg, or an error if cfg lacks a dependency.
func New(cfg Config) (http.Handler, error) {
	if err := session.Require(cfg.Presence, cfg.Sched); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	if cfg.Draining == nil {
		cfg.Draining = func() bool { return false }
	}

	r := chi.NewRouter()
	// The metrics and the logger go first so that they see every answer, the 500 that
	// recoverer writes included, and recoverer reports panics through the logger's entry
	// (slog) instead of printing to stderr.
	r.Use(cfg.HTTPMetrics.HTTPMiddleware(routeLabel(r), func(r *http.Request) bool { return r.URL.Path == "/ws" }))
	r.Use(middleware.RequestLogger(requestLogger{cfg.Logger}))
	r.Use(recoverer)
	r.Use(securityHeaders)
	r.Use(refuseOverLimit(cfg.Presence, cfg.WS != nil))
	r.Use(middleware.GetHead)

	mountSessions(r, cfg)
	mountProbes(r, cfg)

	if cfg.Assets != nil {
		mountAssets(r, loadAssets(cfg.Assets, cfg.Logger))
	}
	// Every answer that is not 200 is the API's error object, 404 and 405 too.
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed(r))
	return r, nil
}

// mountSessions mounts what evaluates: /ws (if cfg.WS) and /api/eval, both refused with 403
// for a Host the host policy does not allow.
func mountSessions(r chi.Router, cfg Config) {
	hosts := newHostPolicy(cfg.ListenAddr, cfg.AllowHosts)
	if cfg.WS != nil {
		r.With(checkHost(hosts, cfg.Presence, presence.WS), errorObjects).Get("/ws", cfg.WS.ServeHTTP)
	}
	a := newAPI(cfg.Sched, cfg.Limits)
	api := r.With(checkHost(hosts, cfg.Presence, presence.HTTP))
	api.Get("/api/eval", a.serveGET)
	api.Post("/api/eval", a.servePOST)
	api.Get("/api/rooms/{name}", roomInfo(cfg.Rooms))
}

// mountProbes mounts what operators and load balancers ask: /healthz, /readyz and, if
// cfg.Metrics, /metrics.
func mountProbes(r chi.Router, cfg Config) {
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case cfg.Draining():
			writeText(w, http.StatusServiceUnavailable, "draining")
		case !cfg.Ready():
			writeText(w, http.StatusServiceUnavailable, "not ready")
		default:
			writeText(w, http.StatusOK, "ready")
		}
	})
	if cfg.Metrics != nil {
		r.Get("/metrics", cfg.Metrics.ServeHTTP)
	}
}

// notFound answers a path that no route serves.
func notFound(w http.ResponseWriter, r *http.Request) {
	msg := "not found"
	if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api" {
		msg = "not found: the API is /api/eval (GET /api/eval?expr=1%2B2, or POST)"
	}
	writeJSON(w, http.StatusNotFound, wire.NewError(nil, "", errors.New(msg)))
}

// allowMethods are the methods that methodNotAllowed checks a path for.
var allowMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// methodNotAllowed answers a method that the path's route does not serve, with the
// methods it does in Allow (HEAD wherever GET is: middleware.GetHead serves it).
func methodNotAllowed(mux *chi.Mux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range allowMethods {
			find := m
			if m == http.MethodHead {
				find = http.MethodGet
			}
			if mux.Find(chi.NewRouteContext(), find, routePath(r)) != "" {
				allowed = append(allowed, m)
			}
		}
		for _, m := range allowed {
			w.Header().Add("Allow", m)
		}
		msg := fmt.Sprintf("method %s is not allowed here", r.Method)
		if len(allowed) > 0 {
			msg += "; use " + strings.Join(allowed, ", ")
		}
		writeJSON(w, http.StatusMethodNotAllowed, wire.NewError(nil, "", errors.New(msg)))
	}
}

// routePath is the path chi routes r by.
func routePath(r *http.Request) string {
	if r.URL.RawPath != "" {
		return r.URL.RawPath
	}
	if r.URL.Path == "" {
		return "/"
	}
	return r.URL.Path
}

// routeLabel returns the metrics' route label of a request once it has been answered:
// the pattern of the route that served it (/api/eval, /app.js), or of the route its path
// belongs to when it was answered before routing (a 429) or with a 405; UnmatchedRoute
// for a path no route serves. Never the raw path, so the series stay few.
func routeLabel(mux *chi.Mux) func(*http.Request) string {
	return func(r *http.Request) string {
		if p := chi.RouteContext(r.Context()).RoutePattern(); p != "" {
			return p
		}
		for _, m := range allowMethods {
			if p := mux.Find(chi.NewRouteContext(), m, routePath(r)); p != "" {
				return p
			}
		}
		return metrics.UnmatchedRoute
	}
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
