package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reply is the union of wire.Result and wire.Error, decoded strictly enough to notice an
// unexpected field such as an id.
type reply struct {
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id"`
	Input   string          `json:"input"`
	Display string          `json:"display"`
	Kind    string          `json:"kind"`
	Value   string          `json:"value"`
	Decimal string          `json:"decimal"`
	Name    string          `json:"name"`
	Message string          `json:"message"`
	Column  int             `json:"column"`
	End     int             `json:"end"`
}

var (
	jsonHeader  = http.Header{"Content-Type": {"application/json"}}
	plainHeader = http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	formHeader  = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
)

func decodeReply(t *testing.T, resp *http.Response, body string) reply {
	t.Helper()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var r reply
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&r), body)
	assert.Empty(t, r.ID, "the stateless API has no request id")
	return r
}

func jsonBody(t *testing.T, expr string) string {
	b, err := json.Marshal(map[string]string{"expr": expr})
	require.NoError(t, err)
	return string(b)
}

func TestEvalResultOverEveryEncoding(t *testing.T) {
	e := newEnv(t, nil)
	const expr = "2 + 3 * 4"
	for name, send := range map[string]func() (*http.Response, string){
		"GET":          func() (*http.Response, string) { return e.get(t, "/api/eval?expr="+url.QueryEscape(expr)) },
		"POST json":    func() (*http.Response, string) { return e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, expr)) },
		"POST text":    func() (*http.Response, string) { return e.do(t, "POST", "/api/eval", plainHeader, expr+"\r\n") },
		"POST untyped": func() (*http.Response, string) { return e.do(t, "POST", "/api/eval", nil, expr) },
		"POST form": func() (*http.Response, string) {
			return e.do(t, "POST", "/api/eval", formHeader, url.Values{"expr": {expr}}.Encode())
		},
		"POST json charset": func() (*http.Response, string) {
			return e.do(t, "POST", "/api/eval", http.Header{"Content-Type": {"application/json; charset=utf-8"}},
				`{"id": 7, "expr": "2 + 3 * 4"}`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := send()
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			r := decodeReply(t, resp, body)
			assert.Equal(t, reply{Type: "result", Input: expr, Display: "14", Kind: "integer", Value: "14", Decimal: "14"}, r)
		})
	}
}

func TestEvalRationalAndAssignment(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, "1/3"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	r := decodeReply(t, resp, body)
	assert.Equal(t, "rational", r.Kind)
	assert.Equal(t, "1/3 ≈ 0.33333333333333333333", r.Display)
	assert.Equal(t, "1/3", r.Value)

	resp, body = e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, "x = 7 * 6"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	r = decodeReply(t, resp, body)
	assert.Equal(t, "x = 42", r.Display)
	assert.Equal(t, "x", r.Name)

	// Stateless: the next request is a fresh session that has never heard of x.
	resp, body = e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, "x"))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
	assert.Equal(t, "Error at column 1: unknown name 'x'", decodeReply(t, resp, body).Display)
}

func TestEvalErrorIs422WithColumns(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, "1 / 0"))
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
	assert.Equal(t, reply{Type: "error", Input: "1 / 0", Display: "Error at column 3: division by zero",
		Message: "division by zero", Column: 3, End: 3}, decodeReply(t, resp, body))
}

func TestEvalBlankLineIsAResultOfKindNone(t *testing.T) {
	e := newEnv(t, nil)
	for _, expr := range []string{"", "   ", "# just a note"} {
		resp, body := e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, expr))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		r := decodeReply(t, resp, body)
		assert.Equal(t, reply{Type: "result", Input: expr, Kind: "none"}, r)
	}
}

func TestEvalQuitIs400(t *testing.T) {
	e := newEnv(t, nil)
	for _, expr := range []string{"quit", "exit"} {
		resp, body := e.get(t, "/api/eval?expr="+expr)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		r := decodeReply(t, resp, body)
		assert.Equal(t, "error", r.Type)
		assert.Equal(t, expr, r.Input)
		assert.Contains(t, r.Message, "quit and exit end a connection")
		assert.Equal(t, "Error: "+r.Message, r.Display)
	}
}

