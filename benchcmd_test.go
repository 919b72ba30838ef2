package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/bench"
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
			var sum bench.Summary
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
	for _, e := range bench.Builtin() {
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
