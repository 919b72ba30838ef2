// Package calctest loads the golden corpus of the calculator language (calc/testdata) so
// that every transport can replay the same cases: the core in-process, and the TCP,
// WebSocket and HTTP servers over the wire. See calc/testdata/README.md for the format.
package calctest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Step is one input line and the reply it must get. NoReply is true for a line that must
// get no reply at all (blank or comment-only).
type Step struct {
	Input   string
	Want    string
	NoReply bool
	Line    int // line of the input in its file
}

// Case is a block of steps that run in order in one fresh session.
type Case struct {
	File  string
	Line  int // line of the first step
	Steps []Step
}

// Name identifies the case in test output: "file.calc:12".
func (c Case) Name() string { return fmt.Sprintf("%s:%d", filepath.Base(c.File), c.Line) }

// Dir returns the absolute path of calc/testdata, wherever the calling test runs from.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// LoadAll loads every *.calc file of Dir, in name order.
func LoadAll() ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(Dir(), "*.calc"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var all []Case
	for _, f := range files {
		cs, err := LoadFile(f)
		if err != nil {
			return nil, err
		}
		all = append(all, cs...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("calctest: no cases in %s", Dir())
	}
	return all, nil
}

// LoadFile parses one corpus file.
func LoadFile(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := parser{file: path}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := p.line(n, sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	p.endCase()
	return p.cases, nil
}

type parser struct {
	file  string
	cases []Case
	cur   *Case
}

func (p *parser) line(n int, text string) error {
	switch {
	case text == "":
		p.endCase()
	case strings.HasPrefix(text, "\t"):
		if p.cur == nil || len(p.cur.Steps) == 0 {
			return fmt.Errorf("%s:%d: expected reply without an input line", p.file, n)
		}
		last := &p.cur.Steps[len(p.cur.Steps)-1]
		if !last.NoReply || last.Want != "" {
			return fmt.Errorf("%s:%d: second reply for one input", p.file, n)
		}
		last.Want, last.NoReply = text[1:], false
	case strings.HasPrefix(text, "##"):
		// corpus comment
	default:
		if p.cur == nil {
			p.cur = &Case{File: p.file, Line: n}
		}
		// An input is NoReply until its reply line arrives.
		p.cur.Steps = append(p.cur.Steps, Step{Input: unescape(text), NoReply: true, Line: n})
	}
	return nil
}

func (p *parser) endCase() {
	if p.cur != nil {
		p.cases = append(p.cases, *p.cur)
		p.cur = nil
	}
}

// unescape turns the corpus's only escape, a leading backslash before a tab or a
// backslash (`\<TAB>…`, `\\…`), into the character it protects, so inputs may start with
// a tab or a literal "##".
func unescape(s string) string {
	if strings.HasPrefix(s, `\`) && len(s) > 1 {
		return s[1:]
	}
	return s
}

// budgetWait matches the refusal of an exhausted budget; its wait depends on how long the
// lines before it took (the budget charges measured time and refills with real time).
var budgetWait = regexp.MustCompile(`^Error: session budget exhausted, try again in (\d+) s$`)

// SameReply reports whether a transport's reply got matches the corpus's want. It is
// exact but for the wait of an exhausted budget, which may differ by a few seconds: a
// replay over a real connection on a loaded machine measures more time than the core's
// own replay, so it charges more and refills longer.
func SameReply(got, want string) bool {
	g, w := budgetWait.FindStringSubmatch(got), budgetWait.FindStringSubmatch(want)
	if g == nil || w == nil {
		return got == want
	}
	gs, _ := strconv.Atoi(g[1])
	ws, _ := strconv.Atoi(w[1])
	return gs >= ws-3 && gs <= ws+3
}

// SameReplies is SameReply for each of a case's replies, in order.
func SameReplies(got, want []string) bool {
	return slices.EqualFunc(got, want, SameReply)
}
