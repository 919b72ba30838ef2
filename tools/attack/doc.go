// Command attack measures how a wscalc server holds up against hostile clients (issue 8,
// "isolation"): runaway lines, heavy sessions next to light ones, memory attacks, many
// connections from one address, and SIGTERM under load. Every scenario is bounded in count
// and time and stays on loopback; the results are printed as Markdown tables (the "Under
// attack" section of BENCHMARKS.md) and optionally saved as JSON.
//
//	go build -o /tmp/wscalc . && go build -o /tmp/attack ./tools/attack
//	/tmp/attack -bin /tmp/wscalc all                 # a fresh server for every run
//	/tmp/attack -tcp 127.0.0.1:10000 -http 127.0.0.1:8080 -pid PID heavy memory
//
// With -bin each run (each runaway case, each -heavy-sessions value, each other scenario)
// gets a fresh server, which is stopped (SIGTERM, then SIGKILL after 5 s) when the run
// ends, so a server wedged by one run cannot spoil the next. With an external server the
// memory scenario needs -pid (RSS from /proc/PID/status) and the shutdown scenario needs
// -pid too (it sends SIGTERM, ending that server).
package main
