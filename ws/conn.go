package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/internal/peer"
	"wscalc/presence"
	"wscalc/rooms"
	"wscalc/session"
	"wscalc/wire"
)

// invalidRequest is the message of the error reply to a JSON message that is not a request.
const invalidRequest = `invalid request: expected {"id": <number|string>, "expr": "<line>"}`

// conn is one WebSocket connection: the framing of a session.Session. Its goroutine
// (started by ServeHTTP) reads a message (serve), evaluates it (handle) and writes the
// reply through the session's outbox, so replies keep request order. Everything else
// happens on timers, so that an idle connection is one parked goroutine: one timer for the
// idle timeout and the pings (timers.go), the outbox's for the presence pushes of a JSON
// session, and a goroutine per ping in progress. run waits for them before it returns.
//
// Closing is decided by the session (session.Session.Decide, Begin and Finish): a close
// decided while a message is being handled is carried out by the reader after the reply is
// written, so an accepted request is always answered before the close frame; otherwise
// whoever decides closes at once (requestClose).
type conn struct {
	h    *Handler
	ws   *websocket.Conn
	raw  net.Conn   // the hijacked connection, for closing without a handshake
	sock *batchConn // raw as the library uses it
	json bool

	sess session.Session
	out  session.Outbox[[]byte] // replies and presence pushes, one writer
	sent presence.Counts        // last presence sent: hello, then the push in progress only

	// urlJoin is the room join the URL asks for (nil: none), urlRefusal its refusal.
	urlJoin    *session.URLJoin
	urlRefusal *rooms.Error

	// perAddressLimit > 0: the connection's address is over its limit (admission); the
	// session is refused.
	perAddressLimit int

	watch   peer.Busy    // reader goroutine only: watches for the client leaving while busy
	lastMsg atomic.Int64 // UnixNano of the last client message, for the idle timer
	// membersChanged: the member list of the session's room changed, a members message is
	// due (JSON mode).
	membersChanged atomic.Bool
	helpers        sync.WaitGroup

	mu         sync.Mutex
	ended      bool // run is finishing: no helper may start
	timer      *time.Timer
	nextPing   time.Time
	pingCancel context.CancelFunc // ends the ping waiting for its pong, if any
}

// outcome says how handling one message ends: the zero value lets the session go on.
type outcome struct {
	code   websocket.StatusCode // close with this status after the message
	reason string
	broken bool // the connection failed: stop without a close handshake
}

func newConn(h *Handler, wsc *websocket.Conn, raw net.Conn, sock *batchConn, remote string) *conn {
	c := &conn{h: h, ws: wsc, raw: raw, sock: sock, json: wsc.Subprotocol() == wire.Subprotocol}
	c.sess.Init(h.ctx, &h.cfg.Session, remote)
	c.sess.SetExactValue(c.json)      // JSON replies carry every digit
	var pushes session.Pushes[[]byte] // none in text mode
	if c.json {
		pushes = session.Pushes[[]byte]{Interval: presenceInterval, Next: c.presence, Panicked: c.helperPanicked}
	}
	c.out.Init(c.write, pushes)
	if h.cfg.Session.Rooms != nil {
		c.sess.SetRoomSink(roomSink{c})
	}
	// A WebSocket client never half-closes: its FIN means it has gone (peer.ReadHangUp).
	c.watch = peer.Busy{Conn: raw, Mode: peer.ReadHangUp, Gone: c.sess.Cancel, After: calc.HeavyTime}
	c.lastMsg.Store(time.Now().UnixNano())
	return c
}

func (c *conn) protocol() string {
	if c.json {
		return wire.Subprotocol
	}
	return "text"
}

