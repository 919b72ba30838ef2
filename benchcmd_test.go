package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/loadgen"
)

func benchCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code = runBench(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBenchChecksTheRealServer(t *testing.T) {
	tcpAddr, httpAddr := realServer(t)
	for proto, addr := range map[string]string{"tcp": tcpAddr, "ws": httpAddr} {
		t.Run(proto, func(t *testing.T) {
			code, out, errOut := benchCmd(t, "-proto", proto, "-addr", addr, "-conns", "4",
				"-pipeline", "4", "-requests", "400", "-check", "-json")
			require.Equal(t, 0, code, "stdout %s\nstderr %s", out, errOut)
			var sum loadgen.Summary
			require.NoError(t, json.Unmarshal([]byte(out), &sum))
			assert.Equal(t, 4, sum.Held)
			assert.Equal(t, int64(400), sum.Answered)
			assert.Zero(t, sum.Unanswered)
			assert.Zero(t, sum.Mismatches)
			assert.True(t, sum.Checked)
			assert.Contains(t, errOut, "4 of 4 connections open")
		})
	}
}

// droppingServer answers the built-in mix correctly but silently skips one reply in a
// thousand, the fault that `wscalc bench` exists to catch.
func droppingServer(t *testing.T) string {
	t.Helper()
	answers := map[string]string{}
	for _, e := range loadgen.Builtin() {
		answers[e.Line] = e.Want
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r, w := bufio.NewReader(c), bufio.NewWriter(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					mu.Lock()
					n++
					drop := n%1000 == 0
					mu.Unlock()
					if !drop {
						w.WriteString(answers[strings.TrimSuffix(line, "\n")] + "\n")
					}
					if r.Buffered() == 0 && w.Flush() != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String()
}

func TestBenchFailsWhenRepliesAreLost(t *testing.T) {
	addr := droppingServer(t)
	code, out, errOut := benchCmd(t, "-addr", addr, "-conns", "4", "-pipeline", "8",
		"-requests", "5000", "-timeout", "500ms")
	assert.Equal(t, 1, code, "stdout %s\nstderr %s", out, errOut)
	assert.Regexp(t, `[1-9]\d* never answered`, out)
	assert.Contains(t, out, "FAILED")
}

func TestBenchReadsAnExprsFile(t *testing.T) {
	tcpAddr, _ := realServer(t)
	file := filepath.Join(t.TempDir(), "load.txt")
	require.NoError(t, os.WriteFile(file, []byte("# mine\n7 * 6\t42\n2 ** 0.5\t≈ 1.4142135623731\n"), 0o644))
	code, out, errOut := benchCmd(t, "-addr", tcpAddr, "-conns", "2", "-requests", "50", "-exprs", file, "-check")
	assert.Equal(t, 0, code, "stdout %s\nstderr %s", out, errOut)
	assert.Contains(t, out, "50 answered, 0 never answered, 0 mismatches")

	// The same file with a wrong expectation fails the check.
	require.NoError(t, os.WriteFile(file, []byte("7 * 6\t43\n"), 0o644))
	code, out, _ = benchCmd(t, "-addr", tcpAddr, "-conns", "1", "-requests", "3", "-exprs", file, "-check")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "3 mismatches")
}

func TestBenchCommandLineErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "1s", "-requests", "5"},
		{"-proto", "udp"},
		{"-conns", "0"},
		{"-exprs", "/nonexistent/file"},
		{"extra"},
		{"-nope"},
	} {
		code, _, errOut := benchCmd(t, args...)
		assert.Equal(t, 2, code, "%v: %s", args, errOut)
	}
}

// budgetServer is the real server with a session budget of five powers (2 ** 10 costs
// 1000), set through the environment variable that `bench -h` names.
func budgetServer(t *testing.T, budget string) (tcpAddr, httpAddr string) {
	t.Setenv("WSCALC_SESSION_BUDGET", budget)
	return realServer(t)
}

