// Package echo is the bare-transport baseline of the benchmarks: a TCP line echo and a
// coder/websocket echo, each as lean as a server on that transport can be, so that wscalc's
// throughput, CPU and memory can be quoted as a fraction of what the transport itself
// allows. tools/compare/echo serves it as a program; the tcp and ws benchmarks run it
// in-process next to the real servers. It is benchmark tooling, not part of wscalc.
package echo

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/coder/websocket"
)

// ServeTCP accepts connections on l and echoes their lines until l is closed.
func ServeTCP(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go Lines(c)
	}
}

// Lines writes each line of c back, flushing only when no more input is buffered, so a
// pipeline of requests costs one read and one write: the best a line server can do.
func Lines(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		if _, err := w.Write(line); err != nil {
			return
		}
		if r.Buffered() == 0 && w.Flush() != nil {
			return
		}
	}
}

// WebSocket accepts a WebSocket connection and echoes each message, reusing one buffer.
func WebSocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	// The background context avoids per-message timer setup in the library; a dead peer
	// ends the session through a read error.
	ctx := context.Background()
	var buf []byte
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		if buf, err = readAll(rd, buf[:0]); err != nil {
			return
		}
		if c.Write(ctx, typ, buf) != nil {
			return
		}
	}
}

// readAll appends everything rd holds to buf, growing it only when full.
func readAll(rd io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
