package loadgen_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/loadgen"
	"wscalc/tcp"
	"wscalc/ws"
)

// The real servers with a small session budget refuse most of a load, as a server with
// default settings refuses most of a long one: the load generator must say so.
func TestRealServersWithASmallBudgetRefuse(t *testing.T) {
	// Five powers per session, then a wait: the 500 units beyond five powers pay for the
	// measured time each line also costs (1 unit per 20 µs), never for a sixth power.
	small := calc.Limits{Budget: 5500}
	addrs := map[string]string{"tcp": startTCP(t, small), "ws": startWS(t, small)}
	exprs := []loadgen.Expr{{Line: "2 ** 10", Want: "1024", Checked: true}}
	for proto, addr := range addrs {
		t.Run(proto, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := loadgen.Run(ctx, loadgen.Config{Proto: proto, Addr: addr, Conns: 2, Pipeline: 4,
				Requests: 200, Exprs: exprs})
			require.NoError(t, err)
			assert.Equal(t, int64(200), s.Answered)
			assert.Equal(t, int64(10), s.Successful, "five per session")
			assert.Equal(t, int64(190), s.Refusals)
			assert.Equal(t, int64(190), s.ErrorReplies)
			assert.Equal(t, map[string]int64{"budget": 190}, s.RefusalKinds)
			require.Len(t, s.ErrorTexts, 1)
			assert.Equal(t, "Error: session budget exhausted, try again in N s", s.ErrorTexts[0].Text)
			assert.Equal(t, "budget", s.ErrorTexts[0].Refusal)
			assert.False(t, s.OK())
		})
	}
}

func startTCP(t *testing.T, limits calc.Limits) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, err := tcp.New(tcp.Config{Session: sessions(limits)})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, tcp.ErrServerClosed) {
			t.Error(err)
		}
	})
	return l.Addr().String()
}

func startWS(t *testing.T, limits calc.Limits) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h, err := ws.New(ws.Config{Session: sessions(limits)})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	hs := &http.Server{Handler: mux}
	go hs.Serve(l)
	t.Cleanup(func() {
		h.Close()
		hs.Close()
	})
	return l.Addr().String()
}
