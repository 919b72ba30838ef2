// Command echo serves the bare-transport baseline of the benchmarks (package
// wscalc/tools/echo): a TCP line echo and a coder/websocket echo. It is benchmark
// tooling, not part of wscalc.
//
//	go run ./tools/compare/echo -tcp 127.0.0.1:0 -ws 127.0.0.1:0
//
// It prints "echo: tcp ADDR" and "echo: ws ADDR" (the WebSocket endpoint is /ws) and serves
// until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"wscalc/tools/echo"
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
		go func() { fatal(echo.ServeTCP(l)) }()
	}
	if *wsAddr != "" {
		l, err := net.Listen("tcp", *wsAddr)
		if err != nil {
			fatal(err)
		}
		fmt.Println("echo: ws", l.Addr())
		mux := http.NewServeMux()
		mux.HandleFunc("/ws", echo.WebSocket)
		go http.Serve(l, mux)
	}
	<-ctx.Done()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "echo:", err)
	os.Exit(1)
}
