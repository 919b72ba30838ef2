//go:build !calcgate

// TEMPORARY: see eval_old.go.

package hub_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/hub"
)

func TestEvalReleasesTheGate(t *testing.T) {
	h := hub.New(hub.Options{MaxConcurrentEvals: 1})
	var s calc.Session
	for range 3 { // with a lost slot the second call would block forever
		res, err := h.Eval(hub.TCP, &s, "1 + 1")
		require.NoError(t, err)
		assert.Equal(t, "2", res.Display)
	}
	_, err := h.Eval(hub.TCP, &s, "1 / 0")
	assert.EqualError(t, err, "Error at column 3: division by zero")
}
