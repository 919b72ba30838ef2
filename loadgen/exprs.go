package loadgen

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"strings"

	"wscalc/client"
)

// Expr is one request of the load: a line of the language and, when Checked, the reply it
// must get.
type Expr struct {
	Line    string
	Want    string
	Checked bool

	lineBytes, wantBytes []byte // the same, ready to write and compare without allocation
	wantRefusal          string // the kind of refusal Want is, if it is one
}

// mix is the built-in load: what people type into a calculator (arithmetic, exact
// fractions, functions, the odd mistake), each with the reply wscalc must give. Every line
// is stateless, so any connection may send them in any order. The benchmark scripts derive
// the expectations for the other servers from this file.
//
//go:embed mix.txt
var mix string

// Builtin returns the built-in mix.
func Builtin() []Expr {
	exprs, err := ParseExprs(strings.NewReader(mix))
	if err != nil {
		panic("bench: built-in mix: " + err.Error())
	}
	return exprs
}

// ParseExprs reads a load file: one expression per line, optionally followed by a TAB and
// the expected reply. Lines that get no reply (blank or comment-only) are skipped, since
// the load generator counts one reply per request; quit and exit are refused.
func ParseExprs(r io.Reader) ([]Expr, error) {
	var exprs []Expr
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line, want, checked := strings.Cut(strings.TrimSuffix(sc.Text(), "\r"), "\t")
		if !client.NeedsReply(line) {
			continue
		}
		if client.IsQuit(line) {
			return nil, fmt.Errorf("line %d: %q would end the session", n, line)
		}
		exprs = append(exprs, Expr{Line: line, Want: want, Checked: checked})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(exprs) == 0 {
		return nil, fmt.Errorf("no expressions")
	}
	return exprs, nil
}
