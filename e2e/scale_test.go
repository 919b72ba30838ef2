package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

const (
	scaleClients  = 200 // per transport, all connected at once
	scaleRequests = 50  // pipelined per client
	scaleTimeout  = 2 * time.Minute
)

// scaleCase is request j of client i and its exact reply. Every (i, j) has a distinct
// answer, so a reply delivered to the wrong session or out of order cannot pass:
// j%4 == 0 gives the integer n = 1000i+j; 1 gives n/8 (j odd, so n odd: .125 steps);
// 2 gives -n/5 (negative); 3 gives 1000i + j/4 (j odd: .25 or .75 steps).
func scaleCase(i, j int) (expr, want string) {
	n := int64(i*1000 + j)
	var v *big.Rat
	switch j % 4 {
	case 0:
		expr, v = fmt.Sprintf("%d * 1000 + %d", i, j), big.NewRat(n, 1)
	case 1:
		expr, v = fmt.Sprintf("(%d * 1000 + %d) / 8", i, j), big.NewRat(n, 8)
	case 2:
		expr, v = fmt.Sprintf("-(%d*1000 + %d) / 5", i, j), big.NewRat(-n, 5)
	default:
		expr, v = fmt.Sprintf("%d * 1000 + %d / 4", i, j), new(big.Rat).Add(big.NewRat(int64(i*1000), 1), big.NewRat(int64(j), 4))
	}
	return expr, terminatingDecimal(v)
}

// terminatingDecimal is the language's display of an exact value whose denominator divides
// 10^6 and whose magnitude is below 10^21: plain digits, no trailing zeros.
func terminatingDecimal(v *big.Rat) string {
	s := v.FloatString(6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func TestScaleCase(t *testing.T) {
	for _, tc := range []struct {
		i, j       int
		expr, want string
	}{
		{0, 0, "0 * 1000 + 0", "0"},
		{3, 1, "(3 * 1000 + 1) / 8", "375.125"},
		{0, 2, "-(0*1000 + 2) / 5", "-0.4"},
		{199, 49, "(199 * 1000 + 49) / 8", "24881.125"},
		{7, 3, "7 * 1000 + 3 / 4", "7000.75"},
		{12, 44, "12 * 1000 + 44", "12044"},
	} {
		expr, want := scaleCase(tc.i, tc.j)
		if expr != tc.expr || want != tc.want {
			t.Errorf("scaleCase(%d, %d) = %q, %q; want %q, %q", tc.i, tc.j, expr, want, tc.expr, tc.want)
		}
	}
}

// 200 TCP and 200 WebSocket clients (half of them in the JSON subprotocol, half in text
// mode) connect, and once all are connected each pipelines 50 expressions; every reply is
// checked, in order, none lost. Then SIGTERM ends the server with exit status 0.
func TestScale(t *testing.T) {
	defer goleak.VerifyNone(t)
	// 400 connections from one address: above the default per-address cap (256), which
	// stops one user hogging a server; a scale test is such a user, so it lifts the cap.
	s := startServerEnv(t, nil, "127.0.0.1:0", "127.0.0.1:0", "-max-conns-per-ip", "1000")
	ctx, cancel := context.WithTimeout(context.Background(), scaleTimeout)
	defer cancel()

	// connected counts every client that finished connecting (or failed to); start opens
	// the floodgates once all 2*scaleClients sessions are live at the same time.
	var connected, done sync.WaitGroup
	start := make(chan struct{})
	connected.Add(2 * scaleClients)
	done.Add(2 * scaleClients)
	for i := range scaleClients {
		go func() {
			defer done.Done()
			if err := tcpScaleClient(ctx, s.TCPAddr, i, &connected, start); err != nil {
				t.Errorf("TCP client %d: %v", i, err)
			}
		}()
		go func() {
			defer done.Done()
			if err := wsScaleClient(ctx, s.WSURL(), i, i%2 == 0, &connected, start); err != nil {
				t.Errorf("WebSocket client %d: %v", i, err)
			}
		}()
	}
	connected.Wait()
	close(start)
	done.Wait()

	if code := s.Stop(t); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", code)
	}
}

// tcpScaleClient runs client i over TCP: all requests in one pipelined burst, replies read
// concurrently, then a half-close, after which the server must close without saying more.
func tcpScaleClient(ctx context.Context, addr string, i int, connected *sync.WaitGroup, start <-chan struct{}) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	connected.Done()
	if err != nil {
		return err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	<-start

	writeErr := make(chan error, 1)
	go func() {
		var b strings.Builder
		for j := range scaleRequests {
			expr, _ := scaleCase(i, j)
			b.WriteString(expr + "\n")
		}
		_, err := io.WriteString(c, b.String())
		writeErr <- err
	}()

	r := bufio.NewReader(c)
	for j := range scaleRequests {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading reply %d: %v", j, err)
		}
		if expr, want := scaleCase(i, j); line != want+"\n" {
			return fmt.Errorf("request %d %q: reply %q, want %q", j, expr, line, want)
		}
	}
	if err := <-writeErr; err != nil {
		return fmt.Errorf("writing: %v", err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) > 0 {
		return fmt.Errorf("after EOF: extra %q, error %v; want the server to close silently", rest, err)
	}
	return nil
}

// wsScaleClient runs client i over WebSocket, in the JSON subprotocol (ids 0..49 checked)
// or in text mode, writing all requests while reading the replies, then closing normally.
func wsScaleClient(ctx context.Context, url string, i int, jsonMode bool, connected *sync.WaitGroup, start <-chan struct{}) error {
	var opts websocket.DialOptions
	if jsonMode {
		opts.Subprotocols = []string{"wscalc.v1.json"}
	}
	c, _, err := websocket.Dial(ctx, url, &opts)
	connected.Done()
	if err != nil {
		return err
	}
	defer c.CloseNow()
	if jsonMode {
		if c.Subprotocol() != "wscalc.v1.json" {
			return fmt.Errorf("subprotocol %q not negotiated", c.Subprotocol())
		}
		if m, err := readJSONReply(ctx, c); err != nil || m.Type != "hello" {
			return fmt.Errorf("first message %+v (error %v), want hello", m, err)
		}
	}
	<-start

	writeErr := make(chan error, 1)
	go func() { writeErr <- writeScaleRequests(ctx, c, i, jsonMode) }()
	for j := range scaleRequests {
		expr, want := scaleCase(i, j)
		got, err := readScaleReply(ctx, c, jsonMode, j)
		if err != nil {
			return fmt.Errorf("request %d %q: %v", j, expr, err)
		}
		if got != want {
			return fmt.Errorf("request %d %q: reply %q, want %q", j, expr, got, want)
		}
	}
	if err := <-writeErr; err != nil {
		return fmt.Errorf("writing: %v", err)
	}
	return c.Close(websocket.StatusNormalClosure, "")
}

func writeScaleRequests(ctx context.Context, c *websocket.Conn, i int, jsonMode bool) error {
	for j := range scaleRequests {
		expr, _ := scaleCase(i, j)
		msg := []byte(expr)
		if jsonMode {
			var err error
			if msg, err = json.Marshal(map[string]any{"id": j, "expr": expr}); err != nil {
				return err
			}
		}
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			return err
		}
	}
	return nil
}

