package loadgen

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorRepliesAndRefusalsAreRecognised(t *testing.T) {
	for reply, kind := range map[string]string{
		"Error: session budget exhausted, try again in 12 s":                             "budget",
		"Error: expression too costly for the session budget (cost 3000, limit 1 units)": "cost",
		"Error: evaluation took too long (limit 1 s)":                                    "time",
		"Error at column 1: session memory limit reached (limit 4 MiB)":                  "session_memory",
		"Error: server busy (memory), try again later":                                   "server_memory",
		"Error: server busy (max 2 clients)":                                             "busy",
		"Error: too many connections from 127.0.0.1 (limit 256)":                         "connections",
		"Error at column 3: division by zero":                                            "",
		"Error: expression too long (limit 4096 bytes)":                                  "",
		"Error at column 5: unknown name 'session budget exhausted'":                     "",
	} {
		assert.True(t, isErrorReply([]byte(reply)), reply)
		assert.True(t, mayBeError([]byte(reply)), reply)
		assert.Equal(t, kind, refusalOf([]byte(reply)), reply)
	}
	// Replies that only look like errors: an assignment to a variable named Error…, a value.
	for _, reply := range []string{"Errorx = 5", "Error = 1", "Errors", "E", "", "42", "≈ 1.4142135623731"} {
		assert.False(t, isErrorReply([]byte(reply)), reply)
		assert.Empty(t, refusalOf([]byte(reply)), reply)
	}
}

func TestNormaliseMakesOneClassOfTheVariableParts(t *testing.T) {
	for in, want := range map[string]string{
		"Error: session budget exhausted, try again in 41 s":                             "Error: session budget exhausted, try again in N s",
		"Error at column 12: division by zero":                                           "Error at column N: division by zero",
		"Error at column 1: session memory limit reached (limit 1.5 GiB)":                "Error at column N: session memory limit reached (limit N GiB)",
		"Error: expression too costly for the session budget (cost 3000, limit 1 units)": "Error: expression too costly for the session budget (cost N, limit N units)",
		"Error: x.": "Error: x.",
	} {
		assert.Equal(t, want, string(normalise(nil, []byte(in))), in)
	}
	long := "Error at column 1: unknown name '" + strings.Repeat("é", 200) + "'"
	got := normalise(nil, []byte(long))
	assert.LessOrEqual(t, len(got), maxClassText+len("…"))
	assert.True(t, bytes.HasSuffix(got, []byte("é…")), "cut on a character boundary: %q", got)
}

func TestTallyKeepsABoundedNumberOfTexts(t *testing.T) {
	var tl tally
	for i := range 3 * maxClasses {
		// Texts that differ in more than their numbers stay apart, up to the bound.
		tl.add(fmt.Appendf(nil, "Error at column 1: unknown name '%c%c'", 'a'+i%26, 'a'+i/26))
	}
	tl.add([]byte("Error: session budget exhausted, try again in 3 s"))
	assert.Equal(t, int64(3*maxClasses+1), tl.errors.Load())
	assert.Len(t, tl.classes, maxClasses+2)
	assert.Equal(t, int64(2*maxClasses), tl.classes[otherClass].n)
	assert.Equal(t, "budget", tl.classes[otherClass+" refused: budget"].refusal)
}

func TestErrorRepliesAreNotThroughputEvenUnchecked(t *testing.T) {
	srv := startTableServer(t, func(s *tableServer) { s.refuseEvery = 4 })
	for _, proto := range []string{"tcp", "ws"} {
		t.Run(proto, func(t *testing.T) {
			before := srv.replies.Load()
			s := run(t, Config{Proto: proto, Addr: addrOf(srv, proto), Conns: 4, Pipeline: 8, Requests: 2000})
			require.Zero(t, before%4, "each run starts on a refusal boundary")
			assert.False(t, s.Checked)
			assert.Equal(t, int64(2000), s.Answered)
			assert.Equal(t, int64(500), s.Refusals)
			assert.Equal(t, int64(500), s.ErrorReplies)
			assert.Equal(t, map[string]int64{"budget": 500}, s.RefusalKinds)
			assert.Equal(t, int64(1500), s.Successful)
			// The built-in mix's own error lines (1 / 0, a missing parenthesis) are expected.
			assert.Positive(t, s.ExpectedErrors)
			assert.Equal(t, uint64(1500), s.Latency.Count, "latency is the successful replies'")
			assert.InDelta(t, 3, s.RPS/s.ErrorRPS, 1e-9)
			assert.InDelta(t, float64(s.Successful)/s.ElapsedSec, s.RPS, 1e-6)
			require.Len(t, s.ErrorTexts, 1, "one text, whatever the wait")
			assert.Equal(t, ErrorText{Text: "Error: session budget exhausted, try again in N s", Count: 500,
				Refusal: "budget"}, s.ErrorTexts[0])
			assert.Equal(t, 1, s.ErrorClasses)
			assert.False(t, s.OK(), "refusals fail the run")

			var out bytes.Buffer
			s.WriteText(&out)
			text := out.String()
			assert.Contains(t, text, "replies:      1500 successful (")
			assert.Contains(t, text, "500 error replies (500 refusals)")
			assert.Regexp(t, `throughput:   \d+ req/s successful, \d+ error replies/s, over`, text)
			assert.Contains(t, text, "error reply:  500× Error: session budget exhausted, try again in N s  [refused: budget]")
			assert.Contains(t, text, "warning:      the server refused 500 of 2000 answered requests (25.0%: budget 500)")
			assert.Contains(t, text, "-session-budget 1000000000000")
			assert.Contains(t, text, "FAILED: 500 requests refused by the server")
		})
	}
}

