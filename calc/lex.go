package calc

import (
	"fmt"
	"strconv"
	"unicode"
)

// mapRune maps the characters people type from phones, IMEs and word processors onto
// the ASCII the grammar uses, one code point for one, so that columns stay right.
func mapRune(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		return r - 0xFF01 + 0x21
	case r == 0x3000: // ideographic space
		return ' '
	}
	switch r {
	case '×', '·', '⋅', '∗':
		return '*'
	case '÷', '∕':
		return '/'
	case '−', '–':
		return '-'
	}
	return r
}

// piRune is kept as is by mapRune and lexed as the name "pi".
const piRune = 'π'

const maxNameLen = 32

// lexer produces tokens on demand, so that the leftmost problem of a line wins: a bad
// character after a syntax error is never reached.
type lexer struct {
	src  []byte // mapped line without its comment, one byte a code point (Session.mapLine)
	wide []rune // its code points when a character is not ASCII (nonASCII in src), else nil
	i    int    // index of the next byte
	eol  int    // column reported for the end of input

	// Numbers are validated and converted as soon as they are scanned (the reference's
	// "checked as soon as it is scanned"), even where no number may stand: their values go
	// to t.lits (when t is not nil) and the token refers to them.
	t        *tree
	maxBits  int
	m        *meter // prices the large literals
	maxBytes int64  // of the line's big literals together (Limits.MaxSessionMemory)
	litBytes int64

	err error // the lexical error, once met: every later token is tErr

	vars map[string]variable // the session's variables, whose names the tokens reuse
}

