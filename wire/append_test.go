package wire_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"wscalc/calc"
	"wscalc/wire"
)

// encode is the reference: what the WebSocket sessions wrote before AppendResult and
// AppendError existed.
func encode(t require.TestingT, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// tricky are the strings whose escaping differs between JSON, Go quoting and HTML-safe
// JSON, or that are not UTF-8.
var tricky = []string{
	"", `"`, `\`, "\b\f\n\r\t", "\x00\x01\x1f\x7f", "<script>&amp;</script>",
	"\u2028\u2029", "line\u2028sep", "é≈√π😀", "\xff", "a\xc3", "\xed\xa0\x80", "\ufffd",
	"1/3 ≈ 0.33333333333333333333", `Error at column 3: division by zero`,
}

// text draws strings that mix ordinary text with the tricky cases.
func text() *rapid.Generator[string] {
	return rapid.OneOf(
		rapid.String(),
		rapid.StringOf(rapid.RuneFrom(special)),
		rapid.SampledFrom(tricky),
		rapid.Custom(func(t *rapid.T) string {
			return string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes"))
		}),
	)
}

// special are the runes that need escaping, and a few that do not.
var special = []rune{'"', '\\', '\b', '\f', '\n', '\r', '\t', 0, 0x1f, 0x7f, '<', '>', '&',
	'\u2028', '\u2029', 'a', ' ', 'é', '≈', '😀', '\ufffd'}

func id() *rapid.Generator[json.RawMessage] {
	return rapid.OneOf(
		rapid.Just(json.RawMessage(nil)),
		rapid.Custom(func(t *rapid.T) json.RawMessage {
			return json.RawMessage(rapid.SampledFrom([]string{`0`, `-7`, `12.5e-3`, `"abc"`,
				`"\u0041<>&"`, `"é"`, `1e400`}).Draw(t, "id"))
		}),
	)
}

func TestAppendResultMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := wire.Result{
			Type:    "result",
			ID:      id().Draw(t, "id"),
			Input:   text().Draw(t, "input"),
			Display: text().Draw(t, "display"),
			Kind:    rapid.SampledFrom([]string{"integer", "rational", "approx", "text", "none"}).Draw(t, "kind"),
			Value:   text().Draw(t, "value"),
			Decimal: text().Draw(t, "decimal"),
			Name:    text().Draw(t, "name"),
		}
		prefix := []byte("prefix ")
		got := wire.AppendResult(prefix, r)
		require.Equal(t, "prefix "+encode(t, r), string(got))
	})
}

func TestAppendErrorMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := wire.Error{
			Type:    "error",
			ID:      id().Draw(t, "id"),
			Input:   text().Draw(t, "input"),
			Display: text().Draw(t, "display"),
			Message: text().Draw(t, "message"),
			Column:  rapid.IntRange(-1, 5000).Draw(t, "column"),
			End:     rapid.Int().Draw(t, "end"),
		}
		require.Equal(t, encode(t, e), string(wire.AppendError(nil, e)))
	})
}

func TestAppendTrickyStrings(t *testing.T) {
	for _, s := range tricky {
		r := wire.Result{Type: "result", Input: s, Display: s, Kind: "text", Value: s}
		got := wire.AppendResult(nil, r)
		require.Equal(t, encode(t, r), string(got), "%q", s)
		require.True(t, json.Valid(got), "%q", s)
	}
	// Spelled out, so that the reference itself is pinned down.
	got := string(wire.AppendResult(nil, wire.Result{Type: "result", ID: json.RawMessage(`"x"`),
		Input: "<a>&\u2028\x01\"\\\n", Display: "\xff", Kind: "none"}))
	require.Equal(t, `{"type":"result","id":"x","input":"<a>&\u2028\u0001\"\\\n","display":"\ufffd","kind":"none"}`, got)
}

var benchResult = wire.Result{Type: "result", ID: json.RawMessage(`7`), Input: "1 / 3 + 2",
	Display: "7/3 ≈ 2.3333333333333333333", Kind: "rational", Value: "7/3",
	Decimal: "2.3333333333333333333"}

func BenchmarkAppendResult(b *testing.B) {
	var buf []byte
	for b.Loop() {
		buf = wire.AppendResult(buf[:0], benchResult)
	}
}

// BenchmarkEncodeResult is the reference: a json.Encoder per reply, as before.
func BenchmarkEncodeResult(b *testing.B) {
	for b.Loop() {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(benchResult); err != nil {
			b.Fatal(err)
		}
	}
}

// A long exact result keeps every digit in the JSON reply, through NewResult and both
// encoders: an integer of 30103 digits and a fraction whose parts are over 4300 digits,
// both displayed approximately (the display's first digits are checked).
func TestExactValueInJSON(t *testing.T) {
	p2 := new(big.Int).Lsh(big.NewInt(1), 100000).String()
	p3 := new(big.Int).Exp(big.NewInt(3), big.NewInt(10000), nil).String()
	p50 := new(big.Int).Lsh(big.NewInt(1), 50000).String()
	for _, tc := range []struct{ expr, display, value string }{
		{"2 ** 100000", "≈ 9.99002093014385e+30102 (30103 digits)", p2},
		{"x = -(2 ** 100000)", "x = ≈ -9.99002093014385e+30102 (30103 digits)", "-" + p2},
		{"3 ** 10000 / 2 ** 50000", "≈ 5.16135816749849", p3 + "/" + p50},
	} {
		s := &calc.Session{ExactValue: true}
		res, err := s.Eval(tc.expr)
		require.NoError(t, err, tc.expr)
		r := wire.NewResult(json.RawMessage(`7`), tc.expr, res)
		out := wire.AppendResult(nil, r)
		require.Equal(t, encode(t, r), string(out), tc.expr)
		var got wire.Result
		require.NoError(t, json.Unmarshal(out, &got), tc.expr)
		require.True(t, strings.HasPrefix(got.Display, tc.display), "%s: display %q, want %q…", tc.expr, got.Display, tc.display)
		require.Equal(t, tc.value, got.Value, tc.expr)
	}
	require.Len(t, p2, 30103)
}
