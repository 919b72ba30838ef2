// Package hub owns the state that every session of a running server shares, whatever its
// transport: the live-session count per transport (with change notification for presence
// pushes), the scheduler that keeps light lines from waiting behind heavy ones and shares
// the heavy slots fairly (sched.go), and the memory governor (memory.go). Transports depend
// on hub, never on each other.
package hub
