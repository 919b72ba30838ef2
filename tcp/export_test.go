package tcp

import "time"

// SetStackReset shortens how long a connection's goroutine waits for input before it
// hands the connection on to a fresh goroutine. Use it on the Config given to New.
func SetStackReset(c *Config, d time.Duration) { c.stackReset = d }
