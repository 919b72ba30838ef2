//go:build unix

package client

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyResize asks for a value on ch whenever the terminal is resized.
func notifyResize(ch chan os.Signal) { signal.Notify(ch, syscall.SIGWINCH) }

// suspend stops the process group, as Ctrl-Z does on a terminal in cooked mode, and
// returns once it is continued (fg).
func suspend() { syscall.Kill(0, syscall.SIGTSTP) }
