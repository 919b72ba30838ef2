package calc_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The calculator starts no goroutines; the tests that share a Budget between goroutines
// must not leave any behind either.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
