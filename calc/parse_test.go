package calc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lexAll(t *testing.T, line string) ([]token, *lexer) {
	t.Helper()
	lx := testLexer(line)
	var toks []token
	for {
		tok := lx.next()
		require.NoError(t, lx.err, line)
		toks = append(toks, tok)
		if tok.kind == tEOF {
			return toks, &lx
		}
	}
}

func TestLexer(t *testing.T) {
	tests := []struct {
		line  string
		texts []string
		cols  []int
	}{
		{"2+3", []string{"2", "+", "3", ""}, []int{1, 2, 3, 4}},
		{"a**b//c", []string{"a", "**", "b", "//", "c", ""}, []int{1, 2, 4, 5, 7, 8}},
		{"1<<2>>3", []string{"1", "<<", "2", ">>", "3", ""}, []int{1, 2, 4, 5, 7, 8}},
		{"x_1 = .5e-3", []string{"x_1", "=", ".5e-3", ""}, []int{1, 5, 7, 12}},
		{"0x1F&0b1|0o7", []string{"0x1F", "&", "0b1", "|", "0o7", ""}, []int{1, 5, 6, 9, 10, 13}},
		{"１２＋３", []string{"12", "+", "3", ""}, []int{1, 3, 4, 5}},
		{"3 × 4 ÷ 2 − 1", []string{"3", "*", "4", "/", "2", "-", "1", ""}, []int{1, 3, 5, 7, 9, 11, 13, 14}},
		{"2π", []string{"2", "pi", ""}, []int{1, 2, 3}},
		{"2e", []string{"2", "e", ""}, []int{1, 2, 3}},
		{"2e+x", []string{"2", "e", "+", "x", ""}, []int{1, 2, 3, 4, 5}},
		{"1_000.5_0e1_0", []string{"1_000.5_0e1_0", ""}, []int{1, 14}},
		{"f(a, b)!", []string{"f", "(", "a", ",", "b", ")", "!", ""}, []int{1, 2, 3, 4, 6, 7, 8, 9}},
		{"5 mod 3", []string{"5", "mod", "3", ""}, []int{1, 3, 7, 8}},
		{"~-+^", []string{"~", "-", "+", "^", ""}, []int{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		toks, lx := lexAll(t, tt.line)
		var texts []string
		var cols []int
		for _, tok := range toks {
			texts = append(texts, lx.text(tok))
			cols = append(cols, int(tok.pos))
		}
		assert.Equal(t, tt.texts, texts, tt.line)
		assert.Equal(t, tt.cols, cols, tt.line)
	}
}

func TestLexerErrors(t *testing.T) {
	tests := []struct {
		line string
		msg  string
		col  int
	}{
		{"$", "unexpected character '$' (U+0024)", 1},
		{"1 € 2", "unexpected character '€' (U+20AC)", 3},
		{"a\x07", `unexpected character '\a' (U+0007)`, 2},
		{"1 < 2", "unexpected character '<' (U+003C)", 3},
		{"abcdefghijabcdefghijabcdefghijabc", "name too long (limit 32 characters)", 1},
	}
	for _, tt := range tests {
		lx := testLexer(tt.line)
		for tok := lx.next(); tok.kind != tEOF && tok.kind != tErr; tok = lx.next() {
		}
		err := lx.err
		var e *Error
		require.ErrorAs(t, err, &e, tt.line)
		assert.Equal(t, tt.msg, e.Msg, tt.line)
		assert.Equal(t, tt.col, e.Column, tt.line)
	}
}

// testLexer is a lexer of the mapped line, without a tree: tokens only.
func testLexer(line string) lexer {
	var s Session
	src, wide, _ := mapLine(&s, line)
	return lexer{src: src, wide: wide, eol: len(src) + 1, maxBits: DefaultLimits().MaxBits}
}

func parseString(line string) (*tree, error) {
	var s Session
	src, wide, _ := mapLine(&s, line)
	return s.parse(src, wide, s.limits(), nil)
}

func TestParser(t *testing.T) {
	tests := []struct{ line, tree string }{
		{"1 + 2 * 3", "(1 + (2 * 3))"},
		{"(1 + 2) * 3", "((1 + 2) * 3)"},
		{"1 - 2 - 3", "((1 - 2) - 3)"},
		{"2 ** 3 ** 2", "(2 ** (3 ** 2))"},
		{"2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"},
		{"-2 ** 2", "(-(2 ** 2))"},
		{"2 ** -1", "(2 ** (-1))"},
		{"-3!", "(-(3!))"},
		{"2 ** 3!", "(2 ** (3!))"},
		{"3!!", "((3!)!)"},
		{"~2 ** 2", "(~(2 ** 2))"},
		{"1 + 2 << 3 & 4 | 5", "((((1 + 2) << 3) & 4) | 5)"},
		{"a | b & c", "(a | (b & c))"},
		{"a // b % c mod d", "(((a // b) % c) mod d)"},
		{"x = 1 + 2", "x = (1 + 2)"},
		{"* 2 + 1", "((ans * 2) + 1)"},
		{"** 2", "(ans ** 2)"},
		{"mod 3", "(ans mod 3)"},
		{"max(1, 2 + 3, sqrt(4))", "max(1, (2 + 3), sqrt(4))"},
		{"max(1)", "max(1)"},
		{"--5", "(-(-5))"},
		{"+-~5", "(+(-(~5)))"},
		{"log(x, 2)", "log(x, 2)"},
	}
	for _, tt := range tests {
		tr, err := parseString(tt.line)
		require.NoError(t, err, tt.line)
		assert.Equal(t, tt.tree, tr.String(), tt.line)
	}
}

func TestParserErrorsCarryTokenSpan(t *testing.T) {
	tests := []struct {
		line     string
		msg      string
		col, end int
	}{
		{"2 + * $", "unexpected '*'", 5, 5},
		{"1 ** ** 2", "unexpected '**'", 6, 7},
		{"2(3)", "missing operator between '2' and '('", 2, 2},
		{"12 345", "missing operator between '12' and '345'", 4, 6},
		{"(1 + 2", "missing ')' to match '(' at column 1", 7, 7},
		{"0x_1", "invalid number '0x_1'", 1, 4},
		{"pi = 3", "cannot assign to 'pi'", 1, 2},
		{"5 %", "'%' is the remainder operator and needs a right operand (for percent, divide by 100)", 3, 3},
	}
	for _, tt := range tests {
		_, err := parseString(tt.line)
		var e *Error
		require.ErrorAs(t, err, &e, tt.line)
		assert.Equal(t, tt.msg, e.Msg, tt.line)
		assert.Equal(t, tt.col, e.Column, tt.line)
		assert.Equal(t, tt.end, e.End, tt.line)
	}
}

func TestNodeCountAndCost(t *testing.T) {
	tr, err := parseString("sqrt(2) * 3 ** 2 + -x!")
	require.NoError(t, err)
	// sqrt, 2, *, 3, **, 2, +, -, x, !: parentheses are not nodes.
	assert.Len(t, tr.nodes, 10)
	// call 10, * 10, ** 1000, + 1, unary - 1, ! 100
	assert.Equal(t, 1122, tr.cost)
}
