package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// tableServer answers each line from a table (the built-in mix), the way a correct server
// would, on TCP and on WebSocket, with faults on demand: dropEvery > 0 silently skips every
// dropEvery-th reply (counted over the whole server); wrong names a line answered wrongly;
// closeAfter > 0 closes each connection after that many replies.
type tableServer struct {
	TCP, WS string

	answers    map[string]string
	dropEvery  int64
	wrong      string
	closeAfter int
	pingEvery  time.Duration // WebSocket: the server pings the client this often
	// refuseEvery > 0 answers every refuseEvery-th line (counted over the whole server)
	// with a session budget refusal whose wait varies, as wscalc's does.
	refuseEvery int64

	replies atomic.Int64
	pongs   atomic.Int64
	dropped atomic.Int64
	wg      sync.WaitGroup
}

func startTableServer(t *testing.T, configure func(*tableServer)) *tableServer {
	t.Helper()
	s := &tableServer{answers: map[string]string{}}
	for _, e := range Builtin() {
		s.answers[e.Line] = e.Want
	}
	if configure != nil {
		configure(s)
	}
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
	hs := httptest.NewServer(http.HandlerFunc(s.serveWS))
	s.WS = hs.Listener.Addr().String()
	t.Cleanup(func() {
		l.Close()
		hs.Close()
		s.wg.Wait()
	})
	return s
}

// answer returns the reply to line and whether to send it.
func (s *tableServer) answer(line string) (string, bool) {
	n := s.replies.Add(1)
	if s.dropEvery > 0 && n%s.dropEvery == 0 {
		s.dropped.Add(1)
		return "", false
	}
	if s.refuseEvery > 0 && n%s.refuseEvery == 0 {
		return fmt.Sprintf("Error: session budget exhausted, try again in %d s", 1+n%57), true
	}
	if line == s.wrong {
		return "wrong", true
	}
	if rest, ok := strings.CutPrefix(line, "echo:"); ok {
		return rest, true
	}
	if a, ok := s.answers[line]; ok {
		return a, true
	}
	return "Error: not in the table", true
}

func (s *tableServer) serveTCP(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	sent := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			w.Flush()
			return
		}
		if reply, ok := s.answer(strings.TrimSuffix(line, "\n")); ok {
			w.WriteString(reply + "\n")
			sent++
		}
		if s.closeAfter > 0 && sent >= s.closeAfter {
			w.Flush()
			return
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

func (s *tableServer) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ws" {
		http.NotFound(w, r)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if s.pingEvery > 0 {
		go func() {
			t := time.NewTicker(s.pingEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if c.Ping(ctx) == nil {
						s.pongs.Add(1)
					}
				}
			}
		}()
	}
	sent := 0
	for {
		_, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		if reply, ok := s.answer(string(p)); ok {
			if c.Write(ctx, websocket.MessageText, []byte(reply)) != nil {
				return
			}
			sent++
		}
		if s.closeAfter > 0 && sent >= s.closeAfter {
			c.Close(websocket.StatusTryAgainLater, "server busy")
			return
		}
	}
}
