package calc

import (
	"errors"
	"strconv"
)

// ErrQuit is returned by Session.Eval for the quit and exit commands: the transport closes
// the connection and sends no reply.
var ErrQuit = errors.New("calc: quit")

// Error is an evaluation or syntax error. Its Error method gives the protocol's reply line.
type Error struct {
	// Msg is the message without the "Error" prefix, e.g. "division by zero".
	Msg string
	// Column is the 1-based code-point column of the offending token, or 0 for an error that
	// concerns the whole line (length, UTF-8, budget, time).
	Column int
	// End is the 1-based column of the last code point of the offending token (End ≥ Column),
	// or 0 when Column is 0. In JavaScript, line.slice(Column-1, End) is the token (for
	// lines of BMP characters), so a browser can underline it.
	End int
}

// Error returns the reply line: "Error at column N: msg" or "Error: msg".
func (e *Error) Error() string {
	if e.Column == 0 {
		return "Error: " + e.Msg
	}
	return "Error at column " + strconv.Itoa(e.Column) + ": " + e.Msg
}
