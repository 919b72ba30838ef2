// Package loadgen is the load generator behind `wscalc bench`, in the manner of
// redis-benchmark: it opens many connections to a running server (TCP line protocol or the
// WebSocket plain text mode), keeps a pipeline of requests in flight on each (or sends at a
// fixed open-loop rate), checks every reply if asked, and reports throughput, a latency
// histogram, errors, mismatches and requests that were never answered.
//
// RunRoom (room.go, `wscalc bench -room`) is a fan-out load on one room instead: many
// members in WebSocket JSON mode, a few writing, each checking the room's seq order.
package loadgen
