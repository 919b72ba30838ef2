package tcp

import "time"

// SetStackReset shortens how long a connection's goroutine waits for input before it
// hands the connection on to a fresh goroutine. Call it before s serves anything.
func SetStackReset(s *Server, d time.Duration) { s.stackReset = d }
