package calc

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The rules that decide what happens to a line before it is evaluated, in one place: the
// session applies them (EvalContext), and the transports and clients that must know them
// without a session (the line protocol answers an over-long line before it has read all
// of it; the HTTP API refuses a body; a client must know which lines get no reply) call
// these functions rather than restate them.

// TooLongError is the error for a line longer than limit bytes.
func TooLongError(limit int) *Error {
	return &Error{Msg: "expression too long (limit " + strconv.Itoa(limit) + " bytes)"}
}

// NotUTF8Error is the error for a line that is not valid UTF-8.
func NotUTF8Error() *Error { return &Error{Msg: "input is not valid UTF-8"} }

// isQuitWord reports whether a command word (lower case) ends the session.
func isQuitWord(w string) bool { return w == "quit" || w == "exit" }

// IsQuit reports whether line is the quit or exit command (in any case, with blanks and a
// comment around it), after which a session ends without a reply (ErrQuit).
func IsQuit(line string) bool {
	src := lineRunes(line)
	return len(src) == 4 && isQuitWord(strings.ToLower(string(src)))
}

// NeedsReply reports whether a session answers line, given the line limit in bytes: every
// line is answered except one that is blank once its comment is removed (and quit or exit,
// see IsQuit, which NeedsReply leaves to the caller). The length and UTF-8 checks come
// first, so an over-long or invalid comment line is answered. The line has no trailing
// newline.
func NeedsReply(line string, maxLineBytes int) bool {
	if len(line) > maxLineBytes || !utf8.ValidString(line) {
		return true
	}
	return len(lineRunes(line)) > 0
}

// lineRunes is the line as the session sees it (each rune mapped as the lexer maps it),
// without its comment and the blanks around what is left.
func lineRunes(line string) []rune {
	src := make([]rune, 0, len(line))
	for _, r := range line {
		r = mapRune(r)
		if r == '#' {
			break
		}
		src = append(src, r)
	}
	return trimBlanks(src)
}
