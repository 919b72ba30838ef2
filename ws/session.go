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

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/hub"
	"wscalc/internal/peer"
	"wscalc/wire"
)

// invalidRequest is the message of the error reply to a JSON message that is not a request.
const invalidRequest = `invalid request: expected {"id": <number|string>, "expr": "<line>"}`

// session is one WebSocket connection. Its goroutine (started by ServeHTTP) reads,
// evaluates and replies, so replies keep request order. Everything else happens on timers
// and short-lived helper goroutines, so that an idle session is one parked goroutine:
// one timer for the idle timeout and the pings, one for the presence pushes of a JSON
// session (which the Handler's presence goroutine schedules), and a goroutine per ping or
// close in progress. run waits for the helpers before it returns.
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

	// perAddressLimit > 0: the connection's address is over its limit (admission); the
	// session is refused.
	perAddressLimit int

	// ctx ends with the connection: when the session ends or is dropped, when the Handler
	// is force-closed, or when the client is found gone while a message is being handled
	// (watch). Evaluations run under it.
	ctx    context.Context
	cancel context.CancelFunc
	watch  peer.Busy // reader goroutine only: watches for the client leaving while busy

	calc     calc.Session // reader goroutine only
	requests int          // reader goroutine only
	lastMsg  atomic.Int64 // UnixNano of the last client message, for the idle timer
	sent     hub.Counts   // last presence sent: hello, then the push in progress only

	helpers sync.WaitGroup // timer callbacks and helper goroutines in progress

	mu          sync.Mutex
	busy        bool
	closeCode   websocket.StatusCode // a close has been decided
	closeReason string
	endReason   string // why the session ended, for the log; the first cause wins
	live        bool   // greeted: shutdown and presence pushes may act on the session
	ended       bool   // run is finishing: no helper may start
	timer       *time.Timer
	nextPing    time.Time
	pingCancel  context.CancelFunc // ends the ping waiting for its pong, if any
	push        *time.Timer        // the next presence push; created on first use
	pushState   pushState
	changed     bool // presence changed since the last push began
	lastPush    time.Time
}

// pushState is where a JSON session's presence push stands.
type pushState uint8

const (
	pushIdle pushState = iota
	pushScheduled
	pushing
)

// outcome says how handling one message ends: the zero value lets the session go on.
type outcome struct {
	code   websocket.StatusCode // close with this status after the message
	reason string
	broken bool // the connection failed: stop without a close handshake
}

func newSession(h *Handler, conn *websocket.Conn, raw net.Conn, out *batchConn, remote string) *session {
	s := &session{
		h:      h,
		conn:   conn,
		raw:    raw,
		out:    out,
		id:     newID(),
		remote: remote,
		json:   conn.Subprotocol() == wire.Subprotocol,
		start:  time.Now(),
	}
	s.calc.Limits, s.calc.ExactValue = h.opts.Limits, s.json // JSON replies carry every digit
	s.ctx, s.cancel = context.WithCancel(h.ctx)
	// A WebSocket client never half-closes: its FIN means it has gone (peer.ReadHangUp).
	s.watch = peer.Busy{Conn: raw, Mode: peer.ReadHangUp, Gone: s.cancel, After: calc.HeavyTime}
	h.hub.Attach(&s.calc)
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
	if s.perAddressLimit > 0 {
		// Logged at debug level only: an address that connects in a loop must not flood
		// the logs (the refusals are counted in the metrics).
		s.h.hub.Reject(hub.WS, "per_ip")
		s.h.log.Debug("session refused", "session", s.id, "transport", hub.WS, "remote", s.remote,
			"reason", "per_ip", "limit", s.perAddressLimit)
		_ = s.conn.Close(websocket.StatusTryAgainLater, admission.Reason(s.perAddressLimit))
		return
	}
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
			s.stop()
		}
	}()

	if s.json {
		s.h.listen(s) // before the hello, so that no change of presence goes unnoticed
		defer s.h.unlisten(s)
		if !s.hello() {
			s.stop()
			s.conn.CloseNow()
			return
		}
	}
	s.beginLive()
	s.serve()
	s.stop()
	s.conn.CloseNow() // no-op unless the connection failed without a close
}

