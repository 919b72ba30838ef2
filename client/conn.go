package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// MaxReply bounds one reply the client accepts. A `vars` reply lists up to 100 variables of
// up to 4300 digits each, so this leaves ample room while still bounding memory.
const MaxReply = 4 << 20

// Conn is one session with a server: lines go out, reply lines come back in order.
// Send and Flush may be called from one goroutine while Recv is called from another.
type Conn interface {
	// Send queues one line (without its newline) for the server.
	Send(line string) error
	// Flush pushes queued lines to the server.
	Flush() error
	// Recv returns the next reply line. When the server ends the session it returns a
	// *ClosedError (with the WebSocket close code and reason, if any).
	Recv() (string, error)
	// CloseWrite tells the server that no more lines will come. It reports whether the
	// server will then close the session once the pending replies are sent (true for TCP,
	// whose half-close the server treats as end of input); otherwise the caller must count
	// the replies it expects.
	CloseWrite() (drains bool, err error)
	// Close ends the session, normally.
	Close() error
	// String names the endpoint, e.g. "tcp 127.0.0.1:10000".
	String() string
}

// ClosedError reports that the server ended the session. Code and Reason are the WebSocket
// close status and reason; Code is 0 for TCP.
type ClosedError struct {
	Code   int
	Reason string
}

func (e *ClosedError) Error() string {
	s := "connection closed by the server"
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Code != 0 {
		s += fmt.Sprintf(" (WebSocket status %d)", e.Code)
	}
	return s
}

// Normal reports whether the server closed the session in the ordinary way (TCP EOF or
// WebSocket 1000), as it does after quit or at the end of input.
func (e *ClosedError) Normal() bool {
	return e.Code == 0 || e.Code == int(websocket.StatusNormalClosure)
}

// DialTCP connects to a TCP line-protocol server.
func DialTCP(ctx context.Context, addr string) (Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &tcpConn{c: c.(*net.TCPConn), r: bufio.NewReader(c), w: bufio.NewWriter(c), addr: addr}, nil
}

type tcpConn struct {
	c    *net.TCPConn
	r    *bufio.Reader
	w    *bufio.Writer
	addr string
}

func (t *tcpConn) String() string { return "tcp " + t.addr }

func (t *tcpConn) Send(line string) error {
	t.w.WriteString(line)
	return t.w.WriteByte('\n')
}

func (t *tcpConn) Flush() error { return t.w.Flush() }

func (t *tcpConn) Recv() (string, error) {
	var line []byte
	for {
		chunk, err := t.r.ReadSlice('\n')
		if len(line)+len(chunk) > MaxReply {
			return "", fmt.Errorf("reply longer than %d bytes", MaxReply)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return string(line), nil // a last reply without its newline
		case errors.Is(err, io.EOF), isReset(err):
			return "", &ClosedError{}
		default:
			return "", err
		}
	}
}

// isReset reports a connection reset, which is how a server that closes with unread input
// (after quit, say) ends the session as seen from the client.
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection reset")
}

func (t *tcpConn) CloseWrite() (bool, error) {
	if err := t.w.Flush(); err != nil {
		return true, err
	}
	return true, t.c.CloseWrite()
}

func (t *tcpConn) Close() error { return t.c.Close() }

// WSURL turns what a user types into the URL of the /ws endpoint: a ws:// or wss:// URL is
// kept, http(s):// becomes ws(s)://, and a bare host:port gets ws:// and the path /ws.
func WSURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("unsupported scheme %q in %q (want ws:// or wss://)", u.Scheme, s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("no host in %q", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	return u.String(), nil
}

// DialWS connects to the WebSocket endpoint in its plain text mode (no subprotocol): each
// line is one text message and each reply one text message. No Origin header is sent, which
// a same-origin server accepts: only browsers, which always send one, are checked.
func DialWS(ctx context.Context, rawURL string) (Conn, error) {
	u, err := WSURL(rawURL)
	if err != nil {
		return nil, err
	}
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		if strings.Contains(err.Error(), "malformed HTTP") {
			// The other way round from HTTPError: a line-protocol port, say.
			return nil, fmt.Errorf("%s did not answer in HTTP, so it is no WebSocket endpoint; for wscalc's line protocol use -tcp (%w)", u, err)
		}
		return nil, err
	}
	c.SetReadLimit(MaxReply)
	return &wsConn{c: c, url: u}, nil
}

type wsConn struct {
	c   *websocket.Conn
	url string

	mu     sync.Mutex // serialises Close with itself
	closed bool
}

func (w *wsConn) String() string { return "websocket " + w.url }

// Send writes the line as one text message at once: a WebSocket message is already a unit,
// so there is nothing to batch.
func (w *wsConn) Send(line string) error {
	return w.c.Write(context.Background(), websocket.MessageText, []byte(line))
}

func (w *wsConn) Flush() error { return nil }

func (w *wsConn) Recv() (string, error) {
	typ, p, err := w.c.Read(context.Background())
	if err != nil {
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return "", &ClosedError{Code: int(ce.Code), Reason: ce.Reason}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return "", &ClosedError{Code: int(websocket.StatusAbnormalClosure), Reason: "no close frame"}
		}
		return "", err
	}
	if typ != websocket.MessageText {
		return "", errors.New("server sent a binary message")
	}
	return string(p), nil
}

// CloseWrite does nothing: a WebSocket cannot be half-closed, so the caller counts replies.
func (w *wsConn) CloseWrite() (bool, error) { return false, nil }

func (w *wsConn) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.c.Close(websocket.StatusNormalClosure, "")
}
