package scenario

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Target is the server under attack.
type Target struct {
	TCP  string // line protocol, host:port
	HTTP string // HTTP (/ws, /api/eval, /readyz), host:port
	PID  int    // the server process, for RSS and SIGTERM; 0 when unknown
}

// The transports a client may use.
const (
	TCP  = "tcp"
	WS   = "ws"
	HTTP = "http"
)

// maxReply bounds one reply a client accepts (a `vars` listing may be large).
const maxReply = 4 << 20

// Session is one client session: a TCP line-protocol connection, a WebSocket in text mode,
// or (for HTTP) a client that makes one /api/eval request per line.
type Session interface {
	// Eval sends line and returns the reply's display text. For HTTP a status other than
	// 200 or 422 is returned as "HTTP <status>: <display or body>".
	Eval(ctx context.Context, line string) (string, error)
	Close() error
}

// dialer returns a net.Dialer bound to the source address local ("" = any).
func dialer(local string) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	return d
}

// Dial opens a session of the given transport from the source address local ("" = any).
func Dial(ctx context.Context, t Target, transport, local string) (Session, error) {
	switch transport {
	case TCP:
		return DialTCP(ctx, t.TCP, local)
	case WS:
		c, err := DialWS(ctx, t.HTTP, local, false)
		if err != nil {
			return nil, err
		}
		return c, nil
	case HTTP:
		return NewHTTPSession(t.HTTP, local), nil
	}
	return nil, fmt.Errorf("unknown transport %q", transport)
}

// TCPSession is a line-protocol connection.
type TCPSession struct {
	c net.Conn
	r *bufio.Reader
}

// DialTCP connects to the line protocol at addr from the source address local.
func DialTCP(ctx context.Context, addr, local string) (*TCPSession, error) {
	c, err := dialer(local).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &TCPSession{c: c, r: bufio.NewReader(c)}, nil
}

// Conn is the underlying connection.
func (s *TCPSession) Conn() net.Conn { return s.c }

// withDeadline applies ctx's deadline to the connection and interrupts it when ctx is
// cancelled; the returned function undoes both.
func withDeadline(ctx context.Context, c net.Conn) func() {
	d, _ := ctx.Deadline()
	_ = c.SetDeadline(d)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return func() { stop(); _ = c.SetDeadline(time.Time{}) }
}

// Send writes lines, each followed by a newline, in one write.
func (s *TCPSession) Send(ctx context.Context, lines ...string) error {
	defer withDeadline(ctx, s.c)()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(s.c, b.String())
	return err
}

// Recv reads one reply line (without its newline).
func (s *TCPSession) Recv(ctx context.Context) (string, error) {
	defer withDeadline(ctx, s.c)()
	var line []byte
	for {
		part, isPrefix, err := s.r.ReadLine()
		line = append(line, part...)
		if err != nil {
			return string(line), err
		}
		if len(line) > maxReply {
			return "", fmt.Errorf("reply longer than %d bytes", maxReply)
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

func (s *TCPSession) Eval(ctx context.Context, line string) (string, error) {
	if err := s.Send(ctx, line); err != nil {
		return "", err
	}
	return s.Recv(ctx)
}

func (s *TCPSession) Close() error { return s.c.Close() }

// WSSession is a WebSocket session, in text mode or in the JSON subprotocol.
type WSSession struct {
	c        *websocket.Conn
	jsonMode bool
	hello    string // the JSON mode's hello message
}

// DialWS opens ws://httpAddr/ws from the source address local; in JSON mode it reads the
// hello message first.
func DialWS(ctx context.Context, httpAddr, local string, jsonMode bool) (*WSSession, error) {
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer(local).DialContext}}
	opts := &websocket.DialOptions{HTTPClient: hc}
	if jsonMode {
		opts.Subprotocols = []string{"wscalc.v1.json"}
	}
	c, resp, err := websocket.Dial(ctx, "ws://"+httpAddr+"/ws", opts)
	hc.CloseIdleConnections()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &StatusError{Code: resp.StatusCode, Err: err}
		}
		return nil, err
	}
	c.SetReadLimit(maxReply)
	s := &WSSession{c: c, jsonMode: jsonMode}
	if jsonMode {
		m, err := s.RecvJSON(ctx)
		if err != nil {
			c.CloseNow()
			return nil, err
		}
		if m.Type != "hello" {
			c.CloseNow()
			return nil, fmt.Errorf("first message %q, want hello", m.Type)
		}
	}
	return s, nil
}

