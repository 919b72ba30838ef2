package calc

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// A session's shared state — its variables and ans — as plain data, for a room: the
// instance that evaluates a line turns its outcome into an Effect, stores it in the room's
// log, and every replica of the room replays it with Apply, never evaluating the line
// again; a snapshot (State) lets a replica start from the middle of the log (Restore).
// Values travel as their kind and exact text: as the JSON "value" field writes them while
// they fit in int64s ("14", "-1/8"), in hexadecimal beyond ("0x1f…", "-0x3/0x7a…"), since
// decimal text takes time that grows with the square of the digits (a million-bit integer:
// about 50 ms to write, 200 ms to read) and hexadecimal only linearly; an approximate value
// as the shortest text that reads back to the same binary64 ("-0" kept, so that a negative
// zero stays one). The conversion between a stored value and its text is in valueText and
// parseValue, the only two functions here that know how values are held.

// StoredValue is a value in exact, serialisable form.
type StoredValue struct {
	Kind  Kind   `json:"kind"`  // KindInteger, KindRational or KindApprox
	Value string `json:"value"` // "14", "1/3", "0.1", "0x1000000000000000000"
}

// Var is one variable of a State.
type Var struct {
	Name string `json:"name"`
	StoredValue
}

// State is a session's variables, in first-assignment order (nil when there are none), and
// ans (nil before any result).
type State struct {
	Vars []Var        `json:"vars"`
	Ans  *StoredValue `json:"ans"`
}

// Effect is what one evaluated line did to the shared state: nothing (Kind empty: an
// error, a blank line, a command), set ans, or set ans and the variable Name.
type Effect struct {
	Name string `json:"name,omitempty"`
	StoredValue
}

// Changes reports whether the line changed anything (it set ans).
func (e Effect) Changes() bool { return e.Kind != KindNone }

// EffectOf returns the effect of the line just evaluated by s, given what Eval returned:
// call it right after Eval, before the next line.
func (s *Session) EffectOf(res Result, err error) Effect {
	if err != nil || !s.hasAns || (res.Kind != KindInteger && res.Kind != KindRational && res.Kind != KindApprox) {
		return Effect{}
	}
	return Effect{Name: res.Name, StoredValue: valueText(s.ans)}
}

// State returns the session's variables and ans.
func (s *Session) State() State {
	var st State
	for _, name := range s.order {
		st.Vars = append(st.Vars, Var{Name: name, StoredValue: valueText(s.vars[name].v)})
	}
	if s.hasAns {
		a := valueText(s.ans)
		st.Ans = &a
	}
	return st
}

// Restore replaces the session's variables and ans with st. The session's limits hold as
// for any line: at most MaxVars variables, their values within MaxBits and, all together,
// within MaxSessionMemory. On error the session is unchanged.
func (s *Session) Restore(st State) error {
	lim := s.limits()
	if len(st.Vars) > lim.MaxVars {
		return fmt.Errorf("state: %d variables (limit %d)", len(st.Vars), lim.MaxVars)
	}
	fresh := Session{Limits: s.Limits}
	for _, v := range st.Vars {
		if _, dup := fresh.vars[v.Name]; dup {
			return fmt.Errorf("state: variable %q twice", v.Name)
		}
		if v.Kind == KindNone {
			return fmt.Errorf("%w: variable %q without a kind", errStateValue, v.Name)
		}
		if err := fresh.Apply(Effect{Name: v.Name, StoredValue: v.StoredValue}); err != nil {
			return err
		}
	}
	fresh.ans, fresh.hasAns = value{}, false
	if st.Ans != nil {
		if st.Ans.Kind == KindNone {
			return fmt.Errorf("%w: ans without a kind", errStateValue)
		}
		if err := fresh.Apply(Effect{StoredValue: *st.Ans}); err != nil {
			return err
		}
	}
	s.vars, s.order, s.ans, s.hasAns = fresh.vars, fresh.order, fresh.ans, fresh.hasAns
	return nil
}

