package calc

// Kind says what sort of value a Result holds; its text is used as-is in the JSON replies.
type Kind string

const (
	// KindNone marks a blank or comment-only line: there is nothing to reply.
	KindNone Kind = ""
	// KindInteger is an exact integer.
	KindInteger Kind = "integer"
	// KindRational is an exact non-integer rational.
	KindRational Kind = "rational"
	// KindApprox is an approximate (binary64) value.
	KindApprox Kind = "approx"
	// KindText is the answer to a command such as help or vars.
	KindText Kind = "text"
)

// Result is the answer to one line. Display is the reply line of the protocol; the other
// fields are the same answer in structured form for the JSON replies.
type Result struct {
	// Display is the one-line reply, e.g. "14", "1/3 ≈ 0.33333333333333333333",
	// "x = 10/3 ≈ 3.3333333333333333333". Empty only for KindNone.
	Display string
	Kind    Kind
	// Value is the exact text of an exact result: "14", "1/3", "-1/8", every digit up to the
	// size limit when the session has ExactValue set (the JSON replies). Without it, it is
	// empty when the numerator or denominator has more than 4300 digits (the display is
	// approximate then). For an approximate result it is the shortest text that round-trips
	// the binary64 value.
	Value string
	// Decimal is the decimal text shown in Display: "0.33333333333333333333", "0.5",
	// "1.4142135623731", "9.99002093014385e+30102".
	Decimal string
	// Name is the variable assigned, for an assignment line; empty otherwise.
	Name string
}
