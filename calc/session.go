package calc

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Session is the state of one connection: its variables, ans, and budget. The zero value
// is ready to use with the default limits. A Session is not safe for concurrent use: give
// each connection its own.
type Session struct {
	// Limits bound each line; zero fields mean the defaults. Set before the first Eval.
	Limits Limits
	// Clock returns the current time, for the budget and the evaluation time limit; nil
	// means time.Now. Tests set it to control time.
	Clock func() time.Time

	vars    map[string]value
	order   []string // variable names in first-assignment order
	ans     value
	hasAns  bool
	budget  bucket
	scratch scratch // buffers reused from line to line

	lastDuration time.Duration
	epoch        time.Time // see now
}

// scratch holds per-line buffers that a session reuses, so that a typical line allocates
// little beyond its result.
type scratch struct {
	runes []rune
	tree  tree
	eval  evaluator
}

// now reads the session's clock. Without a Clock it reads only the monotonic clock, from
// an epoch taken once: half the cost of time.Now, which also reads the wall clock, and
// budgets and time limits only need elapsed time.
func (s *Session) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	if s.epoch.IsZero() {
		s.epoch = time.Now()
	}
	return s.epoch.Add(time.Since(s.epoch))
}

// Eval evaluates one line (a trailing "\n" or "\r\n" is ignored) and returns its result
// or an error. Errors are *Error, except ErrQuit for the quit and exit commands. A blank
// or comment-only line gives a Result of KindNone, to which nothing is replied. Errors
// leave the session unchanged.
func (s *Session) Eval(line string) (Result, error) {
	lim := s.Limits.WithDefaults()
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(line) > lim.MaxLineBytes {
		return Result{}, &Error{Msg: "expression too long (limit " + strconv.Itoa(lim.MaxLineBytes) + " bytes)"}
	}
	if !utf8.ValidString(line) {
		return Result{}, &Error{Msg: "input is not valid UTF-8"}
	}
	src := s.mapLine(line)
	s.lastDuration = 0
	if isBlankRunes(src) {
		return Result{}, nil
	}
	if res, err, ok := s.command(src); ok {
		return res, err
	}
	start := s.now()
	defer func() { s.lastDuration = s.since(start) }()
	t, err := s.parse(src, lim)
	if err != nil {
		return Result{}, err
	}
	return s.run(t, lim, start)
}

// LastDuration is how long the last expression line took to parse and evaluate (zero for
// blank lines and commands), for the callers' metrics: it saves them reading the clock
// around Eval, which the session reads anyway.
func (s *Session) LastDuration() time.Duration { return s.lastDuration }

func (s *Session) since(start time.Time) time.Duration {
	if s.Clock != nil {
		return s.Clock().Sub(start)
	}
	return time.Since(start) // monotonic only: cheaper than a second time.Now
}

// mapLine maps the line's characters and cuts its comment.
func (s *Session) mapLine(line string) []rune {
	src := s.scratch.runes[:0]
	for _, r := range line {
		src = append(src, mapRune(r))
	}
	s.scratch.runes = src
	for i, r := range src {
		if r == '#' {
			return src[:i]
		}
	}
	return src
}

func isBlankRunes(src []rune) bool {
	for _, r := range src {
		if !isBlank(r) {
			return false
		}
	}
	return true
}

// commands are whole-line, case-insensitive words; they cannot be assigned.
var commands = map[string]bool{"help": true, "vars": true, "quit": true, "exit": true}

func (s *Session) command(src []rune) (Result, error, bool) {
	if res, err, ok := s.helpLine(src); ok { // help NAME, or a function's name alone: help.go
		return res, err, true
	}
	word := trimBlanks(src)
	if len(word) != 4 { // every command has four letters: skip the conversion otherwise
		return Result{}, nil, false
	}
	switch strings.ToLower(string(word)) {
	case "quit", "exit":
		return Result{}, ErrQuit, true
	case "help":
		return Result{Display: helpText, Kind: KindText}, nil, true
	case "vars":
		return Result{Display: s.varsText(), Kind: KindText}, nil, true
	}
	return Result{}, nil, false
}

func trimBlanks(src []rune) []rune {
	for len(src) > 0 && isBlank(src[0]) {
		src = src[1:]
	}
	for len(src) > 0 && isBlank(src[len(src)-1]) {
		src = src[:len(src)-1]
	}
	return src
}

