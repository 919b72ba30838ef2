package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
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
		case "version":
			os.Exit(runVersion(args[1:], os.Stdout, os.Stderr))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := serveMain(ctx, args, os.Stdout)
	stop()
	os.Exit(code)
}

// serveMain runs the server and returns the exit status: 0 after a clean shutdown or -h,
// 2 for a bad command line or environment (any flag's bad value), 1 for anything else (a
// port in use, a shutdown cut short). The error goes to stderr: "wscalc: …", or with
// -log-format json a JSON record like every other line.
func serveMain(ctx context.Context, args []string, stdout io.Writer) int {
	err := run(ctx, args, stdout)
	code := 1
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		code = 2
	}
	if logFormatOf(args, os.LookupEnv) == "json" {
		msg := "cannot serve"
		if code == 2 {
			msg = "bad command line"
		}
		newLogger("json", slog.LevelError, stderr).Error(msg, "err", err.Error(), "exit_status", code)
	} else {
		fmt.Fprintln(stderr, "wscalc:", err)
	}
	return code
}

// logFormatOf is the log format that args and the environment ask for, read leniently so
// that an error in another flag is still reported in that format: the last -log-format
// among the flags (up to "--" or the first argument that is not a flag or a flag's value),
// else $WSCALC_LOG_FORMAT.
func logFormatOf(args []string, lookupEnv func(string) (string, bool)) string {
	format, _ := lookupEnv(envName("log-format"))
	fs := newFlagSet(new(config))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		// An unknown flag is taken to have no value.
		if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
			i++
			value = args[i]
		}
		if name == "log-format" {
			format = value
		}
	}
	return strings.ToLower(format)
}

// isBoolFlag reports whether f takes no value (-version, not -version true).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// runVersion is `wscalc version`: the module version, the VCS revision and time when the
// build recorded them, and the Go version; one JSON object when $WSCALC_LOG_FORMAT is
// json, as `wscalc -version` prints then.
func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "wscalc version: unexpected argument %q (usage: wscalc version)\n", args[0])
		return 2
	}
	if err := writeVersion(stdout, logFormatOf(nil, os.LookupEnv), readBuildInfo()); err != nil {
		fmt.Fprintln(stderr, "wscalc version:", err)
		return 1
	}
	return 0
}

// usageError is a bad command line: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
