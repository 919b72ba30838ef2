package calc

import (
	"bytes"
	"context"
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
	// Gate, if not nil, is asked before a line's first heavy operation (see Gate).
	Gate Gate
	// Budget is the bucket the session's lines are charged to, which sessions may share;
	// nil means a bucket of the session's own, from Limits.
	Budget *Budget
	// ExactValue asks for the exact text of every exact result in Result.Value, however
	// long (see exactvalue.go): what the JSON replies carry. Without it, Value is empty when
	// a numerator or denominator has more than 4300 digits, and the line is spared the work.
	ExactValue bool

	vars    map[string]variable
	order   []string // variable names in first-assignment order
	ans     value
	hasAns  bool
	own     *Budget // the budget when Budget is nil
	scratch scratch // buffers reused from line to line

	// lim is Limits with its defaults, computed again only when Limits changes (limFrom).
	lim, limFrom Limits
	limOK        bool

	lastDuration time.Duration
	epoch        time.Time // see now
	slow         float64   // the slowdown the meter measured, carried to the next line
}

// variable is a stored variable: its value, and its text for vars.
type variable struct {
	v    value
	text string
	name string // the key, for the lexer to reuse (lexer.name)
}

// scratch holds per-line buffers that a session reuses, so that a typical line allocates
// little beyond its result.
type scratch struct {
	line   []byte // the mapped line, one byte a code point (mapLine)
	runes  []rune // its code points, for a line that is not all ASCII and for commands
	parser parser
	tree   tree
	eval   evaluator
	meter  meter
}

// release forgets the values of the line just evaluated: only what the session stores
// outlives a line.
func (sc *scratch) release() {
	sc.eval.release()
	if sc.tree.bigLits {
		clear(sc.tree.lits)
	}
	sc.tree.lits = sc.tree.lits[:0]
}

// budget is the bucket the session's lines are charged to.
func (s *Session) budget() *Budget {
	if s.Budget != nil {
		return s.Budget
	}
	if s.own == nil {
		s.own = NewBudget(s.Limits)
	}
	return s.own
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
	return s.EvalContext(context.Background(), line)
}

// EvalContext evaluates one line like Eval. When ctx is done (client gone, request
// cancelled, server closing) the evaluation stops at its next checkpoint and EvalContext
// returns ctx.Err() (context.Canceled or context.DeadlineExceeded), unwrapped, session
// unchanged; the work done until then is charged to the budget all the same. An error of
// the Gate is returned as it is.
func (s *Session) EvalContext(ctx context.Context, line string) (res Result, err error) {
	err = evalInto(s, ctx, line, reply{res: &res})
	return res, err
}

// EvalAppend evaluates one line like EvalContext and appends its reply line (what
// Result.Display would hold, without a line break) to dst, for a transport that reads
// and writes bytes anyway: the line is read as it is, without a string made of it, and
// an integer, a fraction of int64s or an approximate result is written straight into
// dst, so such a line allocates nothing, where EvalContext allocates the Display string. kind is the Result's Kind: KindNone (a blank or comment-only line)
// appends nothing, and nothing is to be replied. On error dst is returned as it was.
// The structured parts of a Result (Value, Decimal, Name) are not produced, so the
// session's ExactValue is of no use here.
func (s *Session) EvalAppend(ctx context.Context, dst, line []byte) (out []byte, kind Kind, err error) {
	a := appended{dst: dst}
	if err := evalInto(s, ctx, line, reply{app: &a}); err != nil {
		return dst, KindNone, err
	}
	return a.dst, a.kind, nil
}

// reply is where a line's answer goes: a Result (EvalContext), or its display text
// appended to a buffer (EvalAppend). The two are behind separate pointers so that the
// buffer, which escapes to the heap when it grows, does not make EvalContext's Result
// escape with it (escape analysis does not tell a struct's fields apart: one struct
// holding both cost EvalContext an allocation a line).
type reply struct {
	res *Result
	app *appended
}

// appended is EvalAppend's buffer and the Kind of what was appended to it.
type appended struct {
	dst  []byte
	kind Kind
}

// set records the answer of a line given as a Result.
func (r reply) set(res *Result) {
	if r.res == nil {
		r.app.dst, r.app.kind = append(r.app.dst, res.Display...), res.Kind
		return
	}
	// Field by field: a whole Result assigned through a pointer is copied by the runtime
	// with write barriers, which made a line "1" 10 % slower.
	out := r.res
	out.Display, out.Kind, out.Value, out.Decimal, out.Name = res.Display, res.Kind, res.Value, res.Decimal, res.Name
}

// appendSmall appends the display of a plain (not assigned) value when the reply goes to
// a buffer and the value is one appendSmallDisplay writes without a string: that is the
// allocation EvalAppend spares. It reports whether it did.
func (r reply) appendSmall(v *value) bool {
	if r.app == nil {
		return false
	}
	dst, kind, ok := appendSmallDisplay(r.app.dst, v)
	if ok {
		r.app.dst, r.app.kind = dst, kind
	}
	return ok
}