// Apply replays an effect: the value becomes ans and, for an assignment, the variable.
// The session's limits hold as in Restore; on error the session is unchanged. A big value
// equal to one already stored shares its storage, so it counts once toward the memory cap
// (evaluation shares only when one value is copied to another, y = x: a replica counts at
// most what the evaluating session counted).
func (s *Session) Apply(e Effect) error {
	if !e.Changes() {
		return nil
	}
	lim := s.limits()
	v, err := parseValue(e.StoredValue, lim.MaxBits)
	if err != nil {
		return err
	}
	v = s.shared(v)
	at := token{pos: 1, end: 1}
	if e.Name == "" {
		if err := s.checkMemory(&at, "", &v, lim); err != nil {
			return err
		}
		s.ans, s.hasAns = v, true
		return nil
	}
	if err := checkVarName(e.Name); err != nil {
		return err
	}
	at.text = e.Name
	if err := s.store(at, v, format(&v), lim); err != nil {
		return err
	}
	s.ans, s.hasAns = v, true
	return nil
}

// Apply replays an effect on the data alone, as Session.Apply does on a session (without
// its limits): for keeping a room's snapshot up to date without converting values.
func (st *State) Apply(e Effect) {
	if !e.Changes() {
		return
	}
	ans := e.StoredValue
	st.Ans = &ans
	if e.Name == "" {
		return
	}
	for i := range st.Vars {
		if st.Vars[i].Name == e.Name {
			st.Vars[i].StoredValue = e.StoredValue
			return
		}
	}
	st.Vars = append(st.Vars, Var{Name: e.Name, StoredValue: e.StoredValue})
}

// Clone returns a copy of st that shares nothing with it.
func (st State) Clone() State {
	c := State{Vars: append([]Var(nil), st.Vars...)}
	if st.Ans != nil {
		a := *st.Ans
		c.Ans = &a
	}
	return c
}

// shared returns the stored big value equal to v if there is one, else v.
func (s *Session) shared(v value) value {
	if !v.isBig() {
		return v
	}
	same := func(x value) bool {
		return x.kind == vRat && x.r.Num().Cmp(v.r.Num()) == 0 && x.r.Denom().Cmp(v.r.Denom()) == 0
	}
	if s.hasAns && same(s.ans) {
		return s.ans
	}
	for _, name := range s.order {
		if x := s.vars[name].v; same(x) {
			return x
		}
	}
	return v
}

func checkVarName(name string) error {
	if name == "" || len(name) > maxNameLen || !isNameStart(rune(name[0])) ||
		strings.IndexFunc(name, func(r rune) bool { return !isNameStart(r) && (r < '0' || r > '9') }) >= 0 {
		return fmt.Errorf("state: invalid variable name %q", name)
	}
	if isReserved(name) {
		return fmt.Errorf("state: %q cannot be a variable", name)
	}
	return nil
}

// valueText writes a stored value in its exact text.
func valueText(v value) StoredValue {
	switch v.kind {
	case vFloat:
		return StoredValue{Kind: KindApprox, Value: strconv.FormatFloat(v.f, 'g', -1, 64)}
	case vSmall:
		return StoredValue{Kind: KindInteger, Value: strconv.FormatInt(v.i, 10)}
	case vFrac:
		return StoredValue{Kind: KindRational, Value: strconv.FormatInt(v.i, 10) + "/" + strconv.FormatInt(v.d, 10)}
	}
	r := v.rat()
	if r.IsInt() {
		return StoredValue{Kind: KindInteger, Value: hexText(r.Num())}
	}
	return StoredValue{Kind: KindRational, Value: hexText(r.Num()) + "/" + hexText(r.Denom())}
}

// hexText writes n as "0x…" ("-0x…"), lower-case.
func hexText(n *big.Int) string {
	if n.Sign() < 0 {
		return "-0x" + new(big.Int).Neg(n).Text(16)
	}
	return "0x" + n.Text(16)
}

