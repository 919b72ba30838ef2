package scenario

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// PerIP opens Conns idle connections from From, taking turns between TCP, WebSocket and
// HTTP keep-alive, each proven with one exchange, holds them all, and then checks whether a
// client from Other is served on each transport.
type PerIP struct {
	Conns    int           // in all (default 300)
	From     string        // default 127.0.0.1
	Other    string        // default 127.0.0.2
	Timeout  time.Duration // per connection, dial and first exchange (default 5 s)
	Listen   time.Duration // how long a new TCP or HTTP connection waits for a refusal before speaking (default 200 ms)
	Parallel int           // connections opened at once (default 16)
}

// ConnTally is what the connections of one transport got.
type ConnTally struct {
	Opened   int            `json:"opened"`
	Accepted int            `json:"accepted"` // answered normally, and held
	Refused  map[string]int `json:"refused"`  // by refusal: the TCP line, "close 1013 <reason>", "HTTP 429 <body>"
	Failed   map[string]int `json:"failed"`   // by error (no answer, reset, dial error)
}

// PerIPResult is the tallies per transport and the other address's replies.
type PerIPResult struct {
	Conns       map[string]*ConnTally `json:"conns"`
	Other       map[string]string     `json:"other"` // transport → the reply to 1+1 from Other, or the error
	OtherServed bool                  `json:"other_served"`
	Elapsed     time.Duration         `json:"elapsed_ns"`
}

// Run opens the connections, checks the other address, and closes everything. It returns
// within about Conns·Timeout/Parallel + 3·Timeout.
func (p PerIP) Run(ctx context.Context, t Target) *PerIPResult {
	if p.Conns <= 0 {
		p.Conns = 300
	}
	if p.From == "" {
		p.From = "127.0.0.1"
	}
	if p.Other == "" {
		p.Other = "127.0.0.2"
	}
	if p.Timeout <= 0 {
		p.Timeout = 5 * time.Second
	}
	if p.Listen <= 0 {
		p.Listen = 200 * time.Millisecond
	}
	if p.Parallel <= 0 {
		p.Parallel = 16
	}
	start := time.Now()
	transports := []string{TCP, WS, HTTP}
	res := &PerIPResult{Conns: map[string]*ConnTally{}, Other: map[string]string{}}
	for _, tr := range transports {
		res.Conns[tr] = &ConnTally{Refused: map[string]int{}, Failed: map[string]int{}}
	}
	var mu sync.Mutex
	var held []io.Closer
	defer func() {
		var wg sync.WaitGroup
		for _, c := range held {
			wg.Go(func() { _ = c.Close() })
		}
		wg.Wait()
	}()
	sem := make(chan struct{}, p.Parallel)
	var wg sync.WaitGroup
	for i := range p.Conns {
		tr := transports[i%3]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, p.Timeout)
			defer cancel()
			c, refusal, err := p.open(cctx, t, tr)
			mu.Lock()
			defer mu.Unlock()
			tally := res.Conns[tr]
			tally.Opened++
			switch {
			case err != nil:
				tally.Failed[errShape(err)]++
			case refusal != "":
				tally.Refused[refusal]++
			default:
				tally.Accepted++
			}
			if c != nil {
				held = append(held, c)
			}
		})
	}
	wg.Wait()

	res.OtherServed = true
	for _, tr := range transports {
		cctx, cancel := context.WithTimeout(ctx, p.Timeout)
		reply, err := evalOnce(cctx, t, tr, p.Other)
		cancel()
		if err != nil {
			reply = "error: " + errShape(err)
		}
		res.Other[tr] = reply
		if reply != "2" {
			res.OtherServed = false
		}
	}
	res.Elapsed = time.Since(start)
	return res
}

// evalOnce evaluates 1+1 on a new session of the given transport from local.
func evalOnce(ctx context.Context, t Target, transport, local string) (string, error) {
	s, err := Dial(ctx, t, transport, local)
	if err != nil {
		return "", err
	}
	defer s.Close()
	return s.Eval(ctx, "1+1")
}

// open makes one connection and its first exchange. It returns the connection to hold (nil
// if it is already closed), the refusal the server gave (if any), or the error.
func (p PerIP) open(ctx context.Context, t Target, transport string) (io.Closer, string, error) {
	switch transport {
	case WS:
		s, err := DialWS(ctx, t.HTTP, p.From, false)
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) {
				return nil, fmt.Sprintf("HTTP %d", se.Code), nil
			}
			return nil, "", err
		}
		reply, err := s.Eval(ctx, "1+1")
		if err != nil {
			_ = s.Close()
			if code, reason := CloseStatus(err); code >= 0 {
				return nil, fmt.Sprintf("close %d %s", code, reason), nil
			}
			return nil, "", err
		}
		if reply != "2" {
			return s, reply, nil
		}
		return s, "", nil
	case TCP, HTTP:
		c, err := dialer(p.From).DialContext(ctx, "tcp", map[string]string{TCP: t.TCP, HTTP: t.HTTP}[transport])
		if err != nil {
			return nil, "", err
		}
		refusal, err := p.exchange(ctx, c, transport, t.HTTP)
		if err != nil || refusal != "" {
			_ = c.Close()
			return nil, refusal, err
		}
		return c, "", nil
	}
	return nil, "", fmt.Errorf("unknown transport %q", transport)
}

// exchange first listens for a refusal the server sends unasked (reading before writing,
// so that a server which closes at once cannot turn our unread request into a reset that
// destroys its message), then makes one request: 1+1 on TCP, GET /api/eval?expr=1%2B1
// on HTTP (a client's request, not a probe's).
func (p PerIP) exchange(ctx context.Context, c net.Conn, transport, host string) (string, error) {
	defer withDeadline(ctx, c)()
	r := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(p.Listen))
	_, peekErr := r.Peek(1)
	if peekErr != nil && !errors.Is(peekErr, os.ErrDeadlineExceeded) {
		return "", peekErr
	}
	d, _ := ctx.Deadline()
	_ = c.SetDeadline(d)
	spoken := peekErr == nil
	if transport == TCP {
		if !spoken {
			if _, err := io.WriteString(c, "1+1\n"); err != nil {
				return "", err
			}
		}
		line, err := r.ReadString('\n')
		line = strings.TrimSuffix(line, "\n")
		if err != nil && line == "" {
			return "", err
		}
		if line != "2" {
			return line, nil
		}
		return "", nil
	}
	if !spoken {
		if _, err := io.WriteString(c, "GET /api/eval?expr=1%2B1 HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
			return "", err
		}
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("HTTP %d %s", resp.StatusCode, abbreviate(strings.TrimSpace(string(body)), 100)), nil
	}
	return "", nil
}

// errShape is an error without its addresses and ports, to count alike errors together.
func errShape(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errTimeout) {
		return "no answer (timeout)"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + ": " + op.Err.Error()
	}
	return Shape(err.Error())
}
