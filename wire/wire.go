package wire

import (
	"encoding/json"
	"errors"

	"wscalc/calc"
)

// Subprotocol is the WebSocket subprotocol name of the JSON protocol.
const Subprotocol = "wscalc.v1.json"

// Request is one client message: {"id": <number|string>, "expr": "<line>"}.
// Expr is a pointer so that a missing expr can be told from an empty one.
type Request struct {
	ID   json.RawMessage `json:"id,omitempty"`
	Expr *string         `json:"expr"`
}

// Result answers a line that evaluated. Kind is integer, rational, approx, text (a command)
// or none (a blank or comment-only line, Display empty). Value is the exact value of an
// exact result, every digit of it ("n" or "n/d"), even where Display is approximate: the
// session that evaluated it must have calc.Session.ExactValue set (the JSON protocols'
// sessions do). For an approximate result it is the shortest decimal that round-trips the
// binary64 value.
type Result struct {
	Type    string          `json:"type"` // "result"
	ID      json.RawMessage `json:"id,omitempty"`
	Input   string          `json:"input"`
	Display string          `json:"display"`
	Kind    string          `json:"kind"`
	Value   string          `json:"value,omitempty"`
	Decimal string          `json:"decimal,omitempty"`
	Name    string          `json:"name,omitempty"`
}

// Error answers a line that failed. Column and End are 1-based code-point columns of the
// offending token (End inclusive), both 0 for an error about the whole line.
type Error struct {
	Type    string          `json:"type"` // "error"
	ID      json.RawMessage `json:"id,omitempty"`
	Input   string          `json:"input"`
	Display string          `json:"display"`
	Message string          `json:"message"`
	Column  int             `json:"column"`
	End     int             `json:"end"`
}

// Hello is the first message of a JSON session.
type Hello struct {
	Type    string      `json:"type"` // "hello"
	Session string      `json:"session"`
	Version string      `json:"version"`
	Limits  calc.Limits `json:"limits"`
	// TCP is the line protocol's address as host:port to dial (nc HOST PORT); a server
	// listening on every interface gives localhost. Absent when the line protocol is off.
	TCP string `json:"tcp,omitempty"`
}

// Clients is the presence push: how many sessions are live, by transport.
type Clients struct {
	Type string `json:"type"` // "clients"
	Counts
}

// Counts is the live sessions in a presence push (presence.Counts, as sent).
type Counts struct {
	Total int `json:"total"`
	WS    int `json:"ws"`
	TCP   int `json:"tcp"`
}

// NewResult converts a calc result.
func NewResult(id json.RawMessage, input string, r calc.Result) Result {
	kind := string(r.Kind)
	if r.Kind == calc.KindNone {
		kind = "none"
	}
	return Result{Type: "result", ID: id, Input: input, Display: r.Display, Kind: kind,
		Value: r.Value, Decimal: r.Decimal, Name: r.Name}
}

// NewError converts an evaluation error. An error that is not a *calc.Error is reported as
// a whole-line error with its text as the message.
func NewError(id json.RawMessage, input string, err error) Error {
	var ce *calc.Error
	if !errors.As(err, &ce) {
		ce = &calc.Error{Msg: err.Error()}
	}
	return Error{Type: "error", ID: id, Input: input, Display: ce.Error(), Message: ce.Msg,
		Column: ce.Column, End: ce.End}
}

// ValidID reports whether id is absent, a JSON number or a JSON string, the only ids the
// protocol accepts (they are echoed back verbatim).
func ValidID(id json.RawMessage) bool {
	if len(id) == 0 {
		return true
	}
	switch id[0] {
	case '"':
		var s string
		return json.Unmarshal(id, &s) == nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		return json.Unmarshal(id, &n) == nil
	}
	return false
}