// lineText is a line as the callers hold it: a string (EvalContext) or bytes (EvalAppend).
type lineText interface{ string | []byte }

// evalInto evaluates one line into r: EvalContext and EvalAppend.
func evalInto[L lineText](s *Session, ctx context.Context, line L, r reply) error {
	lim := s.limits()
	line = trimEOL(line)
	if len(line) > lim.MaxLineBytes {
		return TooLongError(lim.MaxLineBytes)
	}
	src, wide, ok := mapLine(s, line)
	if !ok {
		return NotUTF8Error()
	}
	s.lastDuration = 0
	first, blank := firstNonBlank(src)
	if blank {
		return nil
	}
	if ctx.Done() != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if isLetter(rune(first)) { // every command, and a function's name alone, is a word
		if res, err, ok := s.command(s.runesOf(src, wide)); ok {
			if err == nil {
				r.set(&res)
			}
			return err
		}
	}
	start := s.now()
	m := &s.scratch.meter
	m.begin(ctx, s, lim, start)
	s.scratch.eval.dynCost = 0
	err := s.evalLine(src, wide, lim, m, r)
	waited := m.end()
	dynCost := s.scratch.eval.dynCost
	s.scratch.release()
	s.lastDuration = s.since(start)
	s.budget().debit(float64(dynCost) + workUnits(s.lastDuration-waited))
	return err
}

// limits returns the session's limits with their defaults filled in, by pointer: the
// line's functions share them rather than copy nine words each.
func (s *Session) limits() *Limits {
	if !s.limOK || s.Limits != s.limFrom {
		s.lim, s.limFrom, s.limOK = s.Limits.WithDefaults(), s.Limits, true
	}
	return &s.lim
}

