// Package web is wscalc's HTTP surface: the chi router that serves the playground files, the
// stateless evaluation API (/api/eval), the probes (/healthz, /readyz), the metrics and the
// WebSocket endpoint (/ws). It receives the playground files and the WebSocket handler from
// the binary, so it imports neither static nor ws and can be tested with stand-ins.
package web