func TestEvalBadRequests(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		message            string
	}{
		{"GET without expr", "GET", "/api/eval", nil, "", 400, "missing expr"},
		{"GET other param", "GET", "/api/eval?e=1", nil, "", 400, "missing expr"},
		{"truncated JSON", "POST", "/api/eval", jsonHeader, `{"expr": "1+`, 400, "malformed JSON"},
		{"JSON not an object", "POST", "/api/eval", jsonHeader, `"1+2"`, 400, `the body must be a JSON object such as {"expr": "1+2"}, not a string`},
		{"JSON expr not a string", "POST", "/api/eval", jsonHeader, `{"expr": 3}`, 400, `"expr" must be a string, not a number`},
		{"JSON trailing data", "POST", "/api/eval", jsonHeader, `{"expr": "1"} {"expr": "2"}`, 400, "malformed JSON"},
		{"JSON missing expr", "POST", "/api/eval", jsonHeader, `{"id": 1}`, 400, `missing "expr"`},
		{"JSON null expr", "POST", "/api/eval", jsonHeader, `{"expr": null}`, 400, `missing "expr"`},
		{"empty JSON body", "POST", "/api/eval", jsonHeader, ``, 400, "malformed JSON"},
		{"form without expr", "POST", "/api/eval", formHeader, `x=1`, 400, "missing expr"},
		{"bad form", "POST", "/api/eval", formHeader, `expr=%zz`, 400, "malformed form"},
		{"XML", "POST", "/api/eval", http.Header{"Content-Type": {"application/xml"}}, `<expr>1</expr>`, 415, "application/json"},
		{"bad content type", "POST", "/api/eval", http.Header{"Content-Type": {"/"}}, `1`, 415, "bad Content-Type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do(t, c.method, c.path, c.header, c.body)
			require.Equal(t, c.status, resp.StatusCode, body)
			r := decodeReply(t, resp, body)
			assert.Equal(t, "error", r.Type)
			assert.Contains(t, r.Message, c.message)
			assert.Zero(t, r.Column)
		})
	}
}

// A JSON body that does not decode is explained in plain words, never with Go's type
// names (json: cannot unmarshal number into Go struct field Request.expr of type string).
func TestEvalJSONErrorsInPlainWords(t *testing.T) {
	e := newEnv(t, nil)
	for body, want := range map[string]string{
		`{"expr": 3}`:                 `"expr" must be a string, not a number (send {"expr": "1+2"})`,
		`{"expr": 1e999}`:             `"expr" must be a string, not a number (send {"expr": "1+2"})`,
		`{"expr": true}`:              `"expr" must be a string, not true or false (send {"expr": "1+2"})`,
		`{"expr": {"a": 1}}`:          `"expr" must be a string, not an object (send {"expr": "1+2"})`,
		`{"expr": ["1"]}`:             `"expr" must be a string, not an array (send {"expr": "1+2"})`,
		`"1+2"`:                       `the body must be a JSON object such as {"expr": "1+2"}, not a string`,
		`[1]`:                         `the body must be a JSON object such as {"expr": "1+2"}, not an array`,
		`12`:                          `the body must be a JSON object such as {"expr": "1+2"}, not a number`,
		``:                            `malformed JSON: the body is empty (send {"expr": "1+2"})`,
		`{"expr": "1+`:                `malformed JSON: the body ends at byte 12, before the JSON value does`,
		`{"expr": "1"} {"expr": "2"}`: `malformed JSON: more than one JSON value in the body (the second begins at byte 15); send one object`,
		`{"expr" "1"}`:                `malformed JSON at byte 9: invalid character '"' after object key`,
		`{expr: "1"}`:                 `malformed JSON at byte 2: invalid character 'e' looking for beginning of object key string`,
	} {
		resp, got := e.do(t, "POST", "/api/eval", jsonHeader, body)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, got)
		r := decodeReply(t, resp, got)
		assert.Equal(t, want, r.Message, "%s", body)
		assert.Equal(t, "Error: "+want, r.Display, "%s", body)
		for _, goSpeak := range []string{"Go ", "struct", "unmarshal", "main.", "wire."} {
			assert.NotContains(t, r.Message, goSpeak, "%s", body)
		}
	}
}

