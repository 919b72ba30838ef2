package e2e

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// The address parsers must find the addresses in the startup lines the server prints.
func TestStartupLineParsing(t *testing.T) {
	for _, tc := range []struct{ line, http, tcp string }{
		{"wscalc: playground http://127.0.0.1:8080/", "127.0.0.1:8080", ""},
		{"wscalc: line protocol on 127.0.0.1:10000 (try: nc 127.0.0.1 10000)", "", "127.0.0.1:10000"},
		{"wscalc: playground http://[::1]:41234/", "[::1]:41234", ""},
		{"something else entirely: 127.0.0.1:5", "", ""},
	} {
		if got := httpAddrIn(tc.line); got != tc.http {
			t.Errorf("httpAddrIn(%q) = %q, want %q", tc.line, got, tc.http)
		}
		if got := tcpAddrIn(tc.line); got != tc.tcp {
			t.Errorf("tcpAddrIn(%q) = %q, want %q", tc.line, got, tc.tcp)
		}
	}
}

// The helper starts a server whose printed addresses really serve, stops it with a clean
// exit, and can start it again on the same ports (the browser tests' reconnect case).
func TestServerStartStopRestart(t *testing.T) {
	s := startServer(t)
	checkServing(t, s)
	if code := s.Stop(t); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d, want 0\n%s", code, s.Output())
	}
	again := startServerOn(t, s.HTTPAddr, s.TCPAddr)
	if again.HTTPAddr != s.HTTPAddr || again.TCPAddr != s.TCPAddr {
		t.Fatalf("restart bound %s, %s; want %s, %s", again.HTTPAddr, again.TCPAddr, s.HTTPAddr, s.TCPAddr)
	}
	checkServing(t, again)
	if code := again.Stop(t); code != 0 {
		t.Fatalf("exit status of the restarted server = %d, want 0\n%s", code, again.Output())
	}
}

// checkServing asserts that the TCP port accepts connections and the HTTP port answers
// /healthz with 200.
func checkServing(t *testing.T, s *server) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.TCPAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial TCP %s: %v", s.TCPAddr, err)
	}
	c.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: status %d, want 200", resp.StatusCode)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
