package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"

	"wscalc/calc"
)

const evalUsage = `usage: wscalc eval [EXPR ...]

Evaluates each EXPR in one session and prints one reply line each; with no EXPR, reads
stdin and replies to every non-blank, non-comment line, flushing each reply (quit or exit
ends it). Exit status: 0 if every line succeeded, 1 if any line was an error, 2 for bad
usage. Put "--" before expressions that look like flags.
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

// runEval is `wscalc eval`: the stdin/stdout face of the line protocol.
func runEval(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch {
		case args[0] == "--":
			args = args[1:]
		case args[0] == "-h" || args[0] == "-help" || args[0] == "--help":
			fmt.Fprint(stdout, evalUsage)
			return 0
		case flagLike.MatchString(args[0]) && !isConstantArg(args[0]):
			fmt.Fprintf(stderr, "wscalc eval: unknown flag %s\n%s", args[0], evalUsage)
			return 2
		}
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var s calc.Session
	failed := false
	reply := func(line string) bool {
		res, err := s.Eval(line)
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
	if len(args) > 0 {
		for _, a := range args {
			if !reply(a) {
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
