package e2e

import (
	"os/exec"
	"syscall"
)

// configureChild makes the kernel kill the server if the test process dies without running
// its cleanups (a -timeout panic, a kill), so no wscalc is ever left behind.
func configureChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
