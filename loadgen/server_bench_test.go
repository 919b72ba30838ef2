package loadgen_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"wscalc/calc"
	"wscalc/loadgen"
	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
	"wscalc/tcp"
	"wscalc/tools/echo"
	"wscalc/ws"
)

// These benchmarks run the real transports in-process under the load of `wscalc bench`
// (64 connections × pipeline 16, the built-in mix, every reply checked), so that
//
//	go test -run '^$' -bench Server -cpuprofile cpu.out ./loadgen
//	go tool pprof -top -focus 'wscalc/(tcp|ws|session|sched|calc)' loadgen.test cpu.out
//
// profiles the server side. The session budget is lifted: it exists to stop one user
// hogging a shared server and would otherwise refuse most of this load.

var unlimited = calc.Limits{Budget: 1 << 50}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// sessions is the session configuration of a test server with limits.
func sessions(limits calc.Limits) session.Config {
	return session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{}), Limits: limits, Logger: quiet()}
}

func BenchmarkServerTCP(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := tcp.New(tcp.Config{Session: sessions(unlimited)})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		if err := <-done; !errors.Is(err, tcp.ErrServerClosed) {
			b.Error(err)
		}
	}()
	load(b, "tcp", l.Addr().String())
}

func BenchmarkServerWS(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	h, err := ws.New(ws.Config{Session: sessions(unlimited)})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	hs := &http.Server{Handler: mux}
	go hs.Serve(l)
	defer func() {
		h.Close()
		hs.Close()
	}()
	load(b, "ws", l.Addr().String())
}

// BenchmarkLoadEchoTCP is the load generator's own ceiling: the same load against the bare
// echo server (each reply is its line, so the built-in mix is checked against itself),
// where most of the CPU is the load generator's. Its req/s moves with any change to the
// per-reply path.
func BenchmarkLoadEchoTCP(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go echo.ServeTCP(l)
	exprs := loadgen.Builtin()
	for i := range exprs {
		exprs[i].Want = exprs[i].Line
	}
	loadExprs(b, "tcp", l.Addr().String(), exprs)
}

func load(b *testing.B, proto, addr string) { loadExprs(b, proto, addr, nil) }

func loadExprs(b *testing.B, proto, addr string, exprs []loadgen.Expr) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	sum, err := loadgen.Run(ctx, loadgen.Config{Proto: proto, Addr: addr, Conns: 64, Pipeline: 16,
		Requests: int64(max(b.N, 64)), Exprs: exprs, Check: true})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if !sum.OK() {
		b.Fatalf("unclean run: %+v", sum)
	}
	b.ReportMetric(sum.RPS, "req/s")
}