// StatusError is a WebSocket handshake that the server answered with another HTTP status.
type StatusError struct {
	Code int
	Err  error
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %v", e.Code, e.Err) }
func (e *StatusError) Unwrap() error { return e.Err }

// Conn is the underlying WebSocket.
func (s *WSSession) Conn() *websocket.Conn { return s.c }

// Send writes one text message.
func (s *WSSession) Send(ctx context.Context, msg string) error {
	return s.c.Write(ctx, websocket.MessageText, []byte(msg))
}

// Recv reads one text message.
func (s *WSSession) Recv(ctx context.Context) (string, error) {
	typ, b, err := s.c.Read(ctx)
	if err == nil && typ != websocket.MessageText {
		err = fmt.Errorf("%v message, want text", typ)
	}
	return string(b), err
}

// JSONReply is the part of a JSON-mode message the scenarios look at.
type JSONReply struct {
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id"`
	Display string          `json:"display"`
}

// RecvJSON reads the next JSON-mode message that is not a presence push.
func (s *WSSession) RecvJSON(ctx context.Context) (JSONReply, error) {
	for {
		b, err := s.Recv(ctx)
		if err != nil {
			return JSONReply{}, err
		}
		var m JSONReply
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			return JSONReply{}, fmt.Errorf("bad JSON %q: %v", b, err)
		}
		if m.Type != "clients" {
			return m, nil
		}
	}
}

// Eval sends one line and returns the reply's display (text mode, or JSON mode with id 0).
func (s *WSSession) Eval(ctx context.Context, line string) (string, error) {
	if !s.jsonMode {
		if err := s.Send(ctx, line); err != nil {
			return "", err
		}
		return s.Recv(ctx)
	}
	b, _ := json.Marshal(map[string]any{"id": 0, "expr": line})
	if err := s.Send(ctx, string(b)); err != nil {
		return "", err
	}
	m, err := s.RecvJSON(ctx)
	return m.Display, err
}

func (s *WSSession) Close() error { return s.c.CloseNow() }

// CloseStatus describes how a WebSocket read ended: "1001 server shutting down", or the
// error itself when there was no close frame.
func CloseStatus(err error) (code int, reason string) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code), ce.Reason
	}
	return -1, ""
}

// HTTPSession evaluates each line with GET /api/eval on its own keep-alive connection.
type HTTPSession struct {
	base string
	tr   *http.Transport
	c    *http.Client
}

// NewHTTPSession returns an /api/eval client whose connections come from local.
func NewHTTPSession(httpAddr, local string) *HTTPSession {
	tr := &http.Transport{DialContext: dialer(local).DialContext, MaxIdleConnsPerHost: 1,
		DisableCompression: true}
	return &HTTPSession{base: "http://" + httpAddr, tr: tr, c: &http.Client{Transport: tr}}
}

func (s *HTTPSession) Eval(ctx context.Context, line string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		s.base+"/api/eval?expr="+url.QueryEscape(line), nil)
	if err != nil {
		return "", err
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return "", err
	}
	var m JSONReply
	jerr := json.Unmarshal(body, &m)
	switch {
	case (resp.StatusCode == 200 || resp.StatusCode == 422) && jerr == nil:
		return m.Display, nil
	case jerr == nil && m.Display != "":
		return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, m.Display), nil
	}
	return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body))), nil
}

func (s *HTTPSession) Close() error {
	s.tr.CloseIdleConnections()
	return nil
}

// closeAll closes sessions concurrently (a WebSocket close may wait on its peer).
func closeAll(ss []Session) {
	var wg sync.WaitGroup
	for _, s := range ss {
		if s != nil {
			wg.Go(func() { _ = s.Close() })
		}
	}
	wg.Wait()
}
