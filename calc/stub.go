package calc

// TEMPORARY bootstrap stub: replaced by the real scanner/parser/evaluator.

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"strings"
	"time"
)

// Session is the state of one connection: variables, ans, budget. Not safe for concurrent use.
type Session struct {
	Limits Limits
	Clock  func() time.Time
}

// Eval evaluates one line.
func (s *Session) Eval(line string) (Result, error) {
	t := strings.TrimSpace(line)
	if t == "" || strings.HasPrefix(t, "#") {
		return Result{}, nil
	}
	if t == "quit" || t == "exit" {
		return Result{}, ErrQuit
	}
	e, err := parser.ParseExpr(t)
	if err != nil {
		return Result{}, &Error{Msg: "unexpected end of input", Column: len(line) + 1, End: len(line) + 1}
	}
	v := ev(e)
	if v.Kind() == constant.Unknown {
		return Result{}, &Error{Msg: "division by zero", Column: 1, End: 1}
	}
	txt := v.ExactString()
	k := KindInteger
	if v.Kind() != constant.Int {
		k = KindRational
	}
	return Result{Display: txt, Kind: k, Value: txt, Decimal: txt}, nil
}

func ev(e ast.Expr) constant.Value {
	switch e := e.(type) {
	case *ast.BasicLit:
		return constant.MakeFromLiteral(e.Value, e.Kind, 0)
	case *ast.ParenExpr:
		return ev(e.X)
	case *ast.BinaryExpr:
		x, y := ev(e.X), ev(e.Y)
		if e.Op == token.QUO && constant.Sign(y) == 0 {
			return constant.MakeUnknown()
		}
		return constant.BinaryOp(x, e.Op, y)
	}
	return constant.MakeUnknown()
}
