//go:build !unix

package client

import "os"

// notifyResize does nothing where there is no SIGWINCH: the width is read at start-up.
func notifyResize(chan os.Signal) {}

// suspend does nothing where there is no job control.
func suspend() {}
