package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

// SIGTERM with sessions open on every transport: the TCP client reads
// "Error: server shutting down" and then EOF; both WebSocket sessions (JSON and text) get
// close 1001 "server shutting down"; the process exits 0.
func TestShutdownTellsOpenSessions(t *testing.T) {
	defer goleak.VerifyNone(t)
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tcp := openTCPSession(ctx, t, s.TCPAddr)
	defer tcp.Close()
	wsJSON := openWSSession(ctx, t, s.WSURL(), true)
	defer wsJSON.CloseNow()
	wsText := openWSSession(ctx, t, s.WSURL(), false)
	defer wsText.CloseNow()

	// Read concurrently with the shutdown, as a real client would: the server's WebSocket
	// close handshake waits for the client's answer, which a reader gives.
	tcpRest := make(chan string, 1)
	go func() {
		rest, err := io.ReadAll(tcp)
		if err != nil {
			t.Errorf("TCP session: %v", err)
		}
		tcpRest <- string(rest)
	}()
	wsErrs := make(chan error, 2)
	for _, c := range []*websocket.Conn{wsJSON, wsText} {
		go func() { wsErrs <- readUntilClosed(ctx, c) }()
	}

	if code := s.Stop(t); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", code)
	}
	if got := <-tcpRest; got != "Error: server shutting down\n" {
		t.Errorf("TCP session after SIGTERM read %q, want %q then EOF", got, "Error: server shutting down\n")
	}
	for range 2 {
		code, reason := closeStatus(<-wsErrs)
		if code != websocket.StatusGoingAway || reason != "server shutting down" {
			t.Errorf("WebSocket closed with %d %q, want 1001 %q", code, reason, "server shutting down")
		}
	}
}

// openTCPSession connects and proves the session is live with one exchange.
func openTCPSession(ctx context.Context, t *testing.T, addr string) net.Conn {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "1 + 1\n"); err != nil {
		t.Fatalf("TCP write: %v", err)
	}
	// Read byte by byte so nothing after the reply is buffered away from the caller.
	line, err := bufio.NewReaderSize(oneByteReader{c}, 16).ReadString('\n')
	if err != nil || line != "2\n" {
		t.Fatalf("TCP reply to 1 + 1: %q, %v; want \"2\\n\"", line, err)
	}
	return c
}

// oneByteReader reads at most one byte per call.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }

// openWSSession connects (JSON subprotocol or text mode) and proves the session is live
// with one exchange.
func openWSSession(ctx context.Context, t *testing.T, url string, jsonMode bool) *websocket.Conn {
	t.Helper()
	var opts websocket.DialOptions
	if jsonMode {
		opts.Subprotocols = []string{"wscalc.v1.json"}
	}
	c, _, err := websocket.Dial(ctx, url, &opts)
	if err != nil {
		t.Fatalf("WebSocket dial %s: %v", url, err)
	}
	msg := []byte("6 * 7")
	if jsonMode {
		if m, err := readJSONReply(ctx, c); err != nil || m.Type != "hello" {
			t.Fatalf("first message %+v (error %v), want hello", m, err)
		}
		msg, _ = json.Marshal(map[string]any{"id": 1, "expr": "6 * 7"})
	}
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatalf("WebSocket write: %v", err)
	}
	got, err := readScaleReply(ctx, c, jsonMode, 1)
	if err != nil || got != "42" {
		t.Fatalf("WebSocket reply to 6 * 7: %q, %v; want 42", got, err)
	}
	return c
}

// readUntilClosed reads (discarding presence pushes and anything else) until the
// connection ends, and returns the error that ended it.
func readUntilClosed(ctx context.Context, c *websocket.Conn) error {
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return err
		}
	}
}
