// Package calc is wscalc's calculator: the scanner, parser and exact evaluator of the
// wscalc language, and the per-connection Session that holds variables, ans and a cost
// budget. It is pure and synchronous: no goroutines, no I/O, no logging and no mutable
// package state, so every transport (stdin, TCP, WebSocket, HTTP) shares it unchanged.
//
// # Use
//
//	var s calc.Session            // zero value: default limits, no variables
//	res, err := s.Eval("1 / 3")   // res.Display == "1/3 ≈ 0.33333333333333333333"
//
// Eval returns a Result (the reply line in Display, plus Kind, Value, Decimal and Name
// for JSON replies), a *Error (message, column and end column of the offending token;
// its Error method is the reply line), or ErrQuit for quit and exit. A blank or
// comment-only line gives a Result of KindNone: nothing is replied. EvalContext is Eval
// that stops when its context is done (the client has gone), returning ctx.Err().
// EvalAppend is EvalContext for a transport that reads and writes bytes: it takes the line
// as bytes and appends the reply line to the caller's buffer, so that a typical line
// allocates nothing.
// Session.Gate, Session.Budget and Limits let a server schedule heavy lines, share a
// budget between sessions and bound time and memory (see Limits below).
//
// # Grammar
//
// Loosest binding first; all binary operators are left-associative except **.
//
//	line     = assign | continue | expr
//	assign   = name "=" expr
//	continue = ("*" | "/" | "//" | "%" | "mod" | "**" | "^") ...   (ans is the left operand)
//	expr     = and { "|" and }
//	and      = shift { "&" shift }
//	shift    = sum { ("<<" | ">>") sum }
//	sum      = term { ("+" | "-") term }
//	term     = unary { ("*" | "/" | "//" | "%" | "mod") unary }
//	unary    = ("-" | "+" | "~") unary | power
//	power    = postfix [ ("**" | "^") unary ]
//	postfix  = primary { "!" }
//	primary  = number | name | name "(" [ expr { "," expr } ] ")" | "(" expr ")"
//
// Before scanning, full-width ASCII, the ideographic space, × · ⋅ ∗ ÷ ∕ − – and π are
// mapped one code point for one, so columns stay those of the line as received. The
// scanner reads the mapped line as bytes, one a code point (a line all ASCII as it came).
//
// # Numbers
//
// Values are exact (integers and rationals, math/big) or approximate (binary64). Exact
// values that fit in int64 numerator and denominator are kept as such, so typical lines
// never touch math/big. Literals are exact (0.1 is 1/10). + - * / // % on exact values
// are exact; ** is exact for integer exponents and for p/q exponents of perfect q-th
// powers; sqrt, cbrt, log10, log2 and log are exact on perfect powers; everything else
// from the reference's list of functions, and anything with an approximate operand, is
// approximate; an operation with an approximate operand rounds its exact operands to
// binary64 first (// and % then use the two binary64 values exactly). An exact fraction
// whose numerator and denominator together exceed 100 000 bits becomes the binary64
// nearest it: for + - * / // % judged on the exact result once computed (an integer
// result stays exact), for ** and literals on their estimates. Approximate results are
// within a few ulps of the true result (fmath.go replaces the math functions that are
// not, checked against mpmath by testdata/python_floats.tsv).
//
// # Limits
//
// Limits (zero value: the defaults of the reference) bound the line length, nesting,
// node count, exact integer size, evaluation time, variables, the session's memory and a
// token-bucket budget.
// Integer sizes are refused from estimates before computing: a power whose estimated
// size is large stays lazy (base and exponent) until its digits are needed, so nested
// towers such as (((9**64)**64)**64)**64 are refused without computing any level.
// Integers over 4300 digits are displayed from their leading digits computed in
// big.Float; their full decimal string is built only for a session with ExactValue set
// (the JSON replies' value), as one more operation admitted by the meter.
//
// Time: every operation on big values is admitted by the line's meter with its cost
// estimated from the operands' sizes (cost.go, calibrated on math/big); it is refused,
// with "evaluation took too long", when the estimate exceeds the time left, so a line ends
// within its limit whatever it computes. The loops that can run long (GCD, Newton roots,
// the factorial's product tree) check the clock and the context between steps; lines of
// small values read the clock once per 64 nodes. EvalContext stops at the next checkpoint
// when its context is done. Session.Gate hears of a line's first heavy operation (over
// HeavyTime or HeavyBits), so that a server can run heavy lines apart from light ones.
//
// Budget: a line is charged its static cost (node costs of the reference) when parsed,
// then one unit per 20 µs of measured parse and evaluation time (waiting in the Gate
// excluded) and ⌈bits/1024⌉ per exact result over 1024 bits; help and vars are charged
// one unit per 64 bytes of reply. A Budget may be shared by sessions (Session.Budget).
//
// Memory: the stored values (variables and ans) count their digits in whole words plus an
// overhead, each distinct value once; a result that would take them over
// MaxSessionMemory is refused ("session memory limit reached"). The values a line holds
// at once (big literals, results waiting for their operator) are capped at the same size;
// each operand is dropped as soon as it is consumed, and everything else when the line
// ends.
//
// # Decisions where the reference is silent
//
//   - A name that is neither a function, a constant, ans nor a variable, followed by
//     "(", is reported as an unknown name (foo(2)); a constant or variable followed by
//     "(" is a missing operator (pi(2), x(2)).
//   - A line that starts with one of the continuation operators but has no right
//     operand is a syntax error (end of input), which beats "no previous result".
//   - "no previous result" for a continuation line points at its operator.
//   - Numbers are converted as they are scanned, so a bad or too large number is reported
//     where it stands, even where no number may stand (2 0x).
//   - A line whose static cost exceeds the whole budget is refused with
//     "expression too costly for the session budget (cost N, limit M units)", since
//     waiting would never help.
//   - Invisible characters are quoted Go-style in messages ('\n' (U+000A)), so that a
//     reply never contains a line break.
//   - The time limit is enforced by estimate before each big operation and by the
//     clock between the steps of long loops and every 64 nodes.
//   - vars shows a value whose display is over 40 characters in its ≈ form (an integer's
//     15 significant digits and digit count, a fraction's 20 digits without n/d), so its
//     reply is short whatever is stored.
//   - A large plain result is refused when keeping it as ans would take the stored values
//     over MaxSessionMemory (only possible when the variables fill it), rather than shown
//     and not kept: ans must always be the last result shown.
//   - A cancelled line is charged the work it did.
//   - Calls of unknown functions and wrong argument counts are found while parsing, so they
//     are reported before any evaluation error (sqrt(1/0, 2) is an arity error); "too many
//     arguments" points at the ninth argument.
package calc
