// Package ws serves wscalc sessions over WebSocket (github.com/coder/websocket), for the
// browser playground and for command-line clients such as wscat.
//
// A connection speaks one of two protocols, chosen by the WebSocket subprotocol:
//
//   - none: each text message is one line of the calculator language and gets one text
//     message back, the core's display line (`14`, `Error at column 3: division by zero`).
//     Blank and comment-only lines get no reply; `quit` or `exit` closes with 1000.
//   - wire.Subprotocol ("wscalc.v1.json"): the server first sends a wire.Hello and a
//     wire.Clients presence message; each client message {"id": …, "expr": "…"} gets a
//     wire.Result or wire.Error carrying the same id. A malformed request gets a wire.Error
//     (column 0) rather than a disconnect, and a blank expr gets a result of kind "none".
//     Presence (wire.Clients) is pushed whenever the presence counts change, at most four times
//     a second per session; the last state is always delivered.
//
// Policy, each enforced here:
//
//   - Origins: same-origin only (the library's check), plus Config.OriginPatterns. A pattern
//     that would allow every origin ("*", "*.*", "https://*": no letter or digit in its host
//     part) or that is malformed is dropped by New with an error log, never honoured.
//   - Compression is off: replies are short and deflate costs memory per connection.
//   - Read limit: 6 × calc line limit + 256 bytes (24 832 for 4096). JSON may escape one
//     byte of a line as \u00XX (6 bytes), and the request wrapper and id need a little more;
//     a text line between the line limit and the read limit reaches the core, which answers
//     "expression too long". A bigger message is closed by the library with 1009.
//   - Binary message → close 1003; no client message for the idle timeout
//     (session.Config.IdleTimeout) → close 1008 "idle timeout"; over
//     session.Config.MaxClients → accept, then close 1013 "server busy" (so a browser can
//     say why); a connection whose address holds too many connections already (admission,
//     -max-conns-per-ip) → accept, then close 1013 with "too many connections from your
//     address (limit N)"; a ping every Config.PingInterval keeps proxies from timing the
//     connection out.
//   - Writes time out (10 s): a client that never reads is disconnected and cannot hold up
//     any other session.
//   - A panic while serving a session is recovered: its stack is logged, the session is
//     closed with 1011 and the process keeps serving.
//
// Each session runs on a goroutine of its own, started by ServeHTTP, which returns once
// the connection is upgraded so that net/http can free the request. That goroutine reads
// and evaluates, so replies are in request order; the idle timeout and the pings run on a
// timer, presence pushes on another (scheduled by one presence goroutine per Handler),
// so an idle session is one parked goroutine. Replies to requests that arrived together
// (a client that pipelines) are written to the socket together when the session next
// waits for input, as on the line protocol, and none waits longer than a millisecond for
// its batch (batchConn). http.Server.Shutdown does not track hijacked connections, so the
// Handler owns its sessions, through a session.Group that decides when they drain or are
// forced (conn.Drain and conn.Force carry it out): Shutdown lets every session answer the
// messages it has already received (being evaluated, buffered, or waiting in the kernel's
// socket buffer; the rest of a message that has begun to arrive is waited for), text and
// JSON mode alike, then closes it with 1001 "server shutting down", and waits for their
// goroutines, as the line protocol does; if its context ends first it returns ctx.Err()
// and leaves them running, as net/http does, and Close forces them.
//
// Logs: one line when a session starts and one when it ends (session id, transport "ws",
// remote address, duration, request count, close reason); never an expression.
//
// # Where to look
//
// The session itself (id, logs, evaluation, end reason, panic recovery, the ordered outbox
// that replies and presence pushes share) is package session; this package is its
// WebSocket framing:
//
//   - conn.go: one connection. Its loop (conn.serve) reads a message (conn.read), evaluates
//     it through its session.Session (conn.handle, handleText or handleJSON) and sends the
//     reply through the session's outbox (conn.reply); closing is decided in requestClose
//     and finish.
//   - ws.go: the Handler: New, the upgrade (ServeHTTP), Shutdown and Close, and the
//     presence fan-out to the sessions' outboxes.
//   - timers.go: the idle timeout, the pings, and Drain and Force.
//   - batch.go: batchConn, under the library: batched writes, the write timeout and the
//     shutdown drain; readarrived_*.go: its read that never waits.
package ws
