// Command wscalc is an exact calculator server: a browser playground over WebSocket, a
// plain TCP line protocol for nc, and an HTTP API, all sharing one calculator core.
//
//	wscalc [flags]             serve (see wscalc -h)
//	wscalc eval [EXPR ...]     evaluate arguments, or stdin lines, in one session
//	wscalc version             the version, VCS revision and Go version
package main
