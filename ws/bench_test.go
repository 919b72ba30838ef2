package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"wscalc/calc"
	"wscalc/loadgen"
	"wscalc/presence"
	"wscalc/rooms"
	"wscalc/sched"
	"wscalc/session"
	"wscalc/tools/echo"
	"wscalc/wire"
	"wscalc/ws"
)

// The benchmarks run a Handler behind a real http.Server on loopback. The session budget
// is lifted: it exists to stop one user from hogging a shared server, and a benchmark is
// exactly such a user.
//
//	go test -run '^$' -bench . -cpuprofile cpu.out ./ws
//	go tool pprof -top -focus 'wscalc/ws' ws.test cpu.out

var unlimited = calc.Limits{Budget: 1 << 50}

// serveBench serves h on 127.0.0.1:0 and
// returns the host:port.
func serveBench(b *testing.B, h http.Handler) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(l)
	b.Cleanup(func() { hs.Close() })
	return l.Addr().String()
}

func benchHandler(b *testing.B) *ws.Handler {
	h, err := ws.New(ws.Config{Session: session.Config{Presence: presence.New(nil),
		Sched: sched.New(sched.Options{}), Limits: unlimited, Logger: slog.New(slog.DiscardHandler),
		// Rooms on (though without a log), so that a private session's lines pass the room
		// checks they pass in wscalc.
		Rooms: session.NewRooms(nil, rooms.RoomConfig{}, rooms.DefaultLimits())}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	return h
}

// BenchmarkPipelinedText drives the text protocol as `wscalc bench` does (16 connections
// × 16 requests in flight, the built-in mix, every reply checked); the time is per request.
func BenchmarkPipelinedText(b *testing.B) {
	addr := serveBench(b, benchHandler(b))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	sum, err := loadgen.Run(ctx, loadgen.Config{Proto: "ws", Addr: "ws://" + addr + "/", Conns: 16,
		Pipeline: 16, Requests: int64(max(b.N, 16)), Check: true})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if !sum.OK() {
		b.Fatalf("unclean run: %+v", sum)
	}
	b.ReportMetric(sum.RPS, "req/s")
}

// BenchmarkPipelinedJSON sends JSON requests 16 at a time (framed into one write, as
// `wscalc bench` does for text) on one connection and reads their replies; the time is
// per request. The client is a raw socket, so that the server's work dominates.
func BenchmarkPipelinedJSON(b *testing.B) {
	addr := serveBench(b, benchHandler(b))
	c, r, err := handshake(addr, wire.Subprotocol)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for range 2 { // hello and presence
		if _, err := readFrame(r); err != nil {
			b.Fatal(err)
		}
	}
	const depth = 16
	var batch []byte
	for range depth {
		batch = append(batch, clientFrame(`{"id": 7, "expr": "1 / 3 + 2"}`)...)
	}
	want := []byte(`"display":"7/3 ≈ 2.3333333333333333333"`)
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		if _, err := c.Write(batch); err != nil {
			b.Fatal(err)
		}
		for range depth {
			p, err := readFrame(r)
			if err != nil {
				b.Fatal(err)
			}
			if !bytes.Contains(p, want) {
				b.Fatalf("reply %s", p)
			}
		}
	}
}

// readFrame reads one unfragmented server frame (unmasked, at most 64 KiB).
func readFrame(r *bufio.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:2]); err != nil {
		return nil, err
	}
	n := int(h[1] & 0x7f)
	switch {
	case h[0] != 0x81:
		return nil, fmt.Errorf("frame header %x: not a final text frame", h[0])
	case n == 126:
		if _, err := io.ReadFull(r, h[2:4]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(h[2:4]))
	case n == 127:
		return nil, errors.New("frame too long")
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return p, err
}

// BenchmarkIdleSessions reports the server memory per idle session (heap and goroutine
// stacks, after a GC), for wscalc's text and JSON sessions and for a bare coder/websocket
// echo serving the same clients. The clients are raw sockets that complete the handshake
// and then stay silent; they live in the same process, so their own cost is in every
// figure alike and the difference to the echo is wscalc's.
func BenchmarkIdleSessions(b *testing.B) {
	const n = 1000
	for _, bc := range []struct {
		name    string
		handler func(*testing.B) http.Handler
		proto   string
	}{
		{"echo", func(*testing.B) http.Handler { return http.HandlerFunc(echo.WebSocket) }, ""},
		{"text", func(b *testing.B) http.Handler { return benchHandler(b) }, ""},
		{"json", func(b *testing.B) http.Handler { return benchHandler(b) }, wire.Subprotocol},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				addr := serveBench(b, bc.handler(b))
				before := memInUse()
				conns := make([]net.Conn, 0, n)
				for range n {
					c, _, err := handshake(addr, bc.proto)
					if err != nil {
						b.Fatal(err)
					}
					conns = append(conns, c)
				}
				time.Sleep(200 * time.Millisecond) // let every session reach its idle state
				heap, stack := memInUse().minus(before)
				b.ReportMetric(float64(heap)/n, "heap-B/conn")
				b.ReportMetric(float64(stack)/n, "stack-B/conn")
				for _, c := range conns {
					c.Close()
				}
				b.StartTimer()
			}
		})
	}
}

type memStats struct{ heap, stack uint64 }

func memInUse() memStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memStats{m.HeapAlloc, m.StackInuse}
}

func (m memStats) minus(o memStats) (heap, stack int64) {
	return int64(m.heap) - int64(o.heap), int64(m.stack) - int64(o.stack)
}

// handshake opens a WebSocket connection with as little client-side state as possible.
// The reader holds what arrived after the handshake response; read the frames from it.
func handshake(addr, proto string) (net.Conn, *bufio.Reader, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if proto != "" {
		req += "Sec-WebSocket-Protocol: " + proto + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		c.Close()
		return nil, nil, err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	r := bufio.NewReaderSize(c, 256)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		if strings.HasPrefix(line, "HTTP/1.1 ") && !strings.HasPrefix(line, "HTTP/1.1 101") {
			c.Close()
			return nil, nil, errors.New("handshake refused: " + line)
		}
		if line == "\r\n" {
			return c, r, nil
		}
	}
}
