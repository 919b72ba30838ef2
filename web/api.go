package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strings"

	"wscalc/calc"
	"wscalc/presence"
	"wscalc/rooms"
	"wscalc/sched"
	"wscalc/wire"
)

// api serves /api/eval: one line evaluated in a fresh session per request. It is stateless
// on purpose (no variables or ans across requests; a session is what the WebSocket and TCP
// transports are for), so any replica behind a load balancer can answer any request.
//
// Replies are the JSON messages of the wscalc.v1.json WebSocket subprotocol without an id:
// a wire.Result (200) or a wire.Error. Status codes:
//
//	200 result (a blank or comment-only line is a result of kind "none")
//	400 malformed JSON or form, missing expr, quit/exit (there is no connection to end)
//	413 the expression, or the body carrying it, is over the line limit
//	414 GET with an expression over the line limit in the query
//	415 a POST body that is not JSON, text or a form
//	422 the line did not evaluate (the core's error, with column and end)
//
// Every non-200 reply is a wire.Error, so a client parses one shape. The work of a client
// address's requests is charged to one budget (Limits.Budget per BudgetWindow), as a
// session's lines are: the API is no way around the session budget. A request whose client
// goes away stops its evaluation (logged as 499).
type api struct {
	sched    *sched.Scheduler
	limits   calc.Limits
	budgets  *perAddress[*calc.Budget] // the work budget of each client address
	maxLine  int                       // calc's line limit in bytes
	maxJSON  int64                     // body limit for a JSON request
	maxForm  int64                     // body limit for a form request
	maxPlain int64                     // body limit for a text request
}

func newAPI(s *sched.Scheduler, limits calc.Limits) *api {
	n := limits.WithDefaults().MaxLineBytes
	return &api{
		sched:  s,
		limits: limits,
		// Each request is a fresh session, so the budget that bounds a client's work is its
		// address's (admission.Key: an IPv4 address or an IPv6 /64), shared by its requests
		// (and with it, in the scheduler, its share of heavy time). A budget unused for a whole
		// window is full again, so dropping it then loses nothing; maxBudgets bounds the
		// memory (a few hundred bytes each, ~4 MiB in all) against a client with very many
		// addresses, whose least recently used ones then start afresh.
		budgets: newPerAddress(maxBudgets, limits.WithDefaults().BudgetWindow,
			func() *calc.Budget { return calc.NewBudget(limits) }),
		// Escaping can grow a line six-fold in JSON (a control character as \u00XX; Python's
		// json.dumps writes every non-ASCII code point as \uXXXX, π's 2 bytes as 6) and
		// three-fold in a form (%XX); 1 KiB more covers the envelope and an id. The decoded
		// expr is then held to the line limit itself.
		maxLine:  n,
		maxJSON:  6*int64(n) + 1024,
		maxForm:  3*int64(n) + 1024,
		maxPlain: int64(n) + 2, // a trailing CRLF is not part of the line
	}
}

// errTooLong is the core's own message for an over-long line, so the 413 body says what
// TCP would have said.
func (a *api) errTooLong() error {
	return calc.TooLongError(a.maxLine)
}

func (a *api) serveGET(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("expr") {
		a.fail(w, http.StatusBadRequest, "", errors.New("missing expr (try /api/eval?expr=1%2B2)"))
		return
	}
	expr := q.Get("expr")
	if len(expr) > a.maxLine {
		a.fail(w, http.StatusRequestURITooLong, "", a.errTooLong())
		return
	}
	a.eval(w, r, expr)
}

func (a *api) servePOST(w http.ResponseWriter, r *http.Request) {
	mediaType := "text/plain"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			a.fail(w, http.StatusUnsupportedMediaType, "", fmt.Errorf("bad Content-Type: %v", err))
			return
		}
		mediaType = mt
	}
	var (
		expr   string
		status int
		err    error
	)
	switch mediaType {
	case "application/json":
		expr, status, err = a.readJSON(w, r)
	case "text/plain":
		expr, status, err = a.readPlain(w, r)
	case "application/x-www-form-urlencoded":
		expr, status, err = a.readForm(w, r)
	default:
		status = http.StatusUnsupportedMediaType
		err = errors.New("send application/json {\"expr\": \"...\"}, text/plain or a form with expr")
	}
	if err != nil {
		a.fail(w, status, "", err)
		return
	}
	if len(expr) > a.maxLine {
		a.fail(w, http.StatusRequestEntityTooLarge, "", a.errTooLong())
		return
	}
	a.eval(w, r, expr)
}

// readBody reads at most limit bytes; a longer body is a 413.
func (a *api) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return nil, http.StatusRequestEntityTooLarge, a.errTooLong()
		}
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request: %v", err)
	}
	return body, 0, nil
}

func (a *api) readJSON(w http.ResponseWriter, r *http.Request) (string, int, error) {
	body, status, err := a.readBody(w, r, a.maxJSON)
	if err != nil {
		return "", status, err
	}
	var req wire.Request
	if err := json.Unmarshal(body, &req); err != nil {
		return "", http.StatusBadRequest, errors.New(jsonProblem(err))
	}
	if req.Expr == nil {
		return "", http.StatusBadRequest, errors.New(`missing "expr" (send {"expr": "1+2"})`)
	}
	return *req.Expr, 0, nil
}

