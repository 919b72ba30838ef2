package tcp_test

import (
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tooLong = "Error: expression too long (limit 4096 bytes)"

// padded returns expr followed by a comment that makes the line exactly n bytes long.
func padded(expr string, n int) string {
	return expr + " #" + strings.Repeat("x", n-len(expr)-2)
}

func TestBadInputRowsKeepTheConnectionUsable(t *testing.T) {
	for _, tc := range []struct {
		name, send, want string
	}{
		{"line over the limit", strings.Repeat("1", 4097) + "\n", tooLong},
		{"line over the limit with CRLF", strings.Repeat("1", 4097) + "\r\n", tooLong},
		{"line far over the limit", strings.Repeat("9", 100_000) + "\n", tooLong},
		{"line at the limit is evaluated", padded("6 * 7", 4096) + "\n", "42"},
		{"CR LF do not count", padded("6 * 7", 4096) + "\r\n", "42"},
		{"invalid UTF-8", "1 + \xff\xfe\n", "Error: input is not valid UTF-8"},
		{"truncated UTF-8 sequence", "2 * \xc3\n", "Error: input is not valid UTF-8"},
		{"UTF-16 surrogate", "\xed\xa0\x80\n", "Error: input is not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, nil)
			c := dial(t, ts.addr)
			c.send(tc.send)
			got := c.line()
			require.Equal(t, tc.want, got)
			require.True(t, utf8.ValidString(got), "the reply never echoes invalid bytes")
			require.Equal(t, "5", c.ask("2 + 3"), "the connection stays usable")
		})
	}
}

func TestLongLineWithoutNewlineIsNotBuffered(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	chunk := []byte(strings.Repeat("7", 64<<10))

	// The reply comes while the line is still going on: the server does not wait for
	// the newline that may never come.
	c.send(string(chunk))
	require.Equal(t, tooLong, c.line())

	// 32 MiB more of the same line: a server that kept the line would allocate at least
	// that much.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const total = 32 << 20
	for sent := 0; sent < total; sent += len(chunk) {
		c.conn.SetWriteDeadline(time.Now().Add(patience))
		_, err := c.conn.Write(chunk) // no conversions: the client allocates nothing here
		require.NoError(t, err)
	}
	c.send("\n")
	require.Equal(t, "5", c.ask("2 + 3"), "the rest of the long line got no reply")
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes while %d bytes of one line arrived", allocated, total)
	assert.Less(t, allocated, uint64(total/4), "bytes allocated while the long line streamed in")
}

func TestHTTPRequestsAreToldWhereToGo(t *testing.T) {
	const want = "Error: this port speaks the line protocol; open http://" + httpAddr + "/ in a browser"
	for _, tc := range []struct{ name, send string }{
		{"GET", "GET / HTTP/1.1\r\nHost: 127.0.0.1:10000\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"},
		{"POST", "POST /api/eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"expr\":\"1+1\"}"},
		{"HEAD", "HEAD / HTTP/1.0\r\n\r\n"},
		{"PUT", "PUT /x HTTP/1.1\r\n"},
		{"OPTIONS", "OPTIONS * HTTP/1.1\r\n"},
		{"DELETE", "DELETE /things/1 HTTP/1.1\n"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"HTTP/0.9", "GET /index.html\r\n"},
		{"absolute URL", "GET http://127.0.0.1:10000/ HTTP/1.1\r\n"},
		{"Host header", "Host: 127.0.0.1:10000\r\n"},
		{"hyphenated header", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"},
		{"after a good line", "1 + 1\nGET / HTTP/1.1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, nil)
			c := dial(t, ts.addr)
			c.send(tc.send)
			if strings.HasPrefix(tc.send, "1 + 1\n") {
				c.expect("2")
			}
			c.expect(want)
			c.expectEOF()
			assert.Equal(t, "http request", endOf(t, ts.logs, c)["reason"])
		})
	}
}

func TestLinesThatOnlyResembleHTTPAreEvaluated(t *testing.T) {
	ts := start(t, nil)
	c := dial(t, ts.addr)
	// Not requests: no HTTP version, not a known method with a path, not a header name.
	for _, line := range []string{"GET", "GET / 2", "get / http/1.1", "x: 3", "HTTP/1.1"} {
		reply := c.ask(line)
		assert.True(t, strings.HasPrefix(reply, "Error"), "%q: %q", line, reply)
		assert.NotContains(t, reply, "line protocol", "%q", line)
	}
	require.Equal(t, "5", c.ask("2 + 3"), "still connected")
}
