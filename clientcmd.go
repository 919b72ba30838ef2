package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"wscalc/client"
)

const clientUsage = `usage: wscalc client [-tcp ADDR | -ws URL] [-room NAME [-nick NICK]] [-e LINE]... [-history FILE]

Sends lines of the calculator language to a wscalc server and prints the replies.

On a terminal: a prompt with line editing (emacs keys), history (↑/↓, Ctrl-R to search,
kept in -history), Tab to complete functions, constants, commands and the session's
variables, and help wrapped to the terminal's width; quit, Ctrl-D or Ctrl-C leaves. When
the server closes the connection (a restart, say), the next line reconnects, in a new
session.
With -room: joins the room NAME on connect (and again on each reconnect), prints the
"joined" line and the room's recent history, then the other members' lines and notices
("# …") as they come, above the line being typed on a terminal.
With -e: sends each LINE in order in one session, prints the replies, and exits.
Otherwise: reads stdin lines, prints one reply per answered line, exits at end of input.

Exit status: 0 after quit or end of input; 1 if the server could not be reached, closed
the session itself or is not a line-protocol server (an HTTP port, say), and with -e if
any reply was an error; 2 for a bad command line.

`

// runClient is `wscalc client`.
func runClient(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wscalc client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tcpAddr := fs.String("tcp", defaultTCPAddr, "`address` of the TCP line protocol")
	wsURL := fs.String("ws", "", "WebSocket `URL` (ws://host:port/ws, or host:port) to use instead of TCP")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to try to connect (and to reconnect)")
	var lines []string
	fs.Func("e", "send `LINE` and print its reply, then exit (repeatable: the lines share one session)", func(s string) error {
		lines = append(lines, s)
		return nil
	})
	roomName := fs.String("room", "", "join the room `NAME` on connect (1-32 letters, digits, '-' or '_')")
	nick := fs.String("nick", "", "with -room, the `NICK` to join as (1-24 letters, digits, '-' or '_')")
	history := fs.String("history", client.DefaultHistoryFile(),
		"`FILE` that keeps the lines typed on a terminal; \"\" keeps none")
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
		fmt.Fprintf(stderr, "wscalc client: unexpected argument %q (send lines with -e LINE, or on stdin)\n", fs.Arg(0))
		return 2
	}
	if isSet(fs, "tcp") && isSet(fs, "ws") {
		fmt.Fprintln(stderr, "wscalc client: use -tcp or -ws, not both")
		return 2
	}

	room, ok := clientRoom(fs, *roomName, *nick, stderr)
	if !ok {
		return 2
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var notices io.Writer = stdout // where a room's "joined" line goes: the terminal, once there is one
	dial := func(ctx context.Context) (client.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		if room == nil {
			if *wsURL != "" {
				return client.DialWS(ctx, *wsURL)
			}
			return client.DialTCP(ctx, *tcpAddr)
		}
		c, joined, err := dialRoom(ctx, *wsURL, *tcpAddr, *room)
		if err == nil {
			fmt.Fprintln(notices, joined)
		}
		return c, err
	}
	c, err := dial(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "wscalc client: %v\n", err)
		return 1
	}

	if len(lines) > 0 {
		errorReplies, err := client.Lines(ctx, c, lines, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "wscalc client: %v\n", err)
			return 1
		}
		if errorReplies > 0 {
			return 1
		}
		return 0
	}
	if in, out, ok := client.IsTerminal(stdin, stdout); ok {
		return interactiveClient(ctx, c, dial, in, out, *history, stderr, &notices)
	}
	if err := client.Pipe(ctx, c, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "wscalc client: %v\n", err)
		return 1
	}
	return 0
}

// interactiveClient runs the client on a terminal.
// A room's "joined" line on a reconnect goes to notices, which it sets to the terminal.
func interactiveClient(ctx context.Context, c client.Conn, dial client.Redial, in, out *os.File, history string, stderr io.Writer, notices *io.Writer) int {
	t, err := client.NewTerminal(client.TerminalConfig{In: in, Out: out, HistoryFile: history})
	if err != nil {
		c.Close()
		fmt.Fprintf(stderr, "wscalc client: %v\n", err)
		return 1
	}
	*notices = t
	err = client.Interactive(ctx, c, dial, t)
	t.Close()
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		return 1 // interrupted by a signal: nothing more to say
	}
	fmt.Fprintf(stderr, "wscalc client: %v\n", err)
	return 1
}

// clientRoom checks -room and -nick (rooms.md §1) before anything is sent: nil without
// -room; ok false, with the reason on stderr, when they are bad.
func clientRoom(fs *flag.FlagSet, name, nick string, stderr io.Writer) (room *client.Room, ok bool) {
	if !isSet(fs, "room") {
		if isSet(fs, "nick") {
			fmt.Fprintln(stderr, "wscalc client: -nick needs -room")
			return nil, false
		}
		return nil, true
	}
	r, err := client.NewRoom(name, nick)
	if err != nil {
		fmt.Fprintf(stderr, "wscalc client: %s\n", strings.TrimPrefix(err.Error(), "Error: "))
		return nil, false
	}
	return &r, true
}

// dialRoom connects and joins the room: by URL on a WebSocket, with join on TCP. It returns
// the server's "joined …" line.
func dialRoom(ctx context.Context, wsURL, tcpAddr string, r client.Room) (client.Conn, string, error) {
	if wsURL != "" {
		return client.DialWSRoom(ctx, wsURL, r)
	}
	return client.DialTCPRoom(ctx, tcpAddr, r)
}
