package loadgen

import (
	"bytes"
	"cmp"
	"slices"
	"sync/atomic"
	"unicode/utf8"
)

// Error replies. A server answers a line it cannot or will not evaluate with a reply that
// starts with "Error: " or "Error at column N: ". Such a reply is not throughput: the
// load generator sets every one apart, checked or not, unless the expressions file expects
// it (then it is the right answer, as -check has it). Refusals, the server's "not now"
// (session budget, limits, busy), are worse: the run measured the server turning work
// away, so they fail it.
//
// The reader checks each reply's first byte only; error replies (and the odd reply that
// starts with 'E', such as an assignment to a variable named E…) take the slower path.

var (
	errorPlain  = []byte("Error: ")
	errorColumn = []byte("Error at column ")
)

// isErrorReply reports whether reply is an error reply of the wscalc protocol.
func isErrorReply(reply []byte) bool {
	return bytes.HasPrefix(reply, errorPlain) || bytes.HasPrefix(reply, errorColumn)
}

// mayBeError is the hot path's test: false for every reply that is surely not an error.
func mayBeError(reply []byte) bool { return len(reply) > 0 && reply[0] == 'E' }

// refusals are the server's refusals, by the start of their message (after "Error: " or
// "Error at column N: "), with the kind the server's metrics use. A longer prefix comes
// before a shorter one it extends.
var refusals = []struct {
	kind   string
	prefix []byte
}{
	{"budget", []byte("session budget exhausted")},
	{"cost", []byte("expression too costly")},
	{"time", []byte("evaluation took too long")},
	{"session_memory", []byte("session memory limit")},
	{"server_memory", []byte("server busy (memory)")},
	{"busy", []byte("server busy")},
	{"connections", []byte("too many connections")},
}

// refusalOf returns the kind of refusal reply is, or "" if it is none.
func refusalOf(reply []byte) string {
	var msg []byte
	switch {
	case bytes.HasPrefix(reply, errorPlain):
		msg = reply[len(errorPlain):]
	case bytes.HasPrefix(reply, errorColumn):
		_, after, ok := bytes.Cut(reply[len(errorColumn):], []byte(": "))
		if !ok {
			return ""
		}
		msg = after
	default:
		return ""
	}
	for _, r := range refusals {
		if bytes.HasPrefix(msg, r.prefix) {
			return r.kind
		}
	}
	return ""
}

// maxClassText bounds an error class's text; longer texts are cut and end in "…".
const maxClassText = 160

// normalise appends to dst reply's class: the reply with every number (a run of digits,
// with a decimal point inside) replaced by N, so that "try again in 3 s" and "try again in
// 41 s", or column 3 and column 7, are one class; cut to maxClassText bytes.
func normalise(dst, reply []byte) []byte {
	for i := 0; i < len(reply) && len(dst) <= maxClassText; {
		if !isDigit(reply[i]) {
			dst = append(dst, reply[i])
			i++
			continue
		}
		for i < len(reply) && (isDigit(reply[i]) ||
			reply[i] == '.' && i+1 < len(reply) && isDigit(reply[i+1])) {
			i++
		}
		dst = append(dst, 'N')
	}
	if len(dst) > maxClassText {
		cut := maxClassText
		for cut > 0 && !utf8.RuneStart(dst[cut]) {
			cut--
		}
		dst = append(dst[:cut], "…"...)
	}
	return dst
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// maxClasses bounds the distinct error texts one connection keeps; the rest are counted
// under otherClass, so that a load of ever different errors cannot grow without bound.
const (
	maxClasses = 32
	otherClass = "(other error texts)"
)

// tally counts one connection's error replies. Only its reader touches it while the load
// runs (the progress line reads errors too); Run reads it once the reader has returned.
type tally struct {
	errors   atomic.Int64 // unexpected error replies
	expected int64        // error replies that were the expected reply
	classes  map[string]*classCount
	buf      []byte
}

type classCount struct {
	n       int64
	refusal string // the refusal kind, "" for an ordinary error
}

// add counts an unexpected error reply under its class.
func (t *tally) add(reply []byte) {
	t.errors.Add(1)
	t.buf = normalise(t.buf[:0], reply)
	if c, ok := t.classes[string(t.buf)]; ok { // no allocation for a known class
		c.n++
		return
	}
	if t.classes == nil {
		t.classes = make(map[string]*classCount)
	}
	key, kind := string(t.buf), refusalOf(reply)
	if len(t.classes) >= maxClasses {
		key = otherClass
		if kind != "" {
			key = otherClass + " refused: " + kind
		}
		if c, ok := t.classes[key]; ok {
			c.n++
			return
		}
	}
	t.classes[key] = &classCount{n: 1, refusal: kind}
}

// expectedReply reports whether an error reply to e is the one e expects: the same text,
// or for a refusal the same kind of refusal (its figures — the wait, the limits — vary
// with time and the server's settings).
func expectedReply(e *Expr, reply []byte) bool {
	return e.Checked && (bytes.Equal(reply, e.wantBytes) || sameRefusal(e, reply))
}

// sameRefusal reports whether reply is a refusal of the kind e expects.
func sameRefusal(e *Expr, reply []byte) bool {
	return e.wantRefusal != "" && refusalOf(reply) == e.wantRefusal
}

// ErrorText is one class of error replies: the text with its numbers replaced by N.
type ErrorText struct {
	Text    string `json:"text"`
	Count   int64  `json:"count"`
	Refusal string `json:"refusal,omitempty"` // the kind of refusal, "" for an ordinary error
}

// maxErrorTexts is how many classes the summary lists, the most common first.
const maxErrorTexts = 5

// merge adds the connections' tallies into sum.
func mergeTallies(sum *Summary, tallies []*tally) {
	all := map[string]*ErrorText{}
	for _, t := range tallies {
		sum.ErrorReplies += t.errors.Load()
		sum.ExpectedErrors += t.expected
		for text, c := range t.classes {
			if c.refusal != "" {
				sum.Refusals += c.n
				if sum.RefusalKinds == nil {
					sum.RefusalKinds = map[string]int64{}
				}
				sum.RefusalKinds[c.refusal] += c.n
			}
			if a, ok := all[text]; ok {
				a.Count += c.n
			} else {
				all[text] = &ErrorText{Text: text, Count: c.n, Refusal: c.refusal}
			}
		}
	}
	texts := make([]ErrorText, 0, len(all))
	for _, a := range all {
		texts = append(texts, *a)
	}
	slices.SortFunc(texts, func(a, b ErrorText) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Text, b.Text))
	})
	sum.ErrorClasses = len(texts)
	sum.ErrorTexts = texts[:min(len(texts), maxErrorTexts)]
}
