package calc

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF tokKind = iota
	tNum
	tName
	tPlus    // +
	tMinus   // -
	tStar    // *
	tSlash   // /
	tDSlash  // //
	tPercent // %
	tPow     // ** or ^
	tBang    // !
	tTilde   // ~
	tShl     // <<
	tShr     // >>
	tAmp     // &
	tPipe    // |
	tLParen  // (
	tRParen  // )
	tComma   // ,
	tAssign  // =
	tErr     // a lexical error: lexer.err says which; the parser reports it where it meets it
)

// token is one lexical token. Columns are 1-based code-point columns of the mapped line;
// end is the column of the token's last code point.
type token struct {
	kind     tokKind
	lit      int32 // tNum: index of its value in tree.lits; tName: 1 + index in knownNameList, 0 for other names
	pos, end int32
	text     string // the token's text after character mapping
}

// isName reports whether t is the name s (the keyword mod is lexed as a name).
func (t *token) isName(s string) bool { return t.kind == tName && t.text == s }

// copyFields sets t to src field by field, for a token kept while the parser reads on
// (an operator until its right operand is parsed) and for a node's token. The lexer writes
// a token field by field, and a copy made as a whole soon after, with loads wider than
// those stores, stalls until the stores are done (store-to-load forwarding fails; see
// parser.advance). A copy returned as a value is no good either: the compiler copies it
// again, as a whole, from the temporary.
func (t *token) copyFields(src *token) {
	t.kind, t.lit, t.pos, t.end, t.text = src.kind, src.lit, src.pos, src.end, src.text
}
