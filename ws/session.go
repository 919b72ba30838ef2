package ws

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"wscalc/calc"
	"wscalc/hub"
	"wscalc/wire"
)

// invalidRequest is the message of the error reply to a JSON message that is not a request.
const invalidRequest = `invalid request: expected {"id": <number|string>, "expr": "<line>"}`

// session is one WebSocket connection. Its ServeHTTP goroutine reads, evaluates and
// replies (so replies keep request order); a helper goroutine (keep) pings, pushes
// presence and closes the session on idle timeout or shutdown.
//
// Closing is coordinated through mu: a close decided while an evaluation is in progress
// (busy) is carried out by the reader after the reply is written, so an accepted request
// is always answered before the close frame; otherwise whoever decides closes at once.
type session struct {
	h      *Handler
	conn   *websocket.Conn
	raw    net.Conn   // the hijacked connection, for closing without a handshake
	out    *batchConn // raw as the library uses it
	id     string
	remote string
	json   bool
	start  time.Time
	ctx    context.Context
	cancel context.CancelFunc

	calc     calc.Session // reader goroutine only
	requests int          // reader goroutine only
	lastMsg  atomic.Int64 // UnixNano of the last client message, for the idle timer

	sent     hub.Counts // last presence pushed; keep goroutine only once it runs
	lastPush time.Time  // keep goroutine only once it runs

	pinging atomic.Bool
	pings   sync.WaitGroup

	mu          sync.Mutex
	busy        bool
	closeCode   websocket.StatusCode // a close has been decided
	closeReason string
	endReason   string // why the session ended, for the log; the first cause wins
}

// outcome says how handling one message ends: the zero value lets the session go on.
type outcome struct {
	code   websocket.StatusCode // close with this status after the message
	reason string
	broken bool // the connection failed: stop without a close handshake
}

func newSession(h *Handler, conn *websocket.Conn, raw net.Conn, out *batchConn, remote string) *session {
	ctx, cancel := context.WithCancel(h.ctx)
	s := &session{
		h:      h,
		conn:   conn,
		raw:    raw,
		out:    out,
		id:     newID(),
		remote: remote,
		json:   conn.Subprotocol() == wire.Subprotocol,
		start:  time.Now(),
		ctx:    ctx,
		cancel: cancel,
	}
	s.calc.Limits = h.opts.Limits
	s.lastMsg.Store(s.start.UnixNano())
	return s
}

// newID returns a random session id: 16 hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func (s *session) protocol() string {
	if s.json {
		return wire.Subprotocol
	}
	return "text"
}

// run serves the session from its first message to its end.
func (s *session) run() {
	defer s.cancel()
	leave, err := s.h.hub.Join(hub.WS, s.h.opts.MaxClients)
	if err != nil {
		s.h.log.Warn("session refused", "session", s.id, "transport", hub.WS, "remote", s.remote,
			"reason", "server busy", "max_clients", s.h.opts.MaxClients)
		_ = s.conn.Close(websocket.StatusTryAgainLater, "server busy")
		return
	}
	defer leave()
	s.h.log.Info("session start", "session", s.id, "transport", hub.WS, "remote", s.remote,
		"protocol", s.protocol())
	defer s.logEnd()
	defer func() {
		// handle recovers the panics of evaluation; this catches any other, so that a bug
		// costs one session, never the process.
		if v := recover(); v != nil {
			s.logPanic(v)
			s.closeConn(websocket.StatusInternalError, "internal error")
		}
	}()

	var presence <-chan struct{}
	if s.json {
		changes, unsubscribe := s.h.hub.Subscribe()
		defer unsubscribe()
		presence = changes
		if !s.hello() {
			s.conn.CloseNow()
			return
		}
	}

	kept := make(chan struct{})
	go func() {
		defer close(kept)
		s.keep(presence)
	}()
	s.serve()
	s.cancel() // stops keep and any ping
	<-kept
	s.pings.Wait()
	s.conn.CloseNow() // no-op unless the connection failed without a close
}

func (s *session) logEnd() {
	s.mu.Lock()
	reason := s.endReason
	s.mu.Unlock()
	s.h.log.Info("session end", "session", s.id, "transport", hub.WS, "remote", s.remote,
		"duration", time.Since(s.start).Round(time.Millisecond), "requests", s.requests,
		"reason", reason)
}

// setEnd records why the session ended unless a cause is known already.
func (s *session) setEnd(reason string) {
	s.mu.Lock()
	if s.endReason == "" {
		s.endReason = reason
	}
	s.mu.Unlock()
}

// hello sends the JSON session's greeting and the current presence.
func (s *session) hello() bool {
	err := s.writeJSON(wire.Hello{Type: "hello", Session: s.id, Version: s.h.opts.Version,
		Limits: s.h.opts.Limits.WithDefaults()})
	if err != nil {
		return false
	}
	s.sent = s.h.hub.Counts()
	s.lastPush = time.Now()
	return s.writeJSON(wire.Clients{Type: "clients", Counts: s.sent}) == nil
}

