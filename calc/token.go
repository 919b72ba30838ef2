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
