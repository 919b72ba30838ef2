package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/presence"
	"wscalc/wire"
)

// securityHeaders sets the headers that confine the playground on every response (errors
// included, since a 404 page is a page too). The policy allows only this origin's files, no
// inline script or style (the playground has none), and WebSocket connections back to the
// host the page was loaded from: 'self' in connect-src does not cover ws: and wss: in every
// browser, so the page's own ws:// and wss:// origins are named explicitly.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy(r.Host))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// refuseOverLimit answers a request that arrived on a connection whose address holds too
// many connections already (admission, -max-conns-per-ip) with 429 and the error object of
// the API, and closes the connection after it. A WebSocket handshake (if ws) goes on to the
// WebSocket handler, which accepts it and closes it with 1013 and the same reason, so that
// a browser can say why.
func refuseOverLimit(p *presence.Presence, ws bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ac := admission.FromContext(r.Context())
			if !ac.Refused() || ws && r.URL.Path == "/ws" && isUpgrade(r) {
				next.ServeHTTP(w, r)
				return
			}
			p.Reject(presence.HTTP, "per_ip")
			w.Header().Set("Connection", "close")
			writeJSON(w, http.StatusTooManyRequests, wire.NewError(nil, "", &calc.Error{Msg: admission.Reason(ac.Limit())}))
		})
	}
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// contentSecurityPolicy builds the policy for a page served to host (the request's Host).
func contentSecurityPolicy(host string) string {
	connect := "'self'"
	if safeHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return "default-src 'self'; connect-src " + connect +
		"; img-src 'self' data:; style-src 'self'; script-src 'self'" +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// safeHost reports whether host can be copied into the policy as a source expression. The
// Host header is the client's to choose; a value with ';', ',', quotes or spaces could add
// directives, so anything but a plain host[:port] or [v6]:port leaves only 'self'.
func safeHost(host string) bool {
	if host == "" || len(host) > 261 {
		return false
	}
	for _, c := range []byte(host) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// requestLogger is chi's RequestLogger formatter on top of slog: one line per request with
// method, path (never the query string: GET /api/eval carries expressions there), status,
// size and duration. Probes are logged at debug level so that a load balancer polling
// /readyz does not drown the session lines.
type requestLogger struct{ log *slog.Logger }

func (l requestLogger) NewLogEntry(r *http.Request) middleware.LogEntry {
	return &logEntry{log: l.log, method: r.Method, path: r.URL.Path, remote: r.RemoteAddr}
}

type logEntry struct {
	log                  *slog.Logger
	method, path, remote string
	quiet                bool // logged at debug level (see logQuietly)
}

// logQuietly lowers r's request log line to debug level: for the playground's files, which
// every page load fetches several of, so that they do not drown the API and session lines.
func logQuietly(r *http.Request) {
	if e, ok := middleware.GetLogEntry(r).(*logEntry); ok {
		e.quiet = true
	}
}

func (e *logEntry) Write(status, bytes int, _ http.Header, elapsed time.Duration, _ any) {
	if status == 0 {
		status = http.StatusOK // the handler wrote nothing: net/http sends 200
	}
	level := slog.LevelInfo
	switch {
	case e.path == "/readyz" && status == http.StatusServiceUnavailable:
		// Draining, as it should (-drain-delay): a load balancer polls it many times.
		level = slog.LevelDebug
	case status >= 500:
		level = slog.LevelWarn
	case e.quiet && status < 400:
		level = slog.LevelDebug
	case e.path == "/healthz" || e.path == "/readyz" || e.path == "/metrics":
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, "http request",
		"method", e.method, "path", e.path, "status", status, "bytes", bytes,
		"duration", elapsed, "remote", e.remote)
}

// recoverer turns a handler's panic into a 500 with the API's error object (unless the
// connection was being upgraded to a WebSocket), and logs it with its stack through the
// request's log entry, as chi's middleware.Recoverer does with an empty body.
// http.ErrAbortHandler is passed on: it is net/http's way to abort a reply on purpose.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			if e := middleware.GetLogEntry(r); e != nil {
				e.Panic(v, debug.Stack())
			}
			if !isUpgrade(r) {
				writeJSON(w, http.StatusInternalServerError, wire.NewError(nil, "", errors.New("internal error")))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Panic is called by recoverer with the recovered value and the stack.
func (e *logEntry) Panic(v any, stack []byte) {
	e.log.Error("http handler panic", "method", e.method, "path", e.path,
		"panic", fmt.Sprint(v), "stack", string(stack))
}

// errorObjects makes a handler's error replies (status 400 and up) the API's error
// object: it holds back the status and the plain-text body the handler writes (http.Error)
// and, once the handler returns, answers the same status with the text as the message.
// For /ws, whose handshake failures the WebSocket library and handler answer in plain
// text. Everything else, the 101 and the hijacked connection included, passes through.
func errorObjects(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ew := &errorWriter{ResponseWriter: w}
		next.ServeHTTP(ew, r)
		if ew.status == 0 {
			return
		}
		msg := strings.TrimSpace(ew.body.String())
		if msg == "" {
			msg = strings.ToLower(http.StatusText(ew.status))
		}
		if ew.status == http.StatusUpgradeRequired {
			msg = "/ws is the WebSocket endpoint: connect with a WebSocket client (" + msg + ")"
		}
		writeJSON(w, ew.status, wire.NewError(nil, "", errors.New(msg)))
	})
}

// errorWriter is errorObjects' ResponseWriter: it keeps an error status and its body.
type errorWriter struct {
	http.ResponseWriter
	status int          // an error status held back; 0 while there is none
	body   bytes.Buffer // what the handler wrote after it, up to a few KiB
}

func (w *errorWriter) WriteHeader(status int) {
	if status >= 400 && w.status == 0 {
		w.status = status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *errorWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		return w.ResponseWriter.Write(p)
	}
	if room := 4096 - w.body.Len(); room > 0 {
		w.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Hijack hands the connection to the WebSocket handler.
func (w *errorWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the writers underneath (deadlines, flushes).
func (w *errorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
