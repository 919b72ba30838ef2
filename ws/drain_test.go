package ws_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/ws"
)

// Every message that has reached the server when Shutdown begins is answered, in order,
// text and JSON mode alike, before the 1001 close: the one being evaluated, the ones the
// library has buffered and the ones still in the kernel's socket buffer.
func TestShutdownAnswersEveryMessageReceived(t *testing.T) {
	const messages = 250
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	e := newEnv(t, envConfig{
		opts: func(o *ws.Config) { o.Session.Limits = calc.Limits{Budget: 1 << 40} },
		setup: func(h *ws.Handler) {
			ws.SetEvalHook(h, func(line string) {
				if line == "0 + 0" {
					entered <- struct{}{}
					<-release
				}
			})
		},
	})
	text, jsonc := e.dial(t, false), e.dial(t, true)
	// Each client sends all of its messages; the first blocks its session, so the rest
	// wait in the server's buffers. On loopback a write returns once the bytes are in the
	// server's socket buffer: they have reached the server.
	for i := range messages {
		write(t, text, fmt.Sprintf("%d + %d", i, i))
		request(t, jsonc, i, fmt.Sprintf("%d + %d", i, i))
	}
	<-entered
	<-entered

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shutdown <- e.h.Shutdown(ctx)
	}()
	time.Sleep(10 * time.Millisecond) // let Shutdown begin while the sessions are busy
	close(release)

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range messages {
			if got := readText(t, text); got != strconv.Itoa(2*i) {
				t.Errorf("text reply %d: %q", i, got)
				return
			}
		}
		requireClose(t, text, websocket.StatusGoingAway, "server shutting down")
	})
	wg.Go(func() {
		for i := range messages {
			r := readReply(t, jsonc)
			if r.Display != strconv.Itoa(2*i) || string(r.ID) != strconv.Itoa(i) {
				t.Errorf("JSON reply %d: %+v", i, r)
				return
			}
		}
		requireClose(t, jsonc, websocket.StatusGoingAway, "server shutting down")
	})
	wg.Wait()
	require.NoError(t, <-shutdown)
	require.Zero(t, e.wsCount())
	for _, r := range e.logs.Records(t, "session end") {
		assert.Equal(t, "server shutting down", r["reason"])
		assert.EqualValues(t, messages, r["requests"])
	}
}

// A session waiting for its next message when Shutdown begins reads what has arrived
// meanwhile, answers it and closes with 1001. A message whose start has arrived is
// waited for and answered too, and the close handshake completes after it.
func TestShutdownWakesAWaitingSessionAndFinishesAPartialMessage(t *testing.T) {
	e := newEnv(t, envConfig{})
	idle := e.dial(t, false)
	write(t, idle, "1 + 1")
	require.Equal(t, "2", readText(t, idle))

	rc := rawDial(t, e.srv.Listener.Addr().String())
	rc.send(t, frame(0x81, "2 + 2"))
	require.Equal(t, "4", rc.readText(t))
	msg := frame(0x81, "3 + 3")
	rc.send(t, msg[:len(msg)-3]) // the header and part of the payload

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.h.Shutdown(ctx) }()
	requireClose(t, idle, websocket.StatusGoingAway, "server shutting down")

	time.Sleep(20 * time.Millisecond) // the session is waiting for the rest
	rc.send(t, msg[len(msg)-3:])
	assert.Equal(t, "6", rc.readText(t))
	code, reason := rc.readClose(t)
	assert.Equal(t, websocket.StatusGoingAway, code)
	assert.Equal(t, "server shutting down", reason)
	rc.send(t, frame(0x88, "\x03\xe9")) // the client's close: 1001
	require.NoError(t, <-done)
	rc.expectEOF(t)
}

// rawClient speaks WebSocket frame by frame, to send what the library would not: part of
// a message.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func rawDial(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(ioTimeout)))
	_, err = fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	require.NoError(t, err)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	return &rawClient{conn: conn, r: r}
}

// frame is one final client frame (masked, as a client must) of the given first byte
// (0x81 text, 0x88 close) and payload of at most 125 bytes.
func frame(first byte, payload string) []byte {
	key := []byte{1, 2, 3, 4}
	f := []byte{first, 0x80 | byte(len(payload))}
	f = append(f, key...)
	for i := range len(payload) {
		f = append(f, payload[i]^key[i%4])
	}
	return f
}

func (c *rawClient) send(t *testing.T, b []byte) {
	t.Helper()
	_, err := c.conn.Write(b)
	require.NoError(t, err)
}

// readFrame reads one server frame (unmasked, short).
func (c *rawClient) readFrame(t *testing.T) (byte, []byte) {
	t.Helper()
	var h [2]byte
	_, err := io.ReadFull(c.r, h[:])
	require.NoError(t, err)
	require.Less(t, h[1], byte(126), "a short frame")
	p := make([]byte, h[1])
	_, err = io.ReadFull(c.r, p)
	require.NoError(t, err)
	return h[0], p
}

func (c *rawClient) readText(t *testing.T) string {
	t.Helper()
	op, p := c.readFrame(t)
	require.Equal(t, byte(0x81), op)
	return string(p)
}

func (c *rawClient) readClose(t *testing.T) (websocket.StatusCode, string) {
	t.Helper()
	op, p := c.readFrame(t)
	require.Equal(t, byte(0x88), op, "%q", p)
	require.GreaterOrEqual(t, len(p), 2)
	return websocket.StatusCode(binary.BigEndian.Uint16(p)), string(p[2:])
}

func (c *rawClient) expectEOF(t *testing.T) {
	t.Helper()
	rest, err := io.ReadAll(c.r)
	require.NoError(t, err)
	require.Empty(t, rest)
}
