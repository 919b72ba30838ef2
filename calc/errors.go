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
	// Refusal says why a line was refused rather than answered, for metrics: "" for an
	// ordinary error (syntax, division by zero, …), else one of the Refusal constants.
	Refusal string
}

// Refusal reasons of Error.Refusal: the line was not answered because of a limit of the
// session or the server, not because of what it says.
const (
	RefusalTime          = "time"           // evaluation took too long
	RefusalBudget        = "budget"         // session budget exhausted for now
	RefusalCost          = "cost"           // the line costs more than the whole budget
	RefusalSessionMemory = "session_memory" // the session's stored values would exceed their cap
	RefusalServerMemory  = "server_memory"  // the server is near its memory cap (set by the hub)
	RefusalBusy          = "busy"           // the server is too busy (set by the hub)
)

// Error returns the reply line: "Error at column N: msg" or "Error: msg".
func (e *Error) Error() string {
	if e.Column == 0 {
		return "Error: " + e.Msg
	}
	return "Error at column " + strconv.Itoa(e.Column) + ": " + e.Msg
}
