//go:build !linux

package e2e

import "os/exec"

// configureChild: only Linux has a parent-death signal; elsewhere the t.Cleanup that stops
// the server is the only guard.
func configureChild(cmd *exec.Cmd) {}
