// Package tcp serves the wscalc line protocol over plain TCP, so that `nc 127.0.0.1 10000`
// works like the tutorial calculator server wscalc descends from.
//
// # Protocol
//
// There is no greeting: scripts read exactly one reply per line they send.
//
//   - Each line is one request. Lines end with LF; a CR just before the LF is dropped.
//   - A blank or comment-only line gets no reply. Every other line gets exactly one reply
//     line, in the order the lines were sent, so clients may pipeline as many lines as they
//     like without waiting.
//   - A reply is the calculator core's display line: a result (`14`,
//     `1/3 ≈ 0.33333333333333333333`), an assignment (`x = 3`), or an error
//     (`Error at column 3: division by zero`, `Error: …`).
//   - `quit` and `exit` close the connection without a reply. At end of input the server
//     sends the replies still pending and closes; a last line without a newline is still
//     answered.
//
// # Bad input and limits
//
//   - A line longer than the core's line limit (4096 bytes by default, CR and LF not
//     counted) gets `Error: expression too long (limit 4096 bytes)`; the rest of that line
//     is read and thrown away, never buffered, so memory stays bounded even if the newline
//     never comes. The connection stays usable.
//   - A line that is not valid UTF-8 gets `Error: input is not valid UTF-8`; the bytes are
//     never echoed.
//   - A line that looks like HTTP (a request line such as `GET / HTTP/1.1`, or a header
//     line such as `Host: example.com`) gets
//     `Error: this port speaks the line protocol; open http://<HTTPAddr>/ in a browser` and
//     the connection is closed: someone pointed a browser or curl at the wrong port.
//   - A connection that sends nothing for IdleTimeout gets `Error: idle timeout` and is
//     closed.
//   - Beyond MaxClients live sessions a new connection gets
//     `Error: server busy (max N clients)` and is closed.
//
// # Resources and fairness
//
// Each connection has one goroutine at a time and, only while it has input to answer or
// replies to send, a read buffer of one line and a write buffer of 4 KiB, from pools: a
// connection waiting for its next request holds neither. A goroutine that has
// waited a second for input hands the connection on to a fresh one, so that an idle
// connection's stack is the smallest one (evaluating grows a stack, which never shrinks
// back). The goroutine reads a line only after it has answered the previous one, and
// flushes its replies before it waits for more input, so reading is paced by writing: a
// client that sends without ever reading fills the socket buffers, its next write times out
// after WriteTimeout, and its session is closed. It never makes the server buffer more, and
// never delays other sessions, whose evaluations only share the scheduler's evaluation gate.
//
// # Shutdown
//
// Shutdown stops accepting, then wakes every session blocked in a read. A session answers
// each complete line it has already received (its buffer and whatever the kernel already
// holds for it), sends `Error: server shutting down` and closes. A partial line, without
// its newline, is not a request yet and is dropped. As with http.Server.Shutdown, when
// Shutdown's context ends it returns ctx.Err() and leaves the remaining sessions running;
// Close closes everything immediately and waits for the session goroutines. Which sessions
// to drain or force, and when, is the server's session.Group; conn.Drain and conn.Force
// carry it out.
//
// Every session logs one line when it starts and one when it ends (session id, transport,
// remote address, duration, request count, close reason); expressions are never logged.
//
// # Where to look
//
// The session itself (id, logs, evaluation, end reason, panic recovery, the ordered outbox
// its replies go through) is package session; this package is its line framing:
//
//   - conn.go: one connection. Its loop (conn.serveInput) takes the next line from the read
//     buffer (scanLine), evaluates it through its session.Session (conn.answer) and queues
//     the reply in the session's outbox (conn.reply); how a session ends is decided in
//     conn.ending and carried out by conn.finish.
//   - server.go: the Server: New, accept, Shutdown, Close (through its session.Group).
//   - reader.go: the pooled line buffer and the wait for input (conn.more, conn.await);
//     rawread_unix.go: reads through the socket's RawConn (the buffer is given back while
//     idle; the shutdown drain reads only what has arrived).
//   - writer.go: replyWriter, the batched writes of replies.
//   - http.go: telling a browser's HTTP request apart from a line.
package tcp