var errStateValue = errors.New("state: invalid value")

// parseValue reads a value written by valueText. Exact values are refused beyond maxBits
// (numerator or denominator) before they are converted, by the length of their text.
func parseValue(sv StoredValue, maxBits int) (value, error) {
	bad := fmt.Errorf("%w: %s %.40q", errStateValue, sv.Kind, sv.Value)
	switch sv.Kind {
	case KindApprox:
		f, err := strconv.ParseFloat(sv.Value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(sv.Value, "xXpP_") {
			return value{}, bad
		}
		return approx(f), nil
	case KindInteger, KindRational:
		numText, denText, isFrac := strings.Cut(sv.Value, "/")
		if isFrac != (sv.Kind == KindRational) {
			return value{}, bad
		}
		num, ok := parseInt(numText, true, maxBits)
		den := big.NewInt(1)
		if isFrac {
			den, _ = parseInt(denText, false, maxBits)
		}
		if !ok || den == nil || den.Sign() <= 0 {
			return value{}, bad
		}
		r := new(big.Rat).SetFrac(num, den)
		if r.IsInt() == isFrac {
			return value{}, bad
		}
		return ratValue(r), nil
	}
	return value{}, fmt.Errorf("%w: kind %q", errStateValue, sv.Kind)
}

// parseInt reads a decimal integer without leading zeros, or "0x" and lower-case hex
// digits, of at most maxBits bits (judged on the text's length first); signed allows a
// leading "-". It returns nil, false when s is not one.
func parseInt(s string, signed bool, maxBits int) (*big.Int, bool) {
	neg := signed && strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	base, digits, maxDigits := 10, s, int(float64(maxBits)*math.Log10(2))+2
	if hex, ok := strings.CutPrefix(s, "0x"); ok {
		base, digits, maxDigits = 16, hex, maxBits/4+1
	}
	if digits == "" || len(digits) > maxDigits || base == 10 && len(digits) > 1 && digits[0] == '0' ||
		strings.IndexFunc(digits, func(r rune) bool { return !isDigitOf(r, base) }) >= 0 {
		return nil, false
	}
	n, ok := new(big.Int).SetString(digits, base)
	if !ok || n.BitLen() > maxBits {
		return nil, false
	}
	if neg {
		n.Neg(n)
	}
	return n, true
}

func isDigitOf(r rune, base int) bool {
	return r >= '0' && r <= '9' || base == 16 && r >= 'a' && r <= 'f'
}

// ShareState gives s the variables and ans of from, sharing their values rather than
// copying them (a stored value is never changed in place): a member's session takes a
// room replica's state this way before each line, in a time that does not grow with the
// values' sizes. s keeps its own settings (limits, budget, gate). from must hold no value
// that a line left unfinished, a lazy power (only Restore and Apply built it), since
// computing one writes it.
func (s *Session) ShareState(from *Session) {
	s.vars = make(map[string]variable, len(from.vars))
	for name, v := range from.vars {
		s.vars[name] = v
	}
	s.order = append(s.order[:0], from.order...)
	s.ans, s.hasAns = from.ans, from.hasAns
}

// Charge takes units from the session's budget for something that is not a line of the
// calculator (a room command), or refuses as a line over the budget is refused.
func (s *Session) Charge(units int) error {
	return s.budget().charge(s.now(), float64(units))
}

// Shown is a stored value as a result shows it: its display, kind and exact value (the
// variables and ans of a room as its members are sent them). ok is false for a value
// that is not one (see Restore).
func (sv StoredValue) Shown() (display string, kind Kind, value string, ok bool) {
	v, err := parseValue(sv, math.MaxInt32)
	if err != nil {
		return "", KindNone, "", false
	}
	f := format(&v)
	return f.display, f.kind, f.value, true
}