func TestEvalLineLimit(t *testing.T) {
	e := newEnv(t, nil)
	const limit = 4096
	// A line of exactly the limit: "1" then a comment that pads it.
	atLimit := "1 #" + strings.Repeat("x", limit-3)
	require.Len(t, atLimit, limit)
	over := atLimit + "x"
	tooLong := "Error: expression too long (limit 4096 bytes)"

	t.Run("at the limit", func(t *testing.T) {
		for name, send := range map[string]func() (*http.Response, string){
			"json": func() (*http.Response, string) { return e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, atLimit)) },
			// The trailing newline is not part of the line.
			"text": func() (*http.Response, string) { return e.do(t, "POST", "/api/eval", plainHeader, atLimit+"\r\n") },
			"GET":  func() (*http.Response, string) { return e.get(t, "/api/eval?expr="+url.QueryEscape(atLimit)) },
		} {
			resp, body := send()
			require.Equal(t, http.StatusOK, resp.StatusCode, name)
			assert.Equal(t, "1", decodeReply(t, resp, body).Display, name)
		}
	})

	t.Run("over the limit", func(t *testing.T) {
		for name, c := range map[string]struct {
			send   func() (*http.Response, string)
			status int
		}{
			"text body": {func() (*http.Response, string) { return e.do(t, "POST", "/api/eval", plainHeader, over) }, 413},
			// Within the JSON body limit, but the expr itself is over the line limit.
			"json expr": {func() (*http.Response, string) { return e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, over)) }, 413},
			"json body": {func() (*http.Response, string) {
				return e.do(t, "POST", "/api/eval", jsonHeader, `{"expr": "1", "pad": "`+strings.Repeat("x", 7*limit)+`"}`)
			}, 413},
			"form": {func() (*http.Response, string) {
				return e.do(t, "POST", "/api/eval", formHeader, url.Values{"expr": {over}}.Encode())
			}, 413},
			"GET": {func() (*http.Response, string) { return e.get(t, "/api/eval?expr="+url.QueryEscape(over)) }, 414},
		} {
			resp, body := c.send()
			require.Equal(t, c.status, resp.StatusCode, name)
			r := decodeReply(t, resp, body)
			assert.Equal(t, tooLong, r.Display, name)
			assert.Empty(t, r.Input, "an over-long input is not echoed (%s)", name)
		}
	})

	// Python's json.dumps escapes every non-ASCII character (π, 2 bytes, becomes \u03c0,
	// 6 bytes): a line at the limit still fits the JSON body limit.
	t.Run("escaped JSON at the limit", func(t *testing.T) {
		line := "1 #" + strings.Repeat("π", (limit-3)/2)
		line += strings.Repeat("x", limit-len(line))
		require.Len(t, line, limit)
		escaped := `{"expr": "` + strings.ReplaceAll(line, "π", `\u03c0`) + `"}`
		require.Greater(t, len(escaped), 2*limit)
		resp, body := e.do(t, "POST", "/api/eval", jsonHeader, escaped)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "1", decodeReply(t, resp, body).Display)
	})
}

// Invalid UTF-8 in a text body reaches the core, whose error never echoes the bytes
// (encoding/json replaces them in the input field).
func TestEvalInvalidUTF8(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.do(t, "POST", "/api/eval", plainHeader, "1 + \xff")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
	assert.NotContains(t, body, "\xff")
	assert.Equal(t, "Error: input is not valid UTF-8", decodeReply(t, resp, body).Display)
}
