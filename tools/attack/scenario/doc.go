// Package scenario holds the hostile-client scenarios of issue 8 ("isolation"): runaway
// lines, heavy sessions against light ones, memory attacks, connections from one address,
// and SIGTERM under load. Each runs against a wscalc server that is already listening, is
// bounded in count and time, stays on loopback, and returns what it saw as plain data.
//
// Two programs use it: tools/attack (the measurement, printed as tables for
// BENCHMARKS.md) and the end-to-end suite (e2e/attack_test.go, which asserts on the same
// results). Nothing here judges the server: the callers do.
package scenario
