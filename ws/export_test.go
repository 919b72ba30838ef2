package ws

// SetEvalHook makes h call f with each line before evaluating it (to block an evaluation
// or to inject a panic). Call it before h serves anything.
func SetEvalHook(h *Handler, f func(line string)) { h.evalHook = f }

// ReadLimit is the message size limit for the given limits.
var ReadLimit = readLimit

// InvalidRequest is the message of the reply to a malformed JSON request.
const InvalidRequest = invalidRequest
