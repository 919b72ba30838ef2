package calc

import "fmt"

// parser is a recursive-descent parser over the lazily scanned tokens of one line. The
// first problem met, scanning left to right, is the one reported.
type parser struct {
	lx       lexer
	tok      *token // current token
	prev     *token // last token consumed
	peeked   *token // the token after tok, when hasPeek
	hasPeek  bool
	slots    [3]token // where tok, prev and peeked are: advance turns the pointers
	depth    int
	maxDepth int
	t        *tree
	vars     map[string]variable // the session's variables: a name followed by '(' is not a call
	contAns  bool                // the line is a continuation: the first primary is ans
}

// begin readies the parser, kept in the session's scratch, for a line. Field by field,
// as evaluator.begin: a parser built whole on the stack for every line was a tenth of a
// line "1".
func (p *parser) begin(src []byte, wide []rune, t *tree, vars map[string]variable, lim *Limits, m *meter) {
	lx := &p.lx
	lx.src, lx.wide, lx.i, lx.eol, lx.t, lx.maxBits, lx.m = src, wide, 0, len(src)+1, t, lim.MaxBits, m
	lx.maxBytes, lx.litBytes, lx.err, lx.vars = lim.MaxSessionMemory, 0, nil, vars
	p.hasPeek, p.depth, p.maxDepth, p.t, p.vars, p.contAns = false, 0, lim.MaxDepth, t, vars, false
	p.tok, p.prev, p.peeked = &p.slots[0], &p.slots[1], &p.slots[2]
}

// end lets go of what the line referred to.
func (p *parser) end() {
	p.lx.src, p.lx.wide, p.lx.t, p.lx.m, p.lx.err, p.lx.vars, p.t, p.vars = nil, nil, nil, nil, nil, nil, nil, nil
	p.slots = [3]token{}
}

// advance moves to the next token. It cannot fail: a lexical error is a tErr token,
// reported by unexpected when a rule meets it.
//
// Tokens stay in their slots: the current token becomes the previous one by
// turning the pointers, and the next is scanned into the slot let go. Copying the token
// just scanned as a whole stalled on the lexer's stores, which are narrower than the
// copy's loads: store-to-load forwarding fails, and the copy waits until the stores are
// done (PhaseLex: 69 % of its own cycles on that one copy, by perf annotate).
func (p *parser) advance() {
	p.prev, p.tok, p.peeked = p.tok, p.peeked, p.prev
	if p.hasPeek {
		p.hasPeek = false
		return
	}
	p.lx.scan(p.tok)
}

func (p *parser) peek() *token {
	if !p.hasPeek {
		p.lx.scan(p.peeked)
		p.hasPeek = true
	}
	return p.peeked
}

// parseLine parses a whole line: an assignment, a continuation or an expression.
func (p *parser) parseLine() error {
	p.advance()
	if p.tok.kind == tName && p.peek().kind == tAssign {
		return p.parseAssignment()
	}
	p.contAns = startsContinuation(p.tok)
	root, err := p.parseExpr()
	if err != nil {
		return err
	}
	p.t.root = root
	return p.expectEOF()
}

// startsContinuation reports whether a line starting with t continues from ans.
func startsContinuation(t *token) bool {
	switch t.kind {
	case tStar, tSlash, tDSlash, tPercent, tPow:
		return true
	}
	return t.isName("mod")
}

func (p *parser) parseAssignment() error {
	name := *p.tok
	if isReserved(name.text) {
		return errAt(name, "cannot assign to '%s'", name.text)
	}
	p.t.assign = &name
	p.advance() // the name
	p.advance() // =
	root, err := p.parseExpr()
	if err != nil {
		return err
	}
	p.t.root = root
	return p.expectEOF()
}

func (p *parser) expectEOF() error {
	if p.tok.kind != tEOF {
		return p.unexpected()
	}
	return nil
}

// unexpected reports the current token as misplaced; a tErr token is the lexical error
// it stands for.
func (p *parser) unexpected() error {
	switch p.tok.kind {
	case tErr:
		return p.lx.err
	case tEOF:
		return errAt(*p.tok, "unexpected end of input")
	}
	return errAt(*p.tok, "unexpected '%s'", p.lx.text(*p.tok))
}

