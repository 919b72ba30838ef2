package client

import (
	"slices"
	"strings"
	"sync"

	"wscalc/calc"
)

// Completer completes the name before the cursor on Tab: functions (with their opening
// parenthesis), constants, ans, the session's variables and, at the start of a line, the
// commands. After "help " it completes every name help explains, without parentheses.
//
// The variables are told to it by the tool that sees the session: `wscalc eval` from each
// result, `wscalc client` from the replies to its own assignments. A session belongs to
// one connection, so the client sees every line of it and every variable it creates, and
// learns them without asking the server (`vars`) on Tab, which would wait behind a slow
// line and could not be told apart from the user's own `vars` in a pipelined stream.
type Completer struct {
	functions, constants, commands []string

	mu   sync.Mutex
	vars []string // sorted
}

// NewCompleter returns a completer that knows the language's names and no variables.
func NewCompleter() *Completer {
	f, c, cmd := calc.Names()
	return &Completer{functions: f, constants: append(c, "ans"), commands: cmd}
}

// AddVar records a variable of the session.
func (c *Completer) AddVar(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, found := slices.BinarySearch(c.vars, name); !found {
		c.vars = slices.Insert(c.vars, i, name)
	}
}

// ResetVars forgets the variables, as for a new session.
func (c *Completer) ResetVars() {
	c.mu.Lock()
	c.vars = nil
	c.mu.Unlock()
}

// Vars returns the variables known, sorted.
func (c *Completer) Vars() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.vars)
}

// Candidates returns the completions of the name that ends at pos in line: the text to
// insert after it for each match, and the length of the name typed so far.
func (c *Completer) Candidates(line string, pos int) (suffixes []string, typed int) {
	rs := []rune(line)
	if pos > len(rs) {
		pos = len(rs)
	}
	start := pos
	for start > 0 && isNameRune(rs[start-1]) {
		start--
	}
	word := string(rs[start:pos])
	if word != "" && !isNameStart(rs[start]) {
		return nil, 0 // the end of a number such as 0x1F
	}
	before := strings.Trim(string(rs[:start]), " \t")
	afterHelp := strings.EqualFold(before, "help")
	var names []string
	add := func(list []string, suffix string) {
		for _, n := range list {
			if strings.HasPrefix(n, word) {
				names = append(names, n[len(word):]+suffix)
			}
		}
	}
	switch {
	case afterHelp:
		add(c.functions, "")
		add(c.constants, "")
		add(c.commands, "")
		add([]string{"mod"}, "")
		add(c.Vars(), "")
	default:
		if before == "" {
			add(c.commands, "")
		}
		add(c.functions, "(")
		add(c.constants, "")
		add(c.Vars(), "")
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(word+a, word+b) })
	return slices.Compact(names), len([]rune(word))
}

// Do implements readline.AutoCompleter.
func (c *Completer) Do(line []rune, pos int) ([][]rune, int) {
	suffixes, typed := c.Candidates(string(line), pos)
	out := make([][]rune, len(suffixes))
	for i, s := range suffixes {
		out[i] = []rune(s)
	}
	return out, typed
}

func isNameStart(r rune) bool { return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isNameRune(r rune) bool  { return isNameStart(r) || r >= '0' && r <= '9' }

// IsHelpLine reports whether the line is the help command, alone or with a topic.
func IsHelpLine(line string) bool {
	if i := strings.IndexAny(line, "#＃"); i >= 0 {
		line = line[:i]
	}
	t := strings.Trim(line, " \t\u3000")
	if len(t) < 4 || !strings.EqualFold(t[:4], "help") {
		return false
	}
	return len(t) == 4 || t[4] == ' ' || t[4] == '\t' || strings.HasPrefix(t[4:], "\u3000")
}

// AssignedName returns the variable that a successful assignment's reply ("x = 3") names,
// given the line that was sent; ok is false for every other line or reply.
func AssignedName(line, reply string) (string, bool) {
	if !strings.ContainsAny(line, "=＝") || IsHelpLine(line) {
		return "", false
	}
	name, _, ok := strings.Cut(reply, " = ")
	if !ok || name == "" || !isNameStart(rune(name[0])) {
		return "", false
	}
	for _, r := range name {
		if !isNameRune(r) {
			return "", false
		}
	}
	return name, true
}

// Wrap breaks s into lines of at most width columns at spaces (a word longer than width
// stays whole), for prose such as help on a terminal. Columns are counted as code points.
func Wrap(s string, width int) string {
	if width < 20 {
		width = 20
	}
	var b strings.Builder
	col := 0
	for i, word := range strings.Split(s, " ") {
		n := len([]rune(word))
		switch {
		case i == 0:
		case col+1+n > width:
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
	}
	return b.String()
}
