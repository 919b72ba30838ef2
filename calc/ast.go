package calc

import "slices"

// opKind is the kind of an expression node.
type opKind uint8

const (
	nLit  opKind = iota // number literal: its value is tree.lits[tok.lit]
	nName               // variable, constant, ans or _
	nAns                // the implicit left operand of a continuation line ("* 2")
	nCall               // function call: its arguments are tree.argsOf(n)
	nNeg                // unary -
	nPos                // unary +
	nNot                // unary ~
	nFact               // postfix !
	nAdd
	nSub
	nMul
	nDiv
	nFloorDiv
	nMod
	nPow
	nShl
	nShr
	nAnd
	nOr
)

// node is one expression node. Nodes live in tree.nodes and refer to each other by index,
// so a parsed line costs a few slice appends instead of an allocation per node, and a
// session reuses the same storage for every line.
type node struct {
	op   opKind
	tok  token     // the literal, name, function name or operator: errors point at it
	x, y int32     // the operands: x alone for unary and postfix operators, x and y for binary ones
	args span      // nCall: where its arguments are in tree.args
	fn   *function // nCall: the function called, found once by the parser
}

// span is a part of tree.args: the arguments of one call.
type span struct{ from, n int32 }

// argsOf returns the argument nodes of the call n.
func (t *tree) argsOf(n *node) []int32 { return t.args[n.args.from : n.args.from+n.args.n] }

// tree is a parsed line.
type tree struct {
	nodes  []node
	lits   []value // literal values, apart so that nodes stay small
	args   []int32
	root   int32
	assign *token // the variable of an assignment line, nil otherwise
	cost   int    // static budget cost of the line
	// bigLits: a literal is held in math/big, so lits hold memory to be let go; parsing
	// or evaluation may stop before it reaches vals.
	bigLits bool
}

func (t *tree) reset() {
	t.nodes = t.nodes[:0]
	t.lits = t.lits[:0]
	t.args = t.args[:0]
	t.root = -1
	t.assign = nil
	t.cost = 0
	t.bigLits = false
}

// add appends a node of op on operands x and y (0 where it has none) and returns its
// index. The node is written field by field in its slot: appending a node literal built
// it on the stack first and copied its 64 bytes, whose load stalled on the stores just
// made (the profile put a third of the parse on that copy; PhaseParse 6 % faster so).
func (t *tree) add(op opKind, tok *token, x, y int32) int32 {
	i := len(t.nodes)
	t.nodes = slices.Grow(t.nodes, 1)[:i+1]
	n := &t.nodes[i]
	n.op, n.x, n.y, n.args, n.fn = op, x, y, span{}, nil
	n.tok.copyFields(tok) // a literal's token is the one just scanned
	t.cost += nodeCost(op)
	return int32(i)
}

// nodeCost is the static budget cost of a node (§7 of the reference).
func nodeCost(op opKind) int {
	switch op {
	case nLit, nName, nAns:
		return 0
	case nMul, nDiv, nFloorDiv, nMod, nCall:
		return 10
	case nPow:
		return 1000
	case nFact:
		return 100
	}
	return 1 // unary, + -, shifts and bitwise
}

var binaryOps = [...]opKind{
	tPlus: nAdd, tMinus: nSub, tStar: nMul, tSlash: nDiv, tDSlash: nFloorDiv,
	tPercent: nMod, tPow: nPow, tShl: nShl, tShr: nShr, tAmp: nAnd, tPipe: nOr,
}
