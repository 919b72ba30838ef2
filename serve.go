package main

import (
	"context"
	"errors"
	"io"
)

// run serves until ctx is cancelled. TEMPORARY stub: the server issue wires it.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	return errors.New("server not wired yet")
}