// serve reads and answers messages until the session ends.
func (s *session) serve() {
	for {
		buf := getBuf()
		typ, data, err := s.read(*buf)
		if err != nil {
			putBuf(buf, data)
			s.readFailed(err)
			return
		}
		s.lastMsg.Store(time.Now().UnixNano())
		if !s.begin() {
			putBuf(buf, data)
			return // a close is under way; the message crossed our close frame
		}
		o := s.handle(typ, data)
		putBuf(buf, data)
		if !s.finish(o) {
			return
		}
	}
}

// read reads the next message into buf, growing it as needed (the library's read limit
// bounds it). The read has no context deadline: the idle timeout and shutdown end a
// blocked read by closing the connection (see keep and forceClose), so the library need
// not arm a timer for every message.
func (s *session) read(buf []byte) (websocket.MessageType, []byte, error) {
	typ, r, err := s.conn.Reader(context.Background())
	if err != nil {
		return 0, buf, err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return typ, buf, nil
		}
		if err != nil {
			return 0, buf, err
		}
	}
}

// bufs holds the buffers messages are read into and replies written from, so that an
// idle session holds none.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledBuf is the largest buffer put back: a rare huge message must not leave huge
// buffers behind in the pool.
const maxPooledBuf = 8 << 10

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

// putBuf returns the buffer, which may have grown into b, to the pool.
func putBuf(p *[]byte, b []byte) {
	if cap(b) > maxPooledBuf {
		return
	}
	*p = b[:0]
	bufs.Put(p)
}

func (s *session) readFailed(err error) {
	if werr := s.out.writeErr(); werr != nil {
		// The replies written before this read failed (see batchConn.Read).
		s.writeFailed(werr)
		return
	}
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		s.setEnd("message too big")
		// The library has sent the 1009 close frame; Close completes the handshake,
		// reading past the rest of the message.
		_ = s.conn.Close(websocket.StatusMessageTooBig, "message too big")
	case websocket.CloseStatus(err) != -1:
		s.setEnd(fmt.Sprintf("client closed (%d)", websocket.CloseStatus(err)))
	default:
		s.setEnd("connection lost")
	}
}

// begin marks an evaluation in progress, unless the session is closing.
func (s *session) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closeCode != 0 {
		return false
	}
	s.busy = true
	return true
}

// finish ends an evaluation and carries out a close decided during it (by the message
// itself or by keep). It reports whether the session goes on.
func (s *session) finish(o outcome) bool {
	s.mu.Lock()
	s.busy = false
	if o.broken {
		s.mu.Unlock()
		return false
	}
	if o.code != 0 && s.closeCode == 0 {
		s.closeCode, s.closeReason = o.code, o.reason
	}
	code, reason := s.closeCode, s.closeReason
	s.mu.Unlock()
	if code == 0 {
		return true
	}
	s.closeConn(code, reason)
	return false
}

// requestClose decides to close the session: at once if it is waiting for a message, else
// after the reply in progress (see finish).
func (s *session) requestClose(code websocket.StatusCode, reason string) {
	s.mu.Lock()
	if s.closeCode != 0 {
		s.mu.Unlock()
		return
	}
	s.closeCode, s.closeReason = code, reason
	busy := s.busy
	s.mu.Unlock()
	if !busy {
		s.closeConn(code, reason)
	}
}

// closeConn performs the close handshake (bounded by the library's timeouts).
func (s *session) closeConn(code websocket.StatusCode, reason string) {
	s.setEnd(reason)
	_ = s.conn.Close(code, reason)
}

// forceClose drops the connection without a handshake; reads and writes in progress fail.
func (s *session) forceClose(reason string) {
	s.setEnd(reason)
	if s.raw != nil {
		_ = s.raw.Close()
	}
	s.cancel()
}

// handle answers one message. A panic is recovered here so that one bad session cannot
// take the server down.
func (s *session) handle(typ websocket.MessageType, data []byte) (o outcome) {
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(v)
			o = outcome{code: websocket.StatusInternalError, reason: "internal error"}
		}
	}()
	if typ != websocket.MessageText {
		return outcome{code: websocket.StatusUnsupportedData, reason: "binary messages are not supported"}
	}
	s.requests++
	if s.json {
		return s.handleJSON(data, data[:0])
	}
	return s.handleText(string(data), data[:0])
}