func (a *api) readPlain(w http.ResponseWriter, r *http.Request) (string, int, error) {
	body, status, err := a.readBody(w, r, a.maxPlain)
	if err != nil {
		return "", status, err
	}
	// curl --data-binary @file and `echo … | curl` send the line with its newline.
	line := strings.TrimSuffix(string(body), "\n")
	line = strings.TrimSuffix(line, "\r")
	return line, 0, nil
}

func (a *api) readForm(w http.ResponseWriter, r *http.Request) (string, int, error) {
	body, status, err := a.readBody(w, r, a.maxForm)
	if err != nil {
		return "", status, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("malformed form: %v", err)
	}
	if !form.Has("expr") {
		return "", http.StatusBadRequest, errors.New("missing expr (try curl --data-urlencode 'expr=1+2')")
	}
	return form.Get("expr"), 0, nil
}

// eval runs expr in a fresh session, charged to the client address's budget, through the
// scheduler, so API requests share the evaluation slots fairly with the sessions. It
// stops when the request is cancelled (the client has gone).
func (a *api) eval(w http.ResponseWriter, r *http.Request, expr string) {
	if _, ok := rooms.ParseCommand(expr); ok { // the API is stateless: no room to be in
		a.fail(w, http.StatusBadRequest, expr, &calc.Error{Msg: rooms.ErrNeedConnection.Msg})
		return
	}
	s := &calc.Session{Limits: a.limits, Budget: a.budgets.get(clientAddr(r)), ExactValue: true}
	res, err := a.sched.Eval(r.Context(), presence.HTTP, s, expr)
	var ce *calc.Error
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, wire.NewResult(nil, expr, res))
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// Nobody reads the answer; the status is for the log, as nginx writes it.
		a.fail(w, statusClientClosedRequest, expr, errors.New("request cancelled"))
	case errors.Is(err, calc.ErrQuit):
		a.fail(w, http.StatusBadRequest, expr,
			errors.New("quit and exit end a connection; the HTTP API has none (each request is a fresh session)"))
	case errors.As(err, &ce):
		a.fail(w, http.StatusUnprocessableEntity, expr, err)
	default:
		a.fail(w, http.StatusInternalServerError, expr, err)
	}
}

// statusClientClosedRequest is nginx's status for a request whose client went away before
// the answer: it appears only in the logs.
const statusClientClosedRequest = 499

// maxBudgets bounds the client addresses whose API budgets are held (see newAPI).
const maxBudgets = 1 << 14

// clientAddr is the address the request came from (never X-Forwarded-For, which a client
// can forge); the zero Addr if RemoteAddr is not an IP address and port.
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

// fail answers with a wire.Error. An error that is not the core's own is a whole-line error
// (column 0) with err's text as the message.
func (a *api) fail(w http.ResponseWriter, status int, input string, err error) {
	writeJSON(w, status, wire.NewError(nil, input, err))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the display text as the core wrote it: "a & b", not "a \u0026 b"
	enc.Encode(v)
}

// jsonProblem says in plain words what is wrong with a JSON request body, given the error
// of decoding it into a wire.Request: which field has the wrong kind of value, or where the
// JSON is malformed; never Go's type names ("cannot unmarshal number into Go struct field
// Request.expr of type string" becomes `"expr" must be a string, not a number`).
func jsonProblem(err error) string {
	const example = `{"expr": "1+2"}`
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return fmt.Sprintf("the body must be a JSON object such as %s, not %s", example, jsonKind(te.Value))
	case errors.As(err, &te):
		want := "of another kind"
		if te.Type != nil && te.Type.Kind() == reflect.String {
			want = "a string"
		}
		return fmt.Sprintf("%q must be %s, not %s (send %s)", te.Field, want, jsonKind(te.Value), example)
	case errors.As(err, &se) && se.Offset == 0:
		return "malformed JSON: the body is empty (send " + example + ")"
	case errors.As(err, &se) && strings.HasPrefix(se.Error(), "unexpected end"):
		return fmt.Sprintf("malformed JSON: the body ends at byte %d, before the JSON value does", se.Offset)
	case errors.As(err, &se) && strings.HasSuffix(se.Error(), "after top-level value"):
		return fmt.Sprintf("malformed JSON: more than one JSON value in the body (the second begins at byte %d); send one object", se.Offset)
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	return "malformed JSON"
}

// jsonKind names a JSON value's kind as encoding/json's UnmarshalTypeError.Value does
// ("string", "number", "object", …), with its article; a number's digits are not echoed.
func jsonKind(value string) string {
	switch {
	case value == "object" || value == "array":
		return "an " + value
	case value == "bool":
		return "true or false"
	case strings.HasPrefix(value, "number"):
		return "a number"
	}
	return "a " + value
}