// beginLive starts the timers and lets shutdown and presence act on the session. A
// shutdown that began before is carried out now.
func (s *session) beginLive() {
	s.mu.Lock()
	s.live = true
	s.nextPing = time.Now().Add(s.h.opts.PingInterval)
	s.timer = time.AfterFunc(min(s.h.opts.IdleTimeout, s.h.opts.PingInterval), s.onTimer(s.tick))
	if s.changed {
		s.schedulePushLocked()
	}
	s.mu.Unlock()
	select {
	case <-s.h.draining:
		s.drain() // the Handler's drain may have missed a session this young
	default:
	}
}

// stop ends the timers and any ping, and waits for the helpers in progress.
func (s *session) stop() {
	s.mu.Lock()
	s.ended = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.push != nil {
		s.push.Stop()
	}
	if s.pingCancel != nil {
		s.pingCancel()
	}
	s.mu.Unlock()
	s.helpers.Wait()
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
		Limits: s.h.opts.Limits.WithDefaults(), TCP: s.h.opts.TCPAddr})
	if err != nil {
		return false
	}
	s.sent = s.h.hub.Counts()
	s.mu.Lock()
	s.lastPush = time.Now()
	s.mu.Unlock()
	return s.writeJSON(wire.Clients{Type: "clients", Counts: s.sent}) == nil
}

// serve reads and answers messages until the session ends.
func (s *session) serve() {
	for {
		typ, buf, err := s.read()
		if err != nil {
			s.readFailed(err)
			return
		}
		s.lastMsg.Store(time.Now().UnixNano())
		if !s.begin() {
			putBuf(buf)
			return // a close is under way; the message crossed our close frame
		}
		s.watch.Begin()
		o := s.handle(typ, *buf)
		s.watch.End()
		putBuf(buf)
		if !s.finish(o) {
			return
		}
	}
}

// read waits for the next message, then reads it into a pooled buffer (taken only once
// a message has begun, so that an idle session holds none), growing it as needed: the
// library's read limit bounds it. The read has no context deadline: the idle timeout and
// shutdown end a blocked read by closing the connection (see tick and forceClose), so
// the library need not arm a timer for every message.
func (s *session) read() (websocket.MessageType, *[]byte, error) {
	typ, r, err := s.conn.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	s.out.inMessage.Store(true) // begun: at shutdown, its end is waited for
	defer s.out.inMessage.Store(false)
	buf := getBuf()
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		*buf = b
		if errors.Is(err, io.EOF) {
			return typ, buf, nil
		}
		if err != nil {
			putBuf(buf)
			return 0, nil, err
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

// putBuf returns a buffer to the pool.
func putBuf(p *[]byte) {
	if cap(*p) > maxPooledBuf {
		return
	}
	*p = (*p)[:0]
	bufs.Put(p)
}

func (s *session) readFailed(err error) {
	if werr := s.out.writeErr(); werr != nil {
		// The replies written before this read failed (see batchConn.Read).
		s.writeFailed(werr)
		return
	}
	switch {
	case errors.Is(err, errNoMoreInput):
		// Shutdown, and every message that had arrived is answered: close, waiting for
		// the client's close frame again.
		s.out.endDrain()
		s.requestClose(websocket.StatusGoingAway, "server shutting down")
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
// itself or by a timer or shutdown). It reports whether the session goes on.
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
	s.cancel() // stops an evaluation in progress
	_ = s.raw.Close()
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
	case errors.Is(err, context.Canceled):
		return s.gone()
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
	case errors.Is(err, context.Canceled):
		return s.gone()
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
	return s.h.hub.Eval(s.ctx, hub.WS, &s.calc, line)
}

// gone is the outcome of an evaluation stopped because the session's context ended: the
// client left while it ran (see watch), or the connection was dropped (forceClose, which
// has recorded its own reason). Nobody is left to answer.
func (s *session) gone() outcome {
	s.setEnd("client gone")
	return outcome{broken: true}
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