// run serves the session from its first message to its end.
func (c *conn) run() {
	defer c.sess.Cancel()
	if c.perAddressLimit > 0 {
		// Logged at debug level only: an address that connects in a loop must not flood
		// the logs (the refusals are counted in the metrics).
		c.sess.Reject("per_ip")
		c.sess.LogRefused(slog.LevelDebug, "per_ip", "limit", c.perAddressLimit)
		_ = c.ws.Close(websocket.StatusTryAgainLater, admission.Reason(c.perAddressLimit))
		return
	}
	if err := c.sess.Join(); err != nil {
		c.sess.LogRefused(slog.LevelWarn, "server busy", "max_clients", c.h.cfg.Session.MaxClients)
		_ = c.ws.Close(websocket.StatusTryAgainLater, "server busy")
		return
	}
	defer c.sess.Leave()
	c.sess.LogStart("protocol", c.protocol())
	defer c.sess.LogEnd(slog.LevelInfo)
	if !c.prepareURLJoin() {
		return
	}
	if c.urlJoin != nil {
		defer c.sess.AbandonURLJoin(c.urlJoin) // if the session ends before it enters the room
	}
	defer func() {
		// handle recovers the panics of evaluation; this catches any other, so that a bug
		// costs one session, never the process.
		if c.sess.Recovered(recover()) {
			c.closeConn(websocket.StatusInternalError, session.ReasonInternal)
			c.stop()
		}
	}()

	if c.json {
		c.h.listen(c) // before the hello, so that no change of presence goes unnoticed
		defer c.h.unlisten(c)
		if !c.hello() {
			c.stop()
			c.ws.CloseNow()
			return
		}
	}
	if c.urlJoin != nil {
		c.sess.FinishURLJoin(c.urlJoin, !c.json)
	}
	c.beginLive()
	c.serve()
	c.sess.EndRoom()
	c.stop()
	c.ws.CloseNow() // no-op unless the connection failed without a close
}

// prepareURLJoin joins the room the URL asks for, or closes the connection at once with
// the refusal's code and reason (rooms.md §6), no message sent.
func (c *conn) prepareURLJoin() bool {
	refusal := c.urlRefusal
	if refusal == nil && c.urlJoin != nil {
		if !c.json {
			c.urlJoin.Recover = false // epoch and since count only in JSON mode
		}
		if err := c.sess.PrepareURLJoin(c.urlJoin); err != nil {
			refusal = err.(*rooms.Error)
		}
	}
	if refusal == nil {
		return true
	}
	c.sess.End(refusal.Close)
	_ = c.ws.Close(websocket.StatusCode(refusal.Code), refusal.Close)
	return false
}

// hello sends the JSON session's greeting and the current presence.
func (c *conn) hello() bool {
	err := c.sendJSON(wire.Hello{Type: "hello", Session: c.sess.ID(), Version: c.h.cfg.Version,
		Limits: c.h.cfg.Session.Limits.WithDefaults(), TCP: c.h.cfg.TCPAddr})
	if err != nil {
		return false
	}
	c.sent = c.h.cfg.Session.Presence.Counts()
	c.out.Sent()
	return c.sendJSON(wire.Clients{Type: "clients", Counts: wire.Counts(c.sent)}) == nil
}

// presence is the outbox's push: the current counts, if they differ from the last sent.
func (c *conn) presence() ([]byte, bool) {
	if b, ok := c.membersPush(); ok {
		c.out.Changed() // the counts may have changed too: they come next
		return b, true
	}
	counts := c.h.cfg.Session.Presence.Counts()
	if counts == c.sent {
		return nil, false
	}
	c.sent = counts
	b, err := marshal(wire.Clients{Type: "clients", Counts: wire.Counts(counts)})
	return b, err == nil
}

// serve reads and answers messages until the session ends: the transport's loop.
func (c *conn) serve() {
	for {
		typ, buf, err := c.read()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.lastMsg.Store(time.Now().UnixNano())
		if !c.begin() {
			putBuf(buf)
			return // a close is under way; the message crossed our close frame
		}
		c.watch.Begin()
		o := c.handle(typ, *buf)
		c.watch.End()
		putBuf(buf)
		if !c.finish(o) {
			return
		}
	}
}