func TestUnexpectedLanguageErrorsAreCountedButDoNotFail(t *testing.T) {
	srv := startTableServer(t, nil)
	exprs := []Expr{{Line: "1 + 1"}, {Line: "nope(", Want: ""}, {Line: "2 + 3 * 4", Want: "14", Checked: true}}
	s := run(t, Config{Proto: "tcp", Addr: srv.TCP, Conns: 2, Pipeline: 3, Requests: 300, Exprs: exprs})
	assert.Equal(t, int64(300), s.Answered)
	assert.Equal(t, int64(200), s.ErrorReplies, "1 + 1 is not in the table either")
	assert.Zero(t, s.Refusals)
	assert.Equal(t, int64(100), s.Successful)
	assert.Equal(t, []ErrorText{{Text: "Error: not in the table", Count: 200}}, s.ErrorTexts)
	assert.True(t, s.OK(), "ordinary errors are reported, not a failure")
	assert.Empty(t, s.Warnings())
}

func TestExpectedRefusalsPass(t *testing.T) {
	srv := startTableServer(t, func(s *tableServer) { s.refuseEvery = 1 })
	// The expected wait differs from the server's: a refusal of the expected kind passes.
	exprs := []Expr{{Line: "2 ** 10", Want: "Error: session budget exhausted, try again in 7 s", Checked: true}}
	for _, check := range []bool{false, true} {
		s := run(t, Config{Proto: "tcp", Addr: srv.TCP, Conns: 2, Pipeline: 4, Requests: 200,
			Exprs: exprs, Check: check})
		assert.True(t, s.OK(), "%+v", s)
		assert.Equal(t, int64(200), s.ExpectedErrors)
		assert.Equal(t, int64(200), s.Successful)
		assert.Zero(t, s.ErrorReplies)
		assert.Zero(t, s.Refusals)
		assert.Zero(t, s.Mismatches)
	}

	// Expecting another kind of refusal, or none, does not pass.
	exprs[0].Want = "Error: evaluation took too long (limit 1 s)"
	s := run(t, Config{Proto: "tcp", Addr: srv.TCP, Conns: 1, Pipeline: 1, Requests: 10, Exprs: exprs, Check: true})
	assert.Equal(t, int64(10), s.Refusals)
	assert.Equal(t, int64(10), s.Mismatches)
	assert.False(t, s.OK())
}

func TestAConnectionRefusalIsNamed(t *testing.T) {
	assert.EqualError(t, errUnsolicited([]byte("Error: server busy (max 1 clients)")),
		`connection refused by the server (busy): "Error: server busy (max 1 clients)"`)
	assert.EqualError(t, errUnsolicited([]byte("bye")), `reply without a request: "bye"`)
}

// BenchmarkClassify is the reader's per-reply cost of telling error replies apart: a
// value (the hot path: one byte looked at), an error the expressions expect, and a refusal
// (normalised and counted).
func BenchmarkClassify(b *testing.B) {
	w := &worker{}
	for _, c := range []struct{ name, want, reply string }{
		{"value", "1/3 ≈ 0.33333333333333333333", "1/3 ≈ 0.33333333333333333333"},
		{"expected-error", "Error at column 3: division by zero", "Error at column 3: division by zero"},
		{"refusal", "1024", "Error: session budget exhausted, try again in 17 s"},
	} {
		e := &Expr{Line: "x", Want: c.want, Checked: true, wantBytes: []byte(c.want)}
		reply := []byte(c.reply)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if mayBeError(reply) {
					w.errorReply(e, reply)
				}
			}
		})
	}
}
