package echo_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/tools/echo"
)

func TestTCPEchoesPipelinedLines(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go echo.ServeTCP(l)
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("a\nbb\nccc\n"))
	require.NoError(t, err)
	r := bufio.NewReader(c)
	for _, want := range []string{"a\n", "bb\n", "ccc\n"} {
		got, err := r.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestWebSocketEchoesMessages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(echo.WebSocket))
	defer srv.Close()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	defer c.CloseNow()
	for _, msg := range []string{"x", strings.Repeat("y", 10_000)} {
		require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(msg)))
		typ, got, err := c.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, websocket.MessageText, typ)
		assert.Equal(t, msg, string(got))
	}
}