// read waits for the next message, then reads it into a pooled buffer (taken only once
// a message has begun, so that an idle session holds none), growing it as needed: the
// library's read limit bounds it. The read has no context deadline: the idle timeout and
// shutdown end a blocked read by closing the connection (see tick and forceClose), so
// the library need not arm a timer for every message.
func (c *conn) read() (websocket.MessageType, *[]byte, error) {
	typ, r, err := c.ws.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	c.sock.inMessage.Store(true) // begun: at shutdown, its end is waited for
	defer c.sock.inMessage.Store(false)
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

// bufs holds the buffers messages are read into and replies written from. Buffer release
// while idle: a buffer is taken when a message begins and given back once it is answered,
// so an idle session holds none.
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

func (c *conn) readFailed(err error) {
	if werr := c.sock.writeErr(); werr != nil {
		// The replies written before this read failed (see batchConn.Read).
		c.writeFailed(werr)
		return
	}
	switch {
	case errors.Is(err, errNoMoreInput):
		// Shutdown, and every message that had arrived is answered: close, waiting for
		// the client's close frame again.
		c.sock.endDrain()
		c.requestClose(websocket.StatusGoingAway, session.ReasonShutdown)
	case errors.Is(err, websocket.ErrMessageTooBig):
		c.sess.End("message too big")
		// The library has sent the 1009 close frame; Close completes the handshake,
		// reading past the rest of the message.
		_ = c.ws.Close(websocket.StatusMessageTooBig, "message too big")
	case websocket.CloseStatus(err) != -1:
		c.sess.End(fmt.Sprintf("client closed (%d)", websocket.CloseStatus(err)))
	default:
		c.sess.End("connection lost")
	}
}

// begin marks a message in progress, unless the session is closing (session.Begin).
func (c *conn) begin() bool { return c.sess.Begin() }

// finish ends a message and carries out a close decided during it (by the message itself
// or by a timer or shutdown; session.Finish). It reports whether the session goes on.
func (c *conn) finish(o outcome) bool {
	var end *session.Ending
	if o.code != 0 {
		end = &session.Ending{Code: int(o.code), Reason: o.reason}
	}
	cl := c.sess.Finish(end)
	if o.broken {
		return false
	}
	if cl == nil {
		return true
	}
	c.closeConn(websocket.StatusCode(cl.Code), cl.Reason)
	return false
}

// requestClose decides to close the session: at once if it is waiting for a message, else
// after the reply in progress (see finish; session.Decide).
func (c *conn) requestClose(code websocket.StatusCode, reason string) {
	if c.sess.Decide(session.Ending{Code: int(code), Reason: reason}) {
		c.closeConn(code, reason)
	}
}

// closeConn performs the close handshake (bounded by the library's timeouts), after the
// messages already in the outbox: nothing is pushed after it.
func (c *conn) closeConn(code websocket.StatusCode, reason string) {
	c.sess.End(reason)
	c.out.Stop()
	_ = c.out.Do(func() error { _ = c.ws.Close(code, reason); return nil })
}

// forceClose drops the connection without a handshake; reads and writes in progress fail.
func (c *conn) forceClose(reason string) {
	c.sess.End(reason)
	c.sess.Cancel() // stops an evaluation in progress
	_ = c.raw.Close()
}

// handle answers one message. A panic is recovered here so that one bad session cannot
// take the server down.
func (c *conn) handle(typ websocket.MessageType, data []byte) (o outcome) {
	defer func() {
		if c.sess.Recovered(recover()) {
			o = outcome{code: websocket.StatusInternalError, reason: session.ReasonInternal}
		}
	}()
	if typ != websocket.MessageText {
		return outcome{code: websocket.StatusUnsupportedData, reason: "binary messages are not supported"}
	}
	c.sess.Request()
	if c.json {
		return c.handleJSON(data, data[:0])
	}
	return c.handleText(string(data), data[:0])
}

// handleText answers one line; out is a buffer for the reply.
func (c *conn) handleText(line string, out []byte) outcome {
	if handled, quit := c.sess.RoomLine(line, nil); handled {
		if quit {
			return outcome{code: websocket.StatusNormalClosure, reason: session.ReasonQuit}
		}
		return outcome{}
	}
	r := c.eval(line)
	switch r.Kind {
	case session.Quit:
		return outcome{code: websocket.StatusNormalClosure, reason: session.ReasonQuit}
	case session.Gone:
		return c.gone()
	case session.Silent:
		return outcome{}
	case session.Failed:
		out = append(out, wire.NewError(nil, line, r.Err).Display...)
	default:
		out = append(out, r.Result.Display...)
	}
	return c.reply(out)
}

// handleJSON answers one request; out is a buffer for the reply (data may share it: the
// request is decoded before the reply is built).
func (c *conn) handleJSON(data, out []byte) outcome {
	var req wire.Request
	if err := json.Unmarshal(data, &req); err != nil || req.Expr == nil || !wire.ValidID(req.ID) {
		id := req.ID
		if err != nil || !wire.ValidID(id) {
			id = nil
		}
		if c.sess.InRoom() { // after what the member was sent before
			c.sess.RoomFail(&calc.Error{Msg: invalidRequest}, "", append(json.RawMessage(nil), id...))
			return outcome{}
		}
		return c.reply(wire.AppendError(out, wire.NewError(id, "", &calc.Error{Msg: invalidRequest})))
	}
	line := *req.Expr
	if c.sess.TakesRoomLine(line) {
		// The id outlives the message's buffer: the reply may be sent by the room's sender.
		if _, quit := c.sess.RoomLine(line, append(json.RawMessage(nil), req.ID...)); quit {
			return outcome{code: websocket.StatusNormalClosure, reason: session.ReasonQuit}
		}
		return outcome{}
	}
	r := c.eval(line)
	switch r.Kind {
	case session.Quit:
		return outcome{code: websocket.StatusNormalClosure, reason: session.ReasonQuit}
	case session.Gone:
		return c.gone()
	case session.Failed:
		out = wire.AppendError(out, wire.NewError(req.ID, line, r.Err))
	default:
		out = wire.AppendResult(out, wire.NewResult(req.ID, line, r.Result))
	}
	return c.reply(out)
}

func (c *conn) eval(line string) session.Outcome {
	if hook := c.h.evalHook; hook != nil {
		hook(line)
	}
	return c.sess.Eval(line)
}

// gone is the outcome of an evaluation stopped because the session's context ended: the
// client left while it ran (see watch), or the connection was dropped (forceClose, which
// has recorded its own reason). Nobody is left to answer.
func (c *conn) gone() outcome {
	c.sess.End(session.ReasonGone)
	return outcome{broken: true}
}

// reply sends one reply through the outbox.
func (c *conn) reply(p []byte) outcome {
	if c.out.Send(p) != nil {
		return outcome{broken: true}
	}
	return outcome{}
}

// write is the outbox's writer: one text message (batchConn may hold it briefly, to write
// several together). The write timeout is the deadline that batchConn sets on every write
// to the socket, so the context is one that never ends. On failure the cause is recorded
// for the log; the session then ends.
func (c *conn) write(p []byte) error {
	err := c.ws.Write(context.Background(), websocket.MessageText, p)
	if err != nil {
		c.writeFailed(err)
	}
	return err
}

// writeFailed records why a write failed, for the log.
func (c *conn) writeFailed(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.sess.End(session.ReasonWriteTimeout)
	} else {
		c.sess.End(session.ReasonWriteFailed)
	}
}

func (c *conn) sendJSON(v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return c.out.Send(b)
}

// marshal encodes a server message (hello, presence) without HTML escaping: the messages
// are data, never inlined into HTML.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
