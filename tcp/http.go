package tcp

import (
	"bytes"
	"strings"
)

// looksLikeHTTP reports whether line is the start of an HTTP request: someone pointed a
// browser or curl at the line port. The calculator language has no ':' and no word
// followed by a path, so none of these lines is a valid expression; the test is still
// narrow, because the answer is to close the connection:
//
//   - a request line `METHOD SP target SP HTTP/x` with an upper-case method token
//     (`GET / HTTP/1.1`, `OPTIONS * HTTP/1.1`, `PRI * HTTP/2.0`);
//   - a well-known method followed by a path or URL alone (`GET /`, HTTP/0.9 style);
//   - a header line `Name: value` whose name has a hyphen (`User-Agent`,
//     `Content-Type`) or is a common one-word header (`Host`, `Accept`, …).
func looksLikeHTTP(line []byte) bool {
	// Both start with an ASCII letter (a method, a header's name): a quick no for most
	// lines of arithmetic, which start with a digit or a bracket.
	if len(line) == 0 || !(line[0] >= 'A' && line[0] <= 'Z' || line[0] >= 'a' && line[0] <= 'z') {
		return false
	}
	return isRequestLine(line) || isHeaderLine(line)
}

var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"CONNECT": true, "OPTIONS": true, "TRACE": true, "PATCH": true,
}

func isRequestLine(line []byte) bool {
	method, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || !isMethod(method) {
		return false
	}
	target, version, hasVersion := bytes.Cut(rest, []byte{' '})
	if len(target) == 0 {
		return false
	}
	if hasVersion {
		return bytes.HasPrefix(version, []byte("HTTP/")) && !bytes.ContainsRune(version, ' ')
	}
	return knownMethods[string(method)] &&
		(target[0] == '/' || target[0] == '*' || bytes.HasPrefix(target, []byte("http://")) ||
			bytes.HasPrefix(target, []byte("https://")))
}

func isMethod(b []byte) bool {
	if len(b) == 0 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	for _, ch := range b {
		if !(ch >= 'A' && ch <= 'Z' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

var knownHeaders = map[string]bool{
	"host": true, "accept": true, "connection": true, "upgrade": true, "cookie": true,
	"origin": true, "referer": true, "authorization": true, "pragma": true, "expect": true,
	"te": true, "via": true, "range": true, "date": true, "forwarded": true, "priority": true,
	"dnt": true, "trailer": true,
}

func isHeaderLine(line []byte) bool {
	name, _, ok := bytes.Cut(line, []byte{':'})
	if !ok || len(name) == 0 {
		return false
	}
	for i, part := range strings.Split(string(name), "-") {
		if !isHeaderWord(part, i == 0) {
			return false
		}
	}
	return bytes.IndexByte(name, '-') >= 0 || knownHeaders[strings.ToLower(string(name))]
}

// isHeaderWord: letters and digits, starting with a letter for the first word.
func isHeaderWord(w string, first bool) bool {
	if w == "" {
		return false
	}
	for i, ch := range []byte(w) {
		letter := ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z'
		digit := ch >= '0' && ch <= '9'
		if !(letter || digit) || first && i == 0 && !letter {
			return false
		}
	}
	return true
}