// readScaleReply returns the display of the next reply; in JSON mode it must be a result
// carrying id j.
func readScaleReply(ctx context.Context, c *websocket.Conn, jsonMode bool, j int) (string, error) {
	if !jsonMode {
		typ, b, err := c.Read(ctx)
		if err == nil && typ != websocket.MessageText {
			err = fmt.Errorf("%v message, want text", typ)
		}
		return string(b), err
	}
	m, err := readJSONReply(ctx, c)
	if err != nil {
		return "", err
	}
	if m.Type != "result" || string(m.ID) != fmt.Sprint(j) {
		return "", fmt.Errorf("got %s reply with id %s (%q), want a result with id %d", m.Type, m.ID, m.Display, j)
	}
	return m.Display, nil
}

// jsonReply holds the fields of a JSON-mode server message that the Go clients check.
type jsonReply struct {
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id"`
	Display string          `json:"display"`
}

// readJSONReply reads the next JSON message that is not a presence push.
func readJSONReply(ctx context.Context, c *websocket.Conn) (jsonReply, error) {
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return jsonReply{}, err
		}
		if typ != websocket.MessageText {
			return jsonReply{}, fmt.Errorf("%v message, want text", typ)
		}
		var m jsonReply
		if err := json.Unmarshal(b, &m); err != nil {
			return jsonReply{}, fmt.Errorf("bad JSON %q: %v", b, err)
		}
		if m.Type != "clients" {
			return m, nil
		}
	}
}

// closeStatus extracts the close frame from a read error (code -1 if there is none).
func closeStatus(err error) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Reason
	}
	return -1, ""
}
