package client

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
)

// fakeServer speaks both protocols the way the wscalc server does, evaluating with the real
// calculator core: a TCP line server and a WebSocket plain text endpoint at /ws. closeAfter
// > 0 makes the server end each session after that many replies (TCP: close; WebSocket:
// 1001 "server shutting down"), as a server being stopped does.
type fakeServer struct {
	TCP string // host:port
	WS  string // ws://host:port/ws

	closeAfter int
	wg         sync.WaitGroup
}

func startFakeServer(t *testing.T, closeAfter int) *fakeServer {
	t.Helper()
	s := &fakeServer{closeAfter: closeAfter}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.TCP = l.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serveTCP(c) }()
		}
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.serveWS)
	hs := httptest.NewServer(mux)
	s.WS = "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	t.Cleanup(func() {
		l.Close()
		hs.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) serveTCP(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	var sess calc.Session
	replies := 0
	for {
		line, err := r.ReadString('\n')
		if line == "" && err != nil {
			w.Flush()
			return
		}
		res, eerr := sess.Eval(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
		if errors.Is(eerr, calc.ErrQuit) {
			w.Flush()
			return
		}
		reply := res.Display
		if eerr != nil {
			reply = eerr.Error()
		}
		if reply != "" || eerr != nil {
			w.WriteString(reply + "\n")
			replies++
		}
		if s.closeAfter > 0 && replies == s.closeAfter {
			w.Flush()
			return
		}
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
}

func (s *fakeServer) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	var sess calc.Session
	replies := 0
	for {
		_, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		res, eerr := sess.Eval(string(p))
		if errors.Is(eerr, calc.ErrQuit) {
			c.Close(websocket.StatusNormalClosure, "")
			return
		}
		reply := res.Display
		if eerr != nil {
			reply = eerr.Error()
		}
		if reply == "" {
			continue
		}
		if c.Write(ctx, websocket.MessageText, []byte(reply)) != nil {
			return
		}
		if replies++; s.closeAfter > 0 && replies == s.closeAfter {
			c.Close(websocket.StatusGoingAway, "server shutting down")
			return
		}
	}
}