func TestBenchReportsRefusalsAndFails(t *testing.T) {
	tcpAddr, _ := budgetServer(t, "5000")
	file := filepath.Join(t.TempDir(), "load.txt")
	require.NoError(t, os.WriteFile(file, []byte("2 ** 10\n"), 0o644))

	code, out, errOut := benchCmd(t, "-addr", tcpAddr, "-conns", "2", "-pipeline", "4",
		"-requests", "100", "-exprs", file)
	assert.Equal(t, 1, code, "stdout %s\nstderr %s", out, errOut)
	assert.Contains(t, out, "requests:     100 sent, 100 answered, 0 never answered, not checked")
	// Each of the 2 sessions affords at most 5 lines of cost 1000 from its 5000 units; the
	// measured time each line also costs (1 unit per 20 µs) may take the fifth.
	m := regexp.MustCompile(`replies:      (\d+) successful \(0 expected errors\), (\d+) error replies \((\d+) refusals\)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	ok, _ := strconv.Atoi(m[1])
	refused := 100 - ok
	assert.True(t, ok >= 8 && ok <= 10, "successful %d", ok)
	assert.Equal(t, []string{strconv.Itoa(refused), strconv.Itoa(refused)}, m[2:])
	assert.Regexp(t, `throughput:   \d+ req/s successful, \d+ error replies/s, over`, out)
	assert.Contains(t, out, fmt.Sprintf("error reply:  %d× Error: session budget exhausted, try again in N s  [refused: budget]", refused))
	assert.Contains(t, out, fmt.Sprintf("warning:      the server refused %d of 100 answered requests (%d.0%%: budget %d)", refused, refused, refused))
	assert.Contains(t, out, "`wscalc -session-budget 1000000000000` (or WSCALC_SESSION_BUDGET=1000000000000)")
	assert.Contains(t, out, fmt.Sprintf("FAILED: %d requests refused by the server", refused))

	// The same run as JSON: the new fields, and the warnings on stderr.
	code, out, errOut = benchCmd(t, "-addr", tcpAddr, "-conns", "2", "-pipeline", "4",
		"-requests", "100", "-exprs", file, "-json")
	assert.Equal(t, 1, code, "stdout %s\nstderr %s", out, errOut)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	okJSON, _ := raw["successful"].(float64)
	assert.True(t, okJSON >= 8 && okJSON <= 10, "successful %v", raw["successful"])
	refusedJSON := 100 - okJSON
	for field, want := range map[string]any{"answered": 100.0, "error_replies": refusedJSON,
		"expected_errors": 0.0, "refusals": refusedJSON, "refusal_kinds": map[string]any{"budget": refusedJSON},
		"error_classes": 1.0, "error_texts": []any{map[string]any{
			"text": "Error: session budget exhausted, try again in N s", "count": refusedJSON, "refusal": "budget"}},
	} {
		assert.Equal(t, want, raw[field], field)
	}
	assert.Positive(t, raw["rps"])
	assert.Positive(t, raw["error_rps"])
	assert.Contains(t, errOut, fmt.Sprintf("wscalc bench: warning: the server refused %d of 100", int(refusedJSON)))
	assert.Contains(t, errOut, "-session-budget 1000000000000")
}

func TestBenchPassesWhenTheExprsFileExpectsTheRefusal(t *testing.T) {
	tcpAddr, httpAddr := budgetServer(t, "500") // every power costs more than the whole budget
	file := filepath.Join(t.TempDir(), "load.txt")
	require.NoError(t, os.WriteFile(file, []byte(
		"2 ** 10\tError: expression too costly for the session budget (cost 1000, limit 500 units)\n"+
			"7\t7\n"), 0o644))
	for proto, addr := range map[string]string{"tcp": tcpAddr, "ws": httpAddr} {
		for _, check := range []string{"-check=false", "-check"} {
			code, out, errOut := benchCmd(t, "-proto", proto, "-addr", addr, "-conns", "2",
				"-requests", "40", "-exprs", file, check)
			assert.Equal(t, 0, code, "%s %s: stdout %s\nstderr %s", proto, check, out, errOut)
			assert.Contains(t, out, "replies:      40 successful (20 expected errors), 0 error replies (0 refusals)")
			assert.NotContains(t, out, "warning")
		}
	}

	// Without the expectation, the same refusals fail the run.
	require.NoError(t, os.WriteFile(file, []byte("2 ** 10\n7\t7\n"), 0o644))
	code, out, _ := benchCmd(t, "-addr", tcpAddr, "-conns", "2", "-requests", "40", "-exprs", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "20 error replies (20 refusals)")
	assert.Contains(t, out, "[refused: cost]")
}

func TestBenchHelpSaysHowToLiftTheBudget(t *testing.T) {
	code, _, errOut := benchCmd(t, "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "wscalc -session-budget 1000000000000")
	assert.Contains(t, errOut, "WSCALC_SESSION_BUDGET=1000000000000")
	assert.Contains(t, errOut, "200000 cost\nunits a minute")
}

// -room: a fan-out load on the real server's rooms, every event checked at every member.
func TestBenchRoom(t *testing.T) {
	_, httpAddr := realServer(t)
	awaitRooms(t, httpAddr)
	code, out, errOut := benchCmd(t, "-room", "bench", "-addr", httpAddr, "-conns", "4", "-room-writers", "2",
		"-duration", "300ms")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "room: 4 members, 2 writers")
	assert.Contains(t, out, "missing 0, out of order or repeated 0, not received by all 0, resets 0, error replies 0")
	assert.Regexp(t, `increments (\d+), final x (\d+)\n`, out)
	m := regexp.MustCompile(`increments (\d+), final x (\d+)\n`).FindStringSubmatch(out)
	assert.Equal(t, m[1], m[2], "no lost update")
}

func TestBenchRoomCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-room", "a b"}, "wscalc bench: invalid room name 'a b' (use 1-32 letters, digits, '-' or '_')\n"},
		{[]string{"-room", ""}, "wscalc bench: invalid room name '' (use 1-32 letters, digits, '-' or '_')\n"},
		{[]string{"-room", "lab", "-conns", "2", "-room-writers", "3"}, "wscalc bench: writers must be 1 to members (2), not 3\n"},
		{[]string{"-room", "lab", "-proto", "tcp"}, "wscalc bench: -proto does not apply to -room\n"},
		{[]string{"-room-writers", "2"}, "wscalc bench: -room-writers needs -room\n"},
	} {
		code, out, errOut := benchCmd(t, append([]string{"-addr", "127.0.0.1:1"}, c.args...)...)
		assert.Equal(t, 2, code, c.args)
		assert.Empty(t, out)
		assert.Equal(t, c.want, errOut)
	}
}