func isBlank(r rune) bool     { return r == ' ' || r == '\t' }
func isDigit(r rune) bool     { return r >= '0' && r <= '9' }
func isNameStart(r rune) bool { return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isNameRune(r rune) bool  { return isNameStart(r) || isDigit(r) }

// next returns the next token (tests); the parser scans into its own (scan).
func (lx *lexer) next() token {
	var t token
	lx.scan(&t)
	return t
}

// scan reads the next token into t. A lexical error gives a tErr token, and lx.err says
// which: the parser reports it when it meets that token, so that its own errors on the
// tokens before it come first, and reading a token never fails.
func (lx *lexer) scan(t *token) {
	if lx.err != nil {
		*t = token{kind: tErr}
		return
	}
	for lx.i < len(lx.src) && isBlank(rune(lx.src[lx.i])) {
		lx.i++
	}
	if lx.i >= len(lx.src) {
		*t = token{kind: tEOF, pos: int32(lx.eol), end: int32(lx.eol)}
		return
	}
	start := lx.i
	r := lx.char(start)
	// The token is built here, in place: the helpers only move lx.i.
	*t = token{pos: int32(start + 1)}
	switch {
	case isDigit(r) || r == '.' && start+1 < len(lx.src) && isDigit(rune(lx.src[start+1])):
		lx.number()
		t.kind, t.end = tNum, int32(lx.i)
		if err := lx.literal(t); err != nil {
			*t = lx.fail(err)
		}
		return
	case isNameStart(r):
		for lx.i < len(lx.src) && isNameRune(rune(lx.src[lx.i])) {
			lx.i++
		}
		t.kind, t.end = tName, int32(lx.i)
		lx.name(t, lx.src[start:lx.i])
		if lx.i-start > maxNameLen {
			*t = lx.fail(errAt(*t, "name too long (limit %d characters)", maxNameLen))
		}
		return
	case r == piRune:
		lx.i++
		t.kind, t.end, t.text, t.lit = tName, t.pos, "pi", piLit
		return
	}
	if k, n := operator(lx.src[start:]); n > 0 {
		lx.i += n
		t.kind, t.end, t.text = k, int32(lx.i), opText[k]
		if k == tPow && n == 1 {
			t.text = "^"
		}
		return
	}
	col := start + 1
	*t = lx.fail(&Error{Msg: fmt.Sprintf("unexpected character %s (U+%04X)", quoteRune(r), r), Column: col, End: col})
}

// char returns the mapped code point at index i of the line.
func (lx *lexer) char(i int) rune {
	if c := lx.src[i]; c != nonASCII {
		return rune(c)
	}
	return lx.wide[i]
}

// fail records a lexical error and returns the token that stands for it.
func (lx *lexer) fail(err error) token {
	lx.err = err
	return token{kind: tErr}
}

// operator recognises the operator at the start of s and returns its kind and length.
func operator(s []byte) (tokKind, int) {
	two := func(second byte) bool { return len(s) > 1 && s[1] == second }
	switch s[0] {
	case '+':
		return tPlus, 1
	case '-':
		return tMinus, 1
	case '*':
		if two('*') {
			return tPow, 2
		}
		return tStar, 1
	case '/':
		if two('/') {
			return tDSlash, 2
		}
		return tSlash, 1
	case '%':
		return tPercent, 1
	case '^':
		return tPow, 1
	case '!':
		return tBang, 1
	case '~':
		return tTilde, 1
	case '<':
		if two('<') {
			return tShl, 2
		}
	case '>':
		if two('>') {
			return tShr, 2
		}
	case '&':
		return tAmp, 1
	case '|':
		return tPipe, 1
	case '(':
		return tLParen, 1
	case ')':
		return tRParen, 1
	case ',':
		return tComma, 1
	case '=':
		return tAssign, 1
	}
	return tEOF, 0
}

// quoteRune quotes a character for a message; invisible ones are escaped so that a reply
// never carries a control character or a line break.
func quoteRune(r rune) string {
	if unicode.IsPrint(r) {
		return "'" + string(r) + "'"
	}
	return strconv.QuoteRune(r)
}

// name sets a name token's text, and for a name of the language its entry in
// knownNameList (t.lit, from 1). The names of the language and the session's variables are
// looked up without allocating and their strings reused, so that a line of function calls
// and variables allocates nothing for its names; only a new name is converted. The parser
// and the evaluator then find a function or constant from t.lit, without hashing its
// name again: map lookups were 3 % of the built-in mix, two thirds of them for names
// already looked up here.
func (lx *lexer) name(t *token, src []byte) {
	if k, ok := knownNames[string(src)]; ok {
		t.text, t.lit = knownNameList[k].text, int32(k+1)
		return
	}
	if v, ok := lx.vars[string(src)]; ok {
		t.text = v.name
		return
	}
	t.text = string(src)
}

// knownName is a name of the language: a function, a constant, ans, _ or mod.
type knownName struct {
	text     string
	fn       *function // a function's
	constant float64   // a constant's (isConst)
	isConst  bool
}

// knownNameList holds the names of the language, knownNames their index in it.
var knownNameList, knownNames = func() ([]knownName, map[string]int) {
	list := []knownName{{text: "ans"}, {text: "_"}, {text: "mod"}}
	for name, f := range functions {
		list = append(list, knownName{text: name, fn: f})
	}
	for name, c := range constants {
		list = append(list, knownName{text: name, constant: c, isConst: true})
	}
	index := make(map[string]int, len(list))
	for i, k := range list {
		index[k.text] = i
	}
	return list, index
}()

// piLit is the lit of the name pi, which π is lexed as.
var piLit = int32(knownNames["pi"] + 1)

// known returns the entry of a name token of the language, nil for any other token.
func (t *token) known() *knownName {
	if t.kind != tName || t.lit == 0 {
		return nil
	}
	return &knownNameList[t.lit-1]
}

// opText is the text of each operator token; a tPow written ^ is "^".
var opText = [...]string{
	tPow: "**", tPlus: "+", tMinus: "-", tStar: "*", tSlash: "/", tDSlash: "//", tPercent: "%",
	tBang: "!", tTilde: "~", tShl: "<<", tShr: ">>", tAmp: "&", tPipe: "|",
	tLParen: "(", tRParen: ")", tComma: ",", tAssign: "=",
}

// text returns a token's text after mapping.
func (lx *lexer) text(t token) string {
	if t.text != "" || t.kind == tEOF {
		return t.text
	}
	return string(lx.src[t.pos-1 : t.end])
}

// literal converts the number t just scanned and stores its value in the tree: a bad
// number is reported here, where it is scanned, and a big one is priced and counted
// against the memory cap of the line. A plain integer of up to 18 digits, nearly every
// literal, is converted in place (smallDecimal).
func (lx *lexer) literal(t *token) error {
	src := lx.src[t.pos-1 : t.end]
	if n, d, ok := smallDecimalParts(src); ok {
		if lx.t != nil { // written in place: no whole value copied (see evaluator.run)
			lx.t.lits = append(lx.t.lits, value{})
			t.lit = int32(len(lx.t.lits) - 1)
			lx.t.lits[t.lit].setSmall(n, d)
		}
		return nil
	}
	v, err := parseNumber(*t, src, lx.maxBits, lx.m)
	if err != nil || lx.t == nil {
		return err
	}
	if v.isBig() { // held until the line ends: capped like the values it computes
		lx.t.bigLits = true
		if lx.litBytes += storedBytes(v); lx.litBytes > lx.maxBytes {
			return errMemory(*t, lx.maxBytes)
		}
	}
	lx.t.lits = append(lx.t.lits, v)
	t.lit = int32(len(lx.t.lits) - 1)
	return nil
}

// number scans digits, underscores and letters greedily as the reference says; the text
// is validated and converted by literal.
func (lx *lexer) number() {
	src := lx.src
	if src[lx.i] == '0' && lx.i+1 < len(src) && isRadixLetter(rune(src[lx.i+1])) {
		lx.i += 2
		for lx.i < len(src) && isNameRune(rune(src[lx.i])) {
			lx.i++
		}
		return
	}
	lx.digits()
	if lx.i < len(src) && src[lx.i] == '.' {
		lx.i++
		lx.digits()
	}
	if lx.i < len(src) && (src[lx.i] == 'e' || src[lx.i] == 'E') {
		j := lx.i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isDigit(rune(src[j])) {
			lx.i = j
			lx.digits()
		}
	}
}

func (lx *lexer) digits() {
	for lx.i < len(lx.src) && (isDigit(rune(lx.src[lx.i])) || lx.src[lx.i] == '_') {
		lx.i++
	}
}

func isRadixLetter(r rune) bool {
	switch r {
	case 'x', 'X', 'o', 'O', 'b', 'B':
		return true
	}
	return false
}

// errAt builds an error positioned on token t.
func errAt(t token, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Msg: msg, Column: int(t.pos), End: int(t.end)}
}
