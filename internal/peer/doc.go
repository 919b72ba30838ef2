// Package peer tells when the client at the other end of a connection has gone away while
// the server is not reading from it: during a long evaluation nobody reads, so a closed or
// reset connection would go unnoticed until the reply is written, and the evaluation would
// run to its time limit for nobody.
//
// Watch registers a connection with a Watcher; the Watcher polls the sockets it watches,
// all of them in one poll(2) call every Interval, on one goroutine that runs only while it
// has something to watch, and calls the connection's gone function once the peer is gone.
// It never reads: data waiting on the socket stays there for the session.
//
// What "gone" means depends on the protocol (Mode):
//
//   - HangUp, for the line protocol: the connection was reset (RST) or failed (POLLERR,
//     POLLHUP). A peer that only closed its sending side (FIN) is not gone: `nc -N` and
//     `printf … | nc -q 1` half-close after sending their lines and still read the
//     replies. A client that closes normally (FIN, nothing unread on its side) is
//     indistinguishable from those without writing to it, so its evaluation runs on to its
//     time limit; one that closes with replies unread, or is killed, resets the
//     connection and is noticed.
//   - ReadHangUp, for WebSocket: also the peer's FIN (POLLRDHUP). A WebSocket client never
//     half-closes: it ends with a close frame, and a FIN without one means it has gone.
//
// Only Linux can tell without reading (POLLRDHUP); elsewhere Watch watches nothing and the
// evaluation runs to its limit, as before.
package peer