// trimEOL drops the line's trailing "\n", then its trailing "\r".
func trimEOL[L lineText](line L) L {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// firstNonBlank returns the line's first character that is not a blank; blank is true
// when there is none (a blank line, or only a comment). It stops there: a line is not
// scanned to its end to know that it is not blank.
func firstNonBlank(src []byte) (c byte, blank bool) {
	for _, c := range src {
		if !isBlank(rune(c)) {
			return c, false
		}
	}
	return 0, true
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7F }

// evalLine parses and evaluates a line into r, whose Result is left alone on error. The
// result is written in place: a Result is twelve words, and returning it by value
// through the calls copied it three times (the profile of a line "1" showed the copies).
func (s *Session) evalLine(src []byte, wide []rune, lim *Limits, m *meter, r reply) error {
	t, err := s.parse(src, wide, lim, m)
	if err != nil {
		return err
	}
	return s.run(t, lim, m, r)
}

// LastDuration is how long the last expression line took to parse and evaluate (zero for
// blank lines and commands), waiting in the Gate included, for the callers' metrics: it
// saves them reading the clock around Eval, which the session reads anyway.
func (s *Session) LastDuration() time.Duration { return s.lastDuration }

func (s *Session) since(start time.Time) time.Duration {
	if s.Clock != nil {
		return s.Clock().Sub(start)
	}
	return time.Since(start) // monotonic only: cheaper than a second time.Now
}

// mapLine maps the line's characters and cuts its comment, checking the UTF-8 (ok is false
// if it is not valid). src holds one byte a code point, so that its indexes are the
// columns and the lexer scans bytes: a line all ASCII, nearly every line, is copied as it
// is, with no conversion to runes (mapping its characters to runes one by one was a
// tenth of a typical line, and a tight loop still 4 %). A mapped character that is not
// ASCII stands in src as the byte nonASCII; wide then holds every mapped code point of
// the line (mapWide); it is nil for a line all ASCII.
func mapLine[L lineText](s *Session, line L) (src []byte, wide []rune, ok bool) {
	n := asciiPrefix(line)
	src = append(s.scratch.line[:0], line[:n]...)
	if n < len(line) { // the rest as a string: a copy for bytes, on this rarer path only
		if src, wide, ok = mapWide(src, s.scratch.runes[:0], string(line[n:])); !ok {
			return nil, nil, false
		}
		s.scratch.runes = wide
	}
	s.scratch.line = src
	if cut := bytes.IndexByte(src, '#'); cut >= 0 {
		src = src[:cut]
		if wide != nil {
			wide = wide[:cut]
		}
	}
	return src, wide, true
}

// nonASCII stands in mapLine's bytes for a mapped character that is not ASCII.
const nonASCII = utf8.RuneSelf

// asciiPrefix returns the length of line's leading ASCII: all of it for nearly every line.
func asciiPrefix[L lineText](line L) int {
	for i := 0; i < len(line); i++ {
		if line[i] >= utf8.RuneSelf {
			return i
		}
	}
	return len(line)
}

// mapWide maps rest, the line after its leading ASCII (already in src), character by
// character, appending to src one byte a code point and to wide every code point of the
// line; ok is false if rest is not valid UTF-8.
func mapWide(src []byte, wide []rune, rest string) ([]byte, []rune, bool) {
	for _, c := range src {
		wide = append(wide, rune(c))
	}
	for i := 0; i < len(rest); {
		r, size := utf8.DecodeRuneInString(rest[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, nil, false
		}
		r = mapRune(r)
		wide = append(wide, r)
		if r >= utf8.RuneSelf {
			src = append(src, nonASCII)
		} else {
			src = append(src, byte(r))
		}
		i += size
	}
	return src, wide, true
}

// runesOf returns the code points of a mapped line: wide, or the bytes of a line all
// ASCII as runes (for the commands, whose words may be any letters).
func (s *Session) runesOf(src []byte, wide []rune) []rune {
	if wide != nil {
		return wide
	}
	runes := s.scratch.runes[:0]
	for _, c := range src {
		runes = append(runes, rune(c))
	}
	s.scratch.runes = runes
	return runes
}

// commands are whole-line, case-insensitive words; they cannot be assigned.
var commands = map[string]bool{"help": true, "vars": true, "quit": true, "exit": true}

// command answers the commands (help NAME and a function's name alone too: help.go); every
// text reply is charged by its size, so a long reply is never free.
func (s *Session) command(src []rune) (Result, error, bool) {
	res, err, ok := s.helpLine(src)
	if !ok {
		res, err, ok = s.wordCommand(src)
	}
	if !ok || err != nil || res.Kind != KindText {
		return res, err, ok
	}
	if err := s.budget().charge(s.now(), replyUnits(len(res.Display))); err != nil {
		return Result{}, err, true
	}
	return res, nil, true
}

// wordCommand answers help, vars, quit and exit.
func (s *Session) wordCommand(src []rune) (Result, error, bool) {
	word := trimBlanks(src)
	if len(word) != 4 { // every command has four letters: skip the conversion otherwise
		return Result{}, nil, false
	}
	switch w := strings.ToLower(string(word)); {
	case isQuitWord(w):
		return Result{}, ErrQuit, true
	case w == "help":
		return Result{Display: helpText, Kind: KindText}, nil, true
	case w == "vars":
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
	"exact unless marked ≈; commands: help, help NAME (help sqrt, help //), vars, quit"

func (s *Session) varsText() string {
	if len(s.order) == 0 {
		return "no variables"
	}
	parts := make([]string, len(s.order))
	for i, name := range s.order {
		parts[i] = name + " = " + s.vars[name].text
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

func (s *Session) parse(src []byte, wide []rune, lim *Limits, m *meter) (*tree, error) {
	t := &s.scratch.tree
	t.reset()
	p := &s.scratch.parser
	p.begin(src, wide, t, s.vars, lim, m)
	err := p.parseLine()
	p.end()
	if err != nil {
		return nil, err
	}
	if len(t.nodes) > lim.MaxNodes {
		return nil, &Error{Msg: "expression too complex (limit " + strconv.Itoa(lim.MaxNodes) + " nodes)"}
	}
	return t, nil
}

// run charges the line's static cost, evaluates it and records the result in r.
func (s *Session) run(t *tree, lim *Limits, m *meter, r reply) error {
	if err := s.budget().charge(m.start, float64(t.cost)); err != nil {
		return err
	}
	e := &s.scratch.eval
	e.begin(t, s, lim, m)
	v, err := e.run()
	if err != nil {
		return err
	}
	if v.isBig() {
		if err := e.spend(*v, value{}, formatCost(v.numBits(), v.denBits()), 0); err != nil {
			return err
		}
	}
	if t.assign == nil && r.appendSmall(v) { // EvalAppend: no string made
		return s.keepAns(v, lim)
	}
	f := format(v)
	if err := e.exactValue(*v, &f); err != nil {
		return err
	}
	display, name := f.display, ""
	if t.assign != nil {
		name = t.assign.text
		display = name + " = " + f.display
		if err := s.store(*t.assign, *v, f, lim); err != nil {
			return err
		}
		s.ans, s.hasAns = *v, true
	} else if err := s.keepAns(v, lim); err != nil {
		return err
	}
	r.set(&Result{Display: display, Kind: f.kind, Value: f.value, Decimal: f.decimal, Name: name})
	return nil
}

// ansAt is where a refusal to keep a result as ans points: the line's first column.
var ansAt = token{pos: 1, end: 1}

// keepAns makes a line's result, not assigned, the session's ans, if it may be held.
func (s *Session) keepAns(v *value, lim *Limits) error {
	if err := s.checkMemory(&ansAt, "", v, lim); err != nil {
		return err
	}
	s.ans, s.hasAns = *v, true
	return nil
}

func (s *Session) store(name token, v value, f formatted, lim *Limits) error {
	_, exists := s.vars[name.text]
	if !exists && len(s.order) >= lim.MaxVars {
		return errAt(name, "too many variables (limit %d)", lim.MaxVars)
	}
	if err := s.checkMemory(&name, name.text, &v, lim); err != nil {
		return err
	}
	if s.vars == nil {
		s.vars = make(map[string]variable)
	}
	if !exists {
		s.order = append(s.order, name.text)
	}
	s.vars[name.text] = variable{v: v, text: varText(v, f), name: name.text}
	return nil
}