const helpText = "operators: + - * / // % mod ** ^ ! ~ << >> & | ( ) and x = expr; " +
	"functions: abs sign floor ceil trunc round sqrt cbrt exp ln log10 log2 log(x,b) sin cos tan " +
	"asin acos atan atan2 sinh cosh tanh gcd lcm factorial min max xor; constants: pi e tau deg; " +
	"ans or _ is the last result, a line starting with * / // % ** ^ continues it; " +
	"exact unless marked ≈; commands: help vars quit"

func (s *Session) varsText() string {
	if len(s.order) == 0 {
		return "no variables"
	}
	parts := make([]string, len(s.order))
	for i, name := range s.order {
		parts[i] = name + " = " + format(s.vars[name]).display
	}
	return strings.Join(parts, ", ")
}

// isReserved reports whether name cannot be assigned.
func isReserved(name string) bool {
	if _, ok := constants[name]; ok {
		return true
	}
	if _, ok := functions[name]; ok {
		return true
	}
	return name == "ans" || name == "_" || name == "mod" || commands[strings.ToLower(name)]
}

func (s *Session) parse(src []rune, lim Limits) (*tree, error) {
	t := &s.scratch.tree
	t.reset()
	p := parser{
		lx:       lexer{src: src, eol: len(src) + 1},
		maxDepth: lim.MaxDepth,
		maxBits:  lim.MaxBits,
		t:        t,
		vars:     s.vars,
	}
	if err := p.parseLine(); err != nil {
		return nil, err
	}
	if len(t.nodes) > lim.MaxNodes {
		return nil, &Error{Msg: "expression too complex (limit " + strconv.Itoa(lim.MaxNodes) + " nodes)"}
	}
	return t, nil
}

// run charges the line's cost, evaluates it and records the result.
func (s *Session) run(t *tree, lim Limits, now time.Time) (Result, error) {
	if err := s.budget.charge(now, t.cost, lim); err != nil {
		return Result{}, err
	}
	e := &s.scratch.eval
	*e = evaluator{t: t, s: s, lim: lim, start: now, vals: e.vals}
	v, err := e.run()
	s.budget.debit(e.dynCost)
	if err != nil {
		return Result{}, err
	}
	name := ""
	if t.assign != nil {
		name = t.assign.text
		if err := s.store(*t.assign, v, lim); err != nil {
			return Result{}, err
		}
	}
	s.ans, s.hasAns = v, true
	f := format(v)
	res := Result{Display: f.display, Kind: f.kind, Value: f.value, Decimal: f.decimal, Name: name}
	if name != "" {
		res.Display = name + " = " + f.display
	}
	return res, nil
}

func (s *Session) store(name token, v value, lim Limits) error {
	if _, ok := s.vars[name.text]; !ok {
		if len(s.order) >= lim.MaxVars {
			return errAt(name, "too many variables (limit %d)", lim.MaxVars)
		}
		if s.vars == nil {
			s.vars = make(map[string]value)
		}
		s.order = append(s.order, name.text)
	}
	s.vars[name.text] = v
	return nil
}

// bucket is the session's token bucket: Budget units, refilled evenly over BudgetWindow.
type bucket struct {
	started bool
	units   float64
	last    time.Time
}

func (b *bucket) refill(now time.Time, lim Limits) {
	capacity := float64(lim.Budget)
	if !b.started {
		b.started, b.units, b.last = true, capacity, now
		return
	}
	if el := now.Sub(b.last); el > 0 {
		b.units = math.Min(capacity, b.units+capacity*el.Seconds()/lim.BudgetWindow.Seconds())
		b.last = now
	}
}

// charge takes a line's static cost, or refuses the line with the wait until it fits.
func (b *bucket) charge(now time.Time, cost int, lim Limits) error {
	b.refill(now, lim)
	if cost > lim.Budget {
		return &Error{Msg: "expression too costly for the session budget (cost " + strconv.Itoa(cost) +
			", limit " + strconv.Itoa(lim.Budget) + " units)"}
	}
	if float64(cost) > b.units {
		rate := float64(lim.Budget) / lim.BudgetWindow.Seconds()
		wait := int(math.Ceil((float64(cost) - b.units) / rate))
		return &Error{Msg: "session budget exhausted, try again in " + strconv.Itoa(max(wait, 1)) + " s"}
	}
	b.units -= float64(cost)
	return nil
}

// debit takes the cost of large results, known only after evaluating; the bucket may go
// below zero, which delays the next lines.
func (b *bucket) debit(units int) { b.units -= float64(units) }
