package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"wscalc/calc"
	"wscalc/client"
	"wscalc/rooms"
)

const evalUsage = `usage: wscalc eval [-e LINE]... [-history FILE] [EXPR ...]

Evaluates lines of the calculator language in one session, one reply line each:
  wscalc eval 2 + 3                   the arguments, joined with spaces, are one line: 5
  wscalc eval -e 'x = 6' -e 'x * 7'   each -e LINE in order, then the arguments if any
With neither, reads stdin. On a terminal: a prompt with line editing, history (↑/↓, Ctrl-R
to search, kept in -history, by default $HOME/.wscalc_history), Tab to complete names, and
help wrapped to the terminal's width; quit, exit, Ctrl-D or Ctrl-C leaves. Otherwise:
every non-blank, non-comment line is answered and each reply flushed; quit or exit ends it.

Exit status: 0 if every line succeeded (and on a terminal, whatever was typed), 1 if any
line was an error, 2 for bad usage. Put "--" before expressions that look like flags;
-pi, -tau, -deg, and -e alone, are expressions.
`

// flagLike matches an argument that can only be meant as a flag. Negated constants such
// as -pi are expressions; any other negated name would be unknown in a fresh session.
var flagLike = regexp.MustCompile(`^--?[A-Za-z][A-Za-z0-9_-]*$`)

func isConstantArg(arg string) bool {
	switch arg {
	case "-pi", "-e", "-tau", "-deg":
		return true
	}
	return false
}

// evalArgs is a parsed `wscalc eval` command line.
type evalArgs struct {
	lines   []string // from -e, then the joined arguments
	history string
	help    bool
}

// parseEvalArgs reads the flags, which come first, and joins the remaining arguments into
// one line, as qalc does: `wscalc eval 2 + 3` is the line "2 + 3".
func parseEvalArgs(args []string) (evalArgs, error) {
	a := evalArgs{history: client.DefaultHistoryFile()}
	value := func(i int, name string) (string, error) {
		if i+1 >= len(args) {
			return "", fmt.Errorf("flag needs an argument: %s", name)
		}
		return args[i+1], nil
	}
	i := 0
flags:
	for i < len(args) {
		arg := args[i]
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-"), "=")
		if !strings.HasPrefix(arg, "-") {
			break
		}
		switch {
		case arg == "--":
			i++
			break flags
		case arg == "-h" || arg == "-help" || arg == "--help":
			a.help = true
			return a, nil
		case name == "e" && hasVal:
			a.lines = append(a.lines, val)
			i++
		case arg == "-e" || arg == "--e":
			if len(args) == 1 {
				break flags // `wscalc eval -e` alone is the negated constant, as it always was
			}
			v, err := value(i, arg)
			if err != nil {
				return a, err
			}
			a.lines = append(a.lines, v)
			i += 2
		case name == "history" && hasVal:
			a.history = val
			i++
		case arg == "-history" || arg == "--history":
			v, err := value(i, arg)
			if err != nil {
				return a, err
			}
			a.history = v
			i += 2
		case flagLike.MatchString(arg) && !isConstantArg(arg):
			return a, fmt.Errorf("unknown flag %s", arg)
		default:
			break flags
		}
	}
	if rest := args[i:]; len(rest) > 0 {
		a.lines = append(a.lines, strings.Join(rest, " "))
	}
	return a, nil
}

// runEval is `wscalc eval`: the stdin/stdout face of the line protocol.
func runEval(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a, err := parseEvalArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "wscalc eval: %v\n%s", err, evalUsage)
		return 2
	}
	if a.help {
		fmt.Fprint(stdout, evalUsage)
		return 0
	}
	if len(a.lines) == 0 {
		if in, out, ok := client.IsTerminal(stdin, stdout); ok {
			return evalTerminal(in, out, a.history, stderr)
		}
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var s calc.Session
	failed := false
	reply := func(line string) bool {
		res, err := evalLine(&s, line)
		switch {
		case errors.Is(err, calc.ErrQuit):
			return false
		case err != nil:
			failed = true
			fmt.Fprintln(out, err)
		case res.Kind != calc.KindNone:
			fmt.Fprintln(out, res.Display)
		}
		return out.Flush() == nil
	}
	if len(a.lines) > 0 {
		for _, l := range a.lines {
			if !reply(l) {
				break
			}
		}
	} else if err := eachLine(stdin, reply); err != nil {
		fmt.Fprintln(stderr, "wscalc eval:", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// evalLine evaluates a line of wscalc eval, which has no connection to be a room member
// with: the room commands are refused.
func evalLine(s *calc.Session, line string) (calc.Result, error) {
	if _, ok := rooms.ParseCommand(strings.TrimRight(line, "\r\n")); ok { // lines keep their newline here
		return calc.Result{}, &calc.Error{Msg: rooms.ErrNeedConnection.Msg}
	}
	return s.Eval(line)
}

// evalTerminal is `wscalc eval` on a terminal: a prompt with line editing, history and
// completion. It exits 0: the person has seen every error.
func evalTerminal(in, out *os.File, history string, stderr io.Writer) int {
	t, err := client.NewTerminal(client.TerminalConfig{In: in, Out: out, HistoryFile: history})
	if err != nil {
		fmt.Fprintln(stderr, "wscalc eval:", err)
		return 1
	}
	defer t.Close()
	var s calc.Session
	for {
		line, err := t.ReadLine()
		if err != nil { // Ctrl-D or Ctrl-C: readline has ended the line
			return 0
		}
		res, err := evalLine(&s, line)
		switch {
		case errors.Is(err, calc.ErrQuit):
			return 0
		case err != nil:
			fmt.Fprintln(t, err)
		case res.Kind != calc.KindNone:
			if res.Name != "" {
				t.Completer().AddVar(res.Name)
			}
			d := res.Display
			if client.IsHelpLine(line) {
				d = client.Wrap(d, t.Width()-1)
			}
			fmt.Fprintln(t, d)
		}
	}
}

// maxReadLine bounds how much of one stdin line is kept: past the language's line limit
// the rest is dropped, and the line is answered with the length error.
const maxReadLine = 64 << 10

// eachLine calls fn for each line of r until fn returns false or r ends. A final line
// without a newline counts.
func eachLine(r io.Reader, fn func(string) bool) error {
	br := bufio.NewReaderSize(r, maxReadLine)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long := string(line)
			for errors.Is(err, bufio.ErrBufferFull) { // discard the rest of the line
				_, err = br.ReadSlice('\n')
			}
			line = []byte(long)
		}
		if len(line) > 0 && !fn(string(line)) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
