package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"wscalc/client"
)

const clientUsage = `usage: wscalc client [-tcp ADDR | -ws URL]

Sends lines of the calculator language to a wscalc server and prints the replies.
On a terminal: a prompt with line editing and history; quit or Ctrl-D leaves.
Otherwise: reads stdin lines, prints one reply per answered line, exits at end of input.
Exit status: 0 after quit or end of input, 1 if the server could not be reached or closed
the session itself, 2 for a bad command line.

`

// runClient is `wscalc client`.
func runClient(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wscalc client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tcpAddr := fs.String("tcp", "127.0.0.1:10000", "`address` of the TCP line protocol")
	wsURL := fs.String("ws", "", "WebSocket `URL` (ws://host:port/ws, or host:port) to use instead of TCP")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to try to connect")
	fs.Usage = func() {
		fmt.Fprint(stderr, clientUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wscalc client: unexpected argument %q (send expressions on stdin)\n", fs.Arg(0))
		return 2
	}
	if isSet(fs, "tcp") && isSet(fs, "ws") {
		fmt.Fprintln(stderr, "wscalc client: use -tcp or -ws, not both")
		return 2
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	var c client.Conn
	var err error
	if *wsURL != "" {
		c, err = client.DialWS(dctx, *wsURL)
	} else {
		c, err = client.DialTCP(dctx, *tcpAddr)
	}
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "wscalc client: %v\n", err)
		return 1
	}

	if tty, restore, ok := makeRawTerminal(stdin, stdout); ok {
		err = client.Interactive(ctx, c, tty)
		restore()
		if err != nil {
			return 1 // Interactive has told the user why
		}
		return 0
	}
	if err := client.Pipe(ctx, c, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "wscalc client: %v\n", err)
		return 1
	}
	return 0
}

// makeRawTerminal puts the terminal in raw mode for line editing when both stdin and stdout
// are terminals, and returns it with the function that restores it.
func makeRawTerminal(stdin io.Reader, stdout io.Writer) (io.ReadWriter, func(), bool) {
	in, ok1 := stdin.(*os.File)
	out, ok2 := stdout.(*os.File)
	if !ok1 || !ok2 || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return nil, nil, false
	}
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, nil, false
	}
	restore := func() { term.Restore(int(in.Fd()), state) }
	return struct {
		io.Reader
		io.Writer
	}{in, out}, restore, true
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
