package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/client"
	"wscalc/client/ptytest"
)

func evalCmd(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runEval(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestParseEvalArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		lines   []string
		history string // "" means the default
		err     string
	}{
		{args: []string{"2", "+", "3"}, lines: []string{"2 + 3"}},
		{args: []string{"2 + 3"}, lines: []string{"2 + 3"}},
		{args: []string{"-e", "x = 6", "-e", "x * 7"}, lines: []string{"x = 6", "x * 7"}},
		{args: []string{"-e", "x = 6", "x", "*", "7"}, lines: []string{"x = 6", "x * 7"}},
		{args: []string{"-e=1", "--e", "2", "--e=3"}, lines: []string{"1", "2", "3"}},
		{args: []string{"-e"}, lines: []string{"-e"}}, // alone: the negated constant
		{args: []string{"-e", "-e"}, lines: []string{"-e"}},
		{args: []string{"-pi", "*", "2"}, lines: []string{"-pi * 2"}},
		{args: []string{"-5"}, lines: []string{"-5"}},
		{args: []string{"--", "-x", "+", "1"}, lines: []string{"-x + 1"}},
		{args: []string{"-history", "/tmp/h", "1"}, lines: []string{"1"}, history: "/tmp/h"},
		{args: []string{"-history=", "1"}, lines: []string{"1"}, history: "none"},
		{args: nil},
		{args: []string{"-x"}, err: "unknown flag -x"},
		{args: []string{"-e", "1", "-e"}, err: "flag needs an argument: -e"},
		{args: []string{"-history"}, err: "flag needs an argument: -history"},
	} {
		a, err := parseEvalArgs(tc.args)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, "%q", tc.args)
			continue
		}
		require.NoError(t, err, "%q", tc.args)
		assert.Equal(t, tc.lines, a.lines, "%q", tc.args)
		switch tc.history {
		case "":
			assert.Equal(t, client.DefaultHistoryFile(), a.history, "%q", tc.args)
		case "none":
			assert.Empty(t, a.history, "%q", tc.args)
		default:
			assert.Equal(t, tc.history, a.history, "%q", tc.args)
		}
	}
}

// `wscalc eval 2 + 3` prints 5: the arguments are one line, as in qalc. -e gives lines.
func TestEvalArgumentsAndLines(t *testing.T) {
	code, out, errOut := evalCmd("", "2", "+", "3")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "5\n", out)

	code, out, _ = evalCmd("ignored\n", "-e", "x = 6", "-e", "x * 7", "-e", "sqrt")
	assert.Equal(t, 0, code)
	assert.Equal(t, "x = 6\n42\nsqrt is a function: sqrt(x) — help sqrt\n", out)

	code, out, _ = evalCmd("", "-e", "1/0", "-e", "quit", "-e", "2")
	assert.Equal(t, 1, code)
	assert.Equal(t, "Error at column 2: division by zero\n", out)

	code, out, _ = evalCmd("", "-e")
	assert.Equal(t, 0, code)
	assert.Equal(t, "≈ -2.71828182845905\n", out)

	code, _, errOut = evalCmd("", "-nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "wscalc eval: unknown flag -nope\nusage: wscalc eval")

	code, out, _ = evalCmd("", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "usage: wscalc eval [-e LINE]... [-history FILE] [EXPR ...]")
}

// Piped stdin is answered line by line, as always: no prompt.
func TestEvalPipedStdin(t *testing.T) {
	code, out, errOut := evalCmd("x = 6\n\n# note\nx * 7\n1/0\nquit\n2\n")
	assert.Equal(t, 1, code, errOut)
	assert.Equal(t, "x = 6\n42\nError at column 2: division by zero\n", out)
	assert.NotContains(t, out, client.Prompt)
}

// On a terminal: a prompt, ↑ recall, Tab completion of names and variables, Ctrl-R,
// help wrapped to the width, the history file in $HOME, and Ctrl-D leaving on a fresh line.
func TestEvalOnATerminal(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	p := ptytest.Open(t, 50, 24)
	done := make(chan int, 1)
	go func() { done <- runEval(nil, p.TTY, p.TTY, p.TTY) }()
	p.Expect(t, client.Prompt)
	p.Type(t, "width = 12\r")
	p.Expect(t, "width = 12\r\n")
	p.Type(t, "wid\t * sq\t9)\r") // width * sqrt(9)
	p.Expect(t, "36\r\n")
	p.Type(t, "\x1b[A\x7f\x7f16)\r") // ↑, then edit: width * sqrt(16)
	p.Expect(t, "48\r\n")
	p.Type(t, "\x12= 1\r") // Ctrl-R: width = 12
	p.Expect(t, "width = 12\r\n")
	p.Type(t, "help sqrt\r")
	p.Expect(t, "sqrt(x): square root; exact on perfect squares of\r\nrationals (sqrt(2.25) = 1.5), approximate\r\notherwise\r\n") // 49 columns at most
	p.Type(t, "1 +\r")
	p.Expect(t, "Error at column 4: unexpected end of input\r\n")
	p.Type(t, "\x04")
	assert.Equal(t, 0, waitCode(t, done, p), "errors on a terminal were seen: exit 0")
	p.Expect(t, "^D\r\n")
	assert.NotContains(t, p.Rest(), client.Prompt)
	data, err := os.ReadFile(filepath.Join(home, ".wscalc_history"))
	require.NoError(t, err)
	assert.Equal(t, "width = 12\nwidth * sqrt(9)\nwidth * sqrt(16)\nwidth = 12\nhelp sqrt\n1 +\n", string(data))
}

// quit leaves too, and Ctrl-C on a line being typed.
func TestEvalOnATerminalQuitAndCtrlC(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	for keys, want := range map[string]string{"quit\r": "quit\r\n", "2 +\x03": "^C\r\n"} {
		p := ptytest.Open(t, 80, 24)
		done := make(chan int, 1)
		go func() { done <- runEval([]string{"-history", ""}, p.TTY, p.TTY, p.TTY) }()
		p.Expect(t, client.Prompt)
		p.Type(t, keys)
		assert.Equal(t, 0, waitCode(t, done, p))
		p.Expect(t, want)
		assert.NotContains(t, p.Rest(), client.Prompt)
	}
}

// wscalc eval has no connection to be a room member with (rooms.md §2).
func TestEvalRefusesRoomCommands(t *testing.T) {
	code, out, _ := evalCmd("join lab\nwho\njoin = 2\njoin * 3\n")
	require.Equal(t, 1, code)
	require.Equal(t, "Error: rooms need a TCP or WebSocket connection\nError: rooms need a TCP or WebSocket connection\njoin = 2\n6\n", out)
}
