//go:build !calcgate

// TEMPORARY, until calc's Gate API (branch iso-calc) is merged: the transports' current
// hub.Eval, with the calc API this branch has. At the merge, delete this file and
// eval_old_test.go and remove the build constraint of eval.go and eval_test.go, which
// implement the contract (Attach, Eval with a context).

package hub

import (
	"context"

	"wscalc/calc"
)

// accountKey is what sessions share an account by: nothing, before calc has budgets.
type accountKey struct{}

// Eval evaluates line in session s on behalf of transport t in a light slot (calc cannot go
// heavy yet) and records the outcome. Blank lines and commands are not recorded as
// expressions.
func (h *Hub) Eval(t Transport, s *calc.Session, line string) (res calc.Result, err error) {
	h.run(context.Background(), nil, func() { res, err = s.Eval(line) })
	h.record(t, res, err, s.LastDuration(), "")
	return res, err
}
