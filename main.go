package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 {
		switch args[0] {
		case "eval":
			os.Exit(runEval(args[1:], os.Stdin, os.Stdout, os.Stderr))
		case "client":
			os.Exit(runClient(context.Background(), args[1:], os.Stdin, os.Stdout, os.Stderr))
		case "bench":
			os.Exit(runBench(context.Background(), args[1:], os.Stdout, os.Stderr))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, args, os.Stdout)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "wscalc:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "wscalc:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