// logPanic logs a recovered panic with the stack of the goroutine that panicked.
func (s *session) logPanic(v any) {
	s.h.log.Error("session panic", "session", s.id, "transport", hub.WS, "remote", s.remote,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}

// handleText answers one line; out is a buffer for the reply.
func (s *session) handleText(line string, out []byte) outcome {
	res, err := s.eval(line)
	var reply string
	switch {
	case errors.Is(err, calc.ErrQuit):
		return outcome{code: websocket.StatusNormalClosure, reason: "quit"}
	case err != nil:
		reply = wire.NewError(nil, line, err).Display
	case res.Kind == calc.KindNone:
		return outcome{}
	default:
		reply = res.Display
	}
	return s.reply(s.write(websocket.MessageText, append(out, reply...)))
}

// handleJSON answers one request; out is a buffer for the reply (data may share it: the
// request is decoded before the reply is built).
func (s *session) handleJSON(data, out []byte) outcome {
	var req wire.Request
	if err := json.Unmarshal(data, &req); err != nil || req.Expr == nil || !wire.ValidID(req.ID) {
		id := req.ID
		if err != nil || !wire.ValidID(id) {
			id = nil
		}
		out = wire.AppendError(out, wire.NewError(id, "", &calc.Error{Msg: invalidRequest}))
		return s.reply(s.write(websocket.MessageText, out))
	}
	line := *req.Expr
	res, err := s.eval(line)
	switch {
	case errors.Is(err, calc.ErrQuit):
		return outcome{code: websocket.StatusNormalClosure, reason: "quit"}
	case err != nil:
		out = wire.AppendError(out, wire.NewError(req.ID, line, err))
	default:
		out = wire.AppendResult(out, wire.NewResult(req.ID, line, res))
	}
	return s.reply(s.write(websocket.MessageText, out))
}

func (s *session) eval(line string) (calc.Result, error) {
	if hook := s.h.evalHook; hook != nil {
		hook(line)
	}
	return s.h.hub.Eval(hub.WS, &s.calc, line)
}

// reply turns the result of writing a reply into an outcome.
func (s *session) reply(err error) outcome {
	if err != nil {
		return outcome{broken: true}
	}
	return outcome{}
}

// write sends one message (batchConn may hold it briefly, to write several together). The
// write timeout is the deadline that batchConn sets on every write to the socket, so the
// context is one that never ends. On failure the cause
// is recorded for the log; the session then ends.
func (s *session) write(typ websocket.MessageType, p []byte) error {
	err := s.conn.Write(context.Background(), typ, p)
	if err != nil {
		s.writeFailed(err)
	}
	return err
}

// writeFailed records why a write failed, for the log.
func (s *session) writeFailed(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		s.setEnd("write timeout")
	} else {
		s.setEnd("write failed")
	}
}

func (s *session) writeJSON(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the replies are data, never inlined into HTML
	if err := enc.Encode(v); err != nil {
		return err
	}
	return s.write(websocket.MessageText, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// keep runs beside the reader: pings, the idle timer, presence pushes and shutdown. It
// returns when the session's context ends or once it has decided to close the session.
func (s *session) keep(presence <-chan struct{}) {
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(v)
			s.forceClose("internal error")
		}
	}()
	idle := time.NewTimer(s.h.opts.IdleTimeout)
	defer idle.Stop()
	ping := time.NewTicker(s.h.opts.PingInterval)
	defer ping.Stop()
	push := time.NewTimer(0)
	push.Stop()
	defer push.Stop()
	var pushC <-chan time.Time // non-nil while a push is scheduled

	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.h.draining:
			s.requestClose(websocket.StatusGoingAway, "server shutting down")
			return
		case <-idle.C:
			if left := s.idleLeft(); left > 0 {
				idle.Reset(left)
				continue
			}
			s.requestClose(websocket.StatusPolicyViolation, "idle timeout")
			return
		case <-ping.C:
			s.ping()
		case <-presence:
			// Changes are coalesced: one push at most every presenceInterval, carrying the
			// counts of the moment it is sent, so the last state always gets through.
			if pushC == nil {
				push.Reset(max(0, presenceInterval-time.Since(s.lastPush)))
				pushC = push.C
			}
		case <-pushC:
			pushC = nil
			if !s.pushPresence() {
				return
			}
		}
	}
}

func (s *session) idleLeft() time.Duration {
	last := time.Unix(0, s.lastMsg.Load())
	return s.h.opts.IdleTimeout - time.Since(last)
}

// pushPresence sends the current counts if they differ from the last ones sent.
func (s *session) pushPresence() bool {
	c := s.h.hub.Counts()
	if c == s.sent {
		return true
	}
	s.lastPush = time.Now()
	if s.writeJSON(wire.Clients{Type: "clients", Counts: c}) != nil {
		return false
	}
	s.sent = c
	return true
}

// ping sends a ping without blocking keep (the library waits for the pong, which only
// arrives while the reader reads). The ping exists to keep proxies from closing a quiet
// connection; a late pong is not fatal, because the reader may be queued behind the
// evaluation gate. Dead peers are found by the write timeout and the idle timeout.
func (s *session) ping() {
	if !s.pinging.CompareAndSwap(false, true) {
		return // the previous ping is still waiting for its pong
	}
	s.pings.Add(1)
	go func() {
		defer s.pings.Done()
		defer s.pinging.Store(false)
		ctx, cancel := context.WithTimeout(s.ctx, s.h.writeTimeout)
		defer cancel()
		_ = s.conn.Ping(ctx) // a write that times out closes the connection, like any write
	}()
}
