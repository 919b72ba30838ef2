// Command echo is the bare-transport baseline of the benchmarks: a TCP line echo and a
// coder/websocket echo, each as lean as a server on that transport can be, so that wscalc's
// throughput and CPU can be quoted as a fraction of what the transport itself allows. It is
// benchmark tooling, not part of wscalc.
//
//	go run ./benchmarks/echo -tcp 127.0.0.1:0 -ws 127.0.0.1:0
//
// It prints "echo: tcp ADDR" and "echo: ws ADDR" (the WebSocket endpoint is /ws) and serves
// until SIGINT or SIGTERM.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/coder/websocket"
)

func main() {
	tcpAddr := flag.String("tcp", "127.0.0.1:0", "TCP line echo `address`; empty disables it")
	wsAddr := flag.String("ws", "127.0.0.1:0", "WebSocket echo `address` (path /ws); empty disables it")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *tcpAddr != "" {
		l, err := net.Listen("tcp", *tcpAddr)
		if err != nil {
			fatal(err)
		}
		fmt.Println("echo: tcp", l.Addr())
		go serveTCP(l)
	}
	if *wsAddr != "" {
		l, err := net.Listen("tcp", *wsAddr)
		if err != nil {
			fatal(err)
		}
		fmt.Println("echo: ws", l.Addr())
		go http.Serve(l, http.HandlerFunc(serveWS))
	}
	<-ctx.Done()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "echo:", err)
	os.Exit(1)
}

func serveTCP(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			fatal(err)
		}
		go echoLines(c)
	}
}

// echoLines writes each line back, flushing only when no more input is buffered, so a
// pipeline of requests costs one read and one write: the best a line server can do.
func echoLines(c net.Conn) {
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

// serveWS echoes each text message, reusing one buffer.
func serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ws" {
		http.NotFound(w, r)
		return
	}
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
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := rd.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return
			}
		}
		if c.Write(ctx, typ, buf) != nil {
			return
		}
	}
}
