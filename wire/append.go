package wire

import (
	"strconv"
	"unicode/utf8"
)

// AppendResult appends r as a JSON object to b: byte for byte what a json.Encoder with
// SetEscapeHTML(false) writes for it, without the trailing newline. It exists for the
// per-request path, where reflection-based encoding costs as much as evaluating a
// typical line. r.ID must be valid JSON (see ValidID); it is copied verbatim.
func AppendResult(b []byte, r Result) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, r.Type)
	b = appendID(b, r.ID)
	b = append(b, `,"input":`...)
	b = appendString(b, r.Input)
	b = append(b, `,"display":`...)
	b = appendString(b, r.Display)
	b = append(b, `,"kind":`...)
	b = appendString(b, r.Kind)
	b = appendOptional(b, `,"value":`, r.Value)
	b = appendOptional(b, `,"decimal":`, r.Decimal)
	b = appendOptional(b, `,"name":`, r.Name)
	return append(b, '}')
}

// AppendError appends e as a JSON object to b, as AppendResult does for a Result.
func AppendError(b []byte, e Error) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, e.Type)
	b = appendID(b, e.ID)
	b = append(b, `,"input":`...)
	b = appendString(b, e.Input)
	b = append(b, `,"display":`...)
	b = appendString(b, e.Display)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"column":`...)
	b = strconv.AppendInt(b, int64(e.Column), 10)
	b = append(b, `,"end":`...)
	b = strconv.AppendInt(b, int64(e.End), 10)
	return append(b, '}')
}

// appendID appends the id field, which is omitted when empty. A valid id (a JSON number or
// string, as ValidID checks) is already compact, so it is copied as encoding/json would.
func appendID(b, id []byte) []byte {
	if len(id) == 0 {
		return b
	}
	b = append(b, `,"id":`...)
	return append(b, id...)
}

// appendOptional appends a string field that is omitted when empty (omitempty).
func appendOptional(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string with encoding/json's escaping, minus its HTML
// escaping (<, > and & stay as they are; both are valid JSON): quote and backslash,
// \b \f \n \r \t, other control characters as \u00XX, U+2028 and U+2029 escaped (they end
// a line in JavaScript), and each byte of invalid UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
