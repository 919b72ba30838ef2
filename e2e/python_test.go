package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const pythonTimeout = 30 * time.Second // interpreter start-up plus a bounded session

// pyExprs are sent by the Python client in both modes; pyReply is what each must get.
var pyExprs = []string{"2 + 3 * 4", "1/3", "1 / 0", "r = sqrt(2)", "nosuch + 1", "0.1 + 0.2"}

type pyReply struct {
	Type    string `json:"type"`
	Kind    string `json:"kind"`
	Display string `json:"display"`
	Value   string `json:"value"`
	Decimal string `json:"decimal"`
	Name    string `json:"name"`
	Message string `json:"message"`
	Column  int    `json:"column"`
	End     int    `json:"end"`
}

var pyWant = []pyReply{
	{Type: "result", Kind: "integer", Display: "14", Value: "14", Decimal: "14"},
	{Type: "result", Kind: "rational", Display: "1/3 ≈ 0.33333333333333333333", Value: "1/3",
		Decimal: "0.33333333333333333333"},
	{Type: "error", Display: "Error at column 3: division by zero", Message: "division by zero",
		Column: 3, End: 3},
	{Type: "result", Kind: "approx", Display: "r = ≈ 1.4142135623731", Decimal: "1.4142135623731",
		Value: "1.4142135623730951", Name: "r"},
	{Type: "error", Display: "Error at column 1: unknown name 'nosuch'",
		Message: "unknown name 'nosuch'", Column: 1, End: 6},
	{Type: "result", Kind: "rational", Display: "0.3", Value: "3/10", Decimal: "0.3"},
}

// The JSON subprotocol with a third-party client (Debian's python3-websockets) sending the
// page's Origin: hello first, then one reply per request with its id echoed verbatim,
// results and errors with their structured fields, pipelined and in order.
func TestPythonWebSocketJSON(t *testing.T) {
	py := requirePythonWebsockets(t)
	s := startServer(t)
	msgs := runPythonClient(t, py, s.WSURL(), append([]string{"--json", "--origin", s.URL(), "--"}, pyExprs...)...)
	if len(msgs) != len(pyExprs)+3 {
		t.Fatalf("got %d messages, want open, hello, %d replies, closed:\n%s", len(msgs), len(pyExprs), dumpJSON(msgs))
	}
	if msgs[0]["event"] != "open" || msgs[0]["subprotocol"] != "wscalc.v1.json" {
		t.Errorf("handshake: %v, want subprotocol wscalc.v1.json", msgs[0])
	}
	if hello := msgs[1]; hello["type"] != "hello" || hello["session"] == "" || hello["session"] == nil {
		t.Errorf("first message = %v, want a hello with a session id", hello)
	}
	for k, raw := range msgs[2 : 2+len(pyExprs)] {
		var got pyReply
		remarshal(t, raw, &got)
		if got != pyWant[k] {
			t.Errorf("reply to %q:\n got %+v\nwant %+v", pyExprs[k], got, pyWant[k])
		}
		// The client sends number ids for odd k+1 and string ids "r<k+1>" for even.
		var wantID any = float64(k + 1)
		if (k+1)%2 == 0 {
			wantID = "r" + itoa(k+1)
		}
		if raw["id"] != wantID || raw["input"] != pyExprs[k] {
			t.Errorf("reply %d: id %#v input %#v, want id %#v input %q", k, raw["id"], raw["input"], wantID, pyExprs[k])
		}
	}
	if last := msgs[len(msgs)-1]; last["event"] != "closed" || last["code"] != float64(1000) {
		t.Errorf("end of session: %v, want a normal close (1000)", last)
	}
}

// The plain text mode, as wscat users get it: no subprotocol, no Origin header (not a
// browser), one text reply per line, and quit closes with 1000.
func TestPythonWebSocketText(t *testing.T) {
	py := requirePythonWebsockets(t)
	s := startServer(t)
	msgs := runPythonClient(t, py, s.WSURL(), append([]string{"--quit", "--"}, pyExprs...)...)
	if len(msgs) != len(pyExprs)+2 {
		t.Fatalf("got %d messages, want open, %d replies, closed:\n%s", len(msgs), len(pyExprs), dumpJSON(msgs))
	}
	if msgs[0]["event"] != "open" || msgs[0]["subprotocol"] != nil {
		t.Errorf("handshake: %v, want no subprotocol", msgs[0])
	}
	for k, m := range msgs[1 : 1+len(pyExprs)] {
		if m["text"] != pyWant[k].Display {
			t.Errorf("reply to %q = %#v, want %q", pyExprs[k], m["text"], pyWant[k].Display)
		}
	}
	if last := msgs[len(msgs)-1]; last["event"] != "closed" || last["code"] != float64(1000) {
		t.Errorf("after quit: %v, want close 1000", last)
	}
}

// WebSocket is same-origin by default: a page on another origin cannot open a session.
func TestPythonWebSocketForeignOrigin(t *testing.T) {
	py := requirePythonWebsockets(t)
	s := startServer(t)
	msgs := runPythonClient(t, py, s.WSURL(), "--json", "--origin", "http://evil.example", "--", "1 + 1")
	if len(msgs) != 1 || msgs[0]["event"] != "rejected" || msgs[0]["status"] != float64(403) {
		t.Fatalf("foreign origin: %s\nwant the handshake rejected with 403", dumpJSON(msgs))
	}
}

// runPythonClient runs testdata/wsclient.py and returns its JSON lines.
func runPythonClient(t *testing.T, py, url string, args ...string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"testdata/wsclient.py", url}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatalf("wsclient.py did not exit within %v\nstdout:\n%s\nstderr:\n%s", pythonTimeout, out, stderr.String())
	}
	if err != nil {
		t.Fatalf("wsclient.py: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	var msgs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("wsclient.py printed a line that is not JSON: %q", line)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// remarshal decodes a generic JSON object into a typed one.
func remarshal(t *testing.T, from any, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		t.Fatalf("decoding %v: %v", from, err)
	}
}

func dumpJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