func (p *parser) parseExpr() (int32, error) { return p.parseBinary(precOr) }

// Binary precedence levels, loosest first; ** is handled by parsePower.
const (
	precOr = iota
	precAnd
	precShift
	precAdd
	precMul
)

func binaryLevel(t *token) (int, bool) {
	switch t.kind {
	case tPipe:
		return precOr, true
	case tAmp:
		return precAnd, true
	case tShl, tShr:
		return precShift, true
	case tPlus, tMinus:
		return precAdd, true
	case tStar, tSlash, tDSlash, tPercent:
		return precMul, true
	}
	if t.isName("mod") {
		return precMul, true
	}
	return 0, false
}

// parseBinary parses the left-associative binary levels from minLevel up by precedence
// climbing: an operand, then each operator of at least minLevel with its right operand
// parsed one level tighter. One loop instead of a call per level keeps typical lines
// cheap to parse.
func (p *parser) parseBinary(minLevel int) (int32, error) {
	left, err := p.parseUnary()
	if err != nil {
		return 0, err
	}
	for {
		level, ok := binaryLevel(p.tok)
		if !ok || level < minLevel {
			return left, nil
		}
		var opTok token
		opTok.copyFields(p.tok)
		op := nMod
		if opTok.kind != tName { // the keyword mod is %
			op = binaryOps[opTok.kind]
		}
		p.advance()
		if opTok.kind == tPercent && p.tok.kind == tEOF { // the line ends with '%'
			return 0, &Error{Msg: percentMsg, Column: int(opTok.pos), End: int(opTok.end)}
		}
		right, err := p.parseBinary(level + 1)
		if err != nil {
			return 0, err
		}
		left = p.t.add(op, &opTok, left, right)
	}
}

const percentMsg = "'%' is the remainder operator and needs a right operand (for percent, divide by 100)"

func (p *parser) enter(t *token) error {
	p.depth++
	if p.depth > p.maxDepth {
		return errAt(*t, "too deeply nested (limit %d)", p.maxDepth)
	}
	return nil
}

func (p *parser) parseUnary() (int32, error) {
	var op opKind
	switch p.tok.kind {
	case tMinus:
		op = nNeg
	case tPlus:
		op = nPos
	case tTilde:
		op = nNot
	default:
		return p.parsePower()
	}
	var opTok token
	opTok.copyFields(p.tok)
	if err := p.enter(&opTok); err != nil {
		return 0, err
	}
	p.advance()
	x, err := p.parseUnary()
	if err != nil {
		return 0, err
	}
	p.depth--
	return p.t.add(op, &opTok, x, 0), nil
}

// parsePower parses postfix ('**' unary)?: right-associative, and its right operand may
// carry a sign (2 ** -1).
func (p *parser) parsePower() (int32, error) {
	base, err := p.parsePostfix()
	if err != nil {
		return 0, err
	}
	if p.tok.kind != tPow {
		return base, nil
	}
	var opTok token
	opTok.copyFields(p.tok)
	p.advance()
	exp, err := p.parseUnary()
	if err != nil {
		return 0, err
	}
	return p.t.add(nPow, &opTok, base, exp), nil
}

func (p *parser) parsePostfix() (int32, error) {
	x, err := p.parsePrimary()
	if err != nil {
		return 0, err
	}
	for p.tok.kind == tBang {
		x = p.t.add(nFact, p.tok, x, 0)
		p.advance()
	}
	if startsPrimary(p.tok) {
		return 0, errAt(*p.tok, "missing operator between '%s' and '%s'", p.lx.text(*p.prev), p.lx.text(*p.tok))
	}
	return x, nil
}

func startsPrimary(t *token) bool {
	return t.kind == tNum || t.kind == tLParen || t.kind == tName && t.text != "mod"
}

func (p *parser) parsePrimary() (int32, error) {
	if p.contAns {
		p.contAns = false
		return p.t.add(nAns, p.tok, 0, 0), nil
	}
	// The token is read where it is, not copied: a copy of the token the lexer has just
	// written field by field stalled on those stores (7 % of a typical line by the profile).
	switch t := p.tok; {
	case t.kind == tNum:
		return p.parseNumber()
	case t.kind == tLParen:
		return p.parseParens()
	case t.kind == tName && t.text != "mod":
		if p.peek().kind == tLParen {
			if f, ok := p.callee(t); ok {
				return p.parseCall(f)
			}
		}
		i := p.t.add(nName, t, 0, 0)
		p.advance()
		return i, nil
	}
	return 0, p.unexpected()
}

