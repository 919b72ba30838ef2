package scenario

import (
	"fmt"
	"strings"
)

// The attack lines. Each is legal under the static limits (4096 bytes, 1000 nodes,
// nesting 100, integers of at most 1 000 000 bits, 100 variables) and within the default
// session budget.

// RunawayLog is the exact logarithm that, before issue 8, built numbers of ~10⁸ bits and
// ran for minutes (a line that must be answered within its 1 s limit).
const RunawayLog = "log(2, 1.0000001)"

// GCDSetup stores the operands of GCDLine: x of 950 978 bits (3**600000 has that many;
// k varies it) and y of 999 999 bits.
func GCDSetup(k int) []string {
	return []string{fmt.Sprintf("x = 3**600000 + %d", 2*k+1), "y = 2**999999 - 1"}
}

// GCDLine is one gcd of the stored x and y: about 1 s of CPU before issue 8, and charged
// 10 budget units (a call), so a session could send it all day.
const GCDLine = "gcd(x, y)"

// GCD8Line is eight gcds of x and y in one line: before issue 8 the clock was read only
// after large results or every 64 steps, and these gcds have small results, so the line
// ran ~8 s against its 1 s limit.
var GCD8Line = strings.TrimSuffix(strings.Repeat("gcd(x, y) + ", 8), " + ")

// GCDInline is GCDLine with its operands computed in the line, for the stateless
// /api/eval (k varies the first operand).
func GCDInline(k int) string {
	return fmt.Sprintf("gcd(3**600000 + %d, 2**999999 - 1)", 2*k+1)
}

// GCD8Inline is GCD8Line for /api/eval: the operands are recomputed for each gcd.
var GCD8Inline = strings.TrimSuffix(strings.Repeat("gcd(3**600000+1, 2**999999-1)+", 8), "+")

// StoreLine stores a value of 999 991 bits in variable v<i>: the storage attack (100 such
// variables per session held ~20 MB before issue 8; ~980 budget units a line).
func StoreLine(i int) string { return fmt.Sprintf("v%d = 1 << 999990", i) }

// ScratchSetup stores the value the scratch line works on.
const ScratchSetup = "x = 1 << 999990"

// ScratchTerms is how many terms ScratchLine has by default: 499 terms, 998 nodes, the
// most the 1000-node limit allows.
const ScratchTerms = 499

// ScratchLine is "-x-x-…-x" with n terms: every intermediate (-x, -2x, …, -n·x) is a new
// value of ~1 000 000 bits, and before issue 8 the evaluator's scratch slots kept all of
// them (~110 MB at n = 499) until the session's next line.
func ScratchLine(n int) string { return strings.Repeat("-x", max(n, 1)) }