// callee reports whether the name t followed by '(' is a call, and of which function: a
// function, or a name that is nothing else (f nil: reported as unknown by parseCall). A
// constant or variable followed by '(' is a missing operator instead: pi(2), x(2).
func (p *parser) callee(t *token) (f *function, ok bool) {
	if k := t.known(); k != nil {
		return k.fn, k.fn != nil || k.text == "mod"
	}
	_, isVar := p.vars[t.text]
	return nil, !isVar
}

// parseNumber makes the node of a number, whose value the lexer stored when it scanned it.
func (p *parser) parseNumber() (int32, error) {
	i := p.t.add(nLit, p.tok, 0, 0)
	p.advance()
	return i, nil
}

func (p *parser) parseParens() (int32, error) {
	var open token
	open.copyFields(p.tok)
	if err := p.enter(&open); err != nil {
		return 0, err
	}
	p.advance()
	x, err := p.parseExpr()
	if err != nil {
		return 0, err
	}
	if err := p.closeParen(&open); err != nil {
		return 0, err
	}
	p.depth--
	return x, nil
}

func (p *parser) closeParen(open *token) error {
	switch p.tok.kind {
	case tRParen:
		p.advance()
		return nil
	case tEOF:
		return errAt(*p.tok, "missing ')' to match '(' at column %d", open.pos)
	}
	return p.unexpected()
}

const maxArgs = 8

// parseCall parses a call of f (nil: the name is not a function, an error reported here).
func (p *parser) parseCall(f *function) (int32, error) {
	var name token
	name.copyFields(p.tok)
	// The function name is checked as soon as its '(' is read (peeked by parsePrimary),
	// before anything inside the call.
	if f == nil {
		return 0, errAt(name, "unknown name '%s'", name.text)
	}
	if err := p.enter(&name); err != nil {
		return 0, err
	}
	p.advance() // name
	var open token
	open.copyFields(p.tok)
	p.advance() // (
	var args [maxArgs]int32
	n := 0
	for p.tok.kind != tRParen {
		if n == maxArgs {
			return 0, errAt(*p.tok, "too many arguments (limit %d)", maxArgs)
		}
		a, err := p.parseExpr()
		if err != nil {
			return 0, err
		}
		args[n] = a
		n++
		if p.tok.kind != tComma {
			break
		}
		p.advance()
		if p.tok.kind == tRParen || p.tok.kind == tErr { // f(1,) or a lexical error
			return 0, p.unexpected()
		}
	}
	if p.tok.kind == tRParen {
		// The argument count is checked when the ')' is read, before the token after it
		// is scanned.
		if err := f.checkArity(name, n); err != nil {
			return 0, err
		}
	}
	if err := p.closeParen(&open); err != nil {
		return 0, err
	}
	p.depth--
	first := int32(len(p.t.args))
	p.t.args = append(p.t.args, args[:n]...)
	i := p.t.add(nCall, &name, 0, 0)
	p.t.nodes[i].args, p.t.nodes[i].fn = span{from: first, n: int32(n)}, f
	return i, nil
}

// String prints the tree fully parenthesised, for tests and debugging.
func (t *tree) String() string {
	s := t.format(t.root)
	if t.assign != nil {
		s = t.assign.text + " = " + s
	}
	return s
}

func (t *tree) format(i int32) string {
	n := t.nodes[i]
	switch n.op {
	case nLit:
		return format(&t.lits[n.tok.lit]).display
	case nName:
		return n.tok.text
	case nAns:
		return "ans"
	case nCall:
		s := n.tok.text + "("
		for k, a := range t.argsOf(&n) {
			if k > 0 {
				s += ", "
			}
			s += t.format(a)
		}
		return s + ")"
	case nNeg, nPos, nNot:
		return fmt.Sprintf("(%s%s)", n.tok.text, t.format(n.x))
	case nFact:
		return fmt.Sprintf("(%s!)", t.format(n.x))
	}
	return fmt.Sprintf("(%s %s %s)", t.format(n.x), n.tok.text, t.format(n.y))
}
