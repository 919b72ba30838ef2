package main

// The server's configuration: its flags, their WSCALC_* environment variables, their
// validation and the usage text (serve.go is the server's lifecycle). The defaults of the
// session limits are package session's.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/session"
	"wscalc/web"
	"wscalc/ws"
)

// config is the server's command line, read from flags and WSCALC_* environment variables.
type config struct {
	httpAddr        string
	tcpAddr         string
	maxClients      int
	sessionBudget   int
	idleTimeout     time.Duration
	shutdownTimeout time.Duration
	allowOrigins    originList
	allowHosts      hostList
	maxConnsPerIP   int
	drainDelay      time.Duration
	sessionMemory   int64 // bytes
	maxMemory       int64 // bytes; 0: a quarter of the machine's memory
	logFormat       string
	logLevel        slog.Level
}

// Memory flags: the default of -session-memory (calc's default of
// Limits.MaxSessionMemory), and the smallest values accepted. A session needs room for a
// few variables; the server's own working set (runtime, buffers, a few hundred idle
// sessions) is some MiB, and below minMaxMemory the runtime would collect garbage all the
// time instead of serving.
const (
	defaultSessionMemory = 4 << 20 // calc.DefaultLimits().MaxSessionMemory; a test checks
	minSessionMemory     = 1 << 10
	minMaxMemory         = 32 << 20
)

// envPrefix starts the environment variable of every flag: -max-clients is
// WSCALC_MAX_CLIENTS. Containers configure the server this way; a flag given on the
// command line wins over its variable.
const envPrefix = "WSCALC_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// originList is the repeatable -allow-origin. Its environment variable is comma-separated;
// the first -allow-origin on the command line replaces what the environment gave (flags win)
// rather than adding to it.
type originList struct {
	patterns []string
	fromEnv  bool
}

func (o *originList) String() string {
	if o == nil {
		return ""
	}
	return strings.Join(o.patterns, ",")
}

func (o *originList) Set(v string) error {
	if o.fromEnv {
		o.patterns, o.fromEnv = nil, false
	}
	switch err := ws.CheckOriginPattern(v); {
	case errors.Is(err, ws.ErrAllOrigins):
		return fmt.Errorf("%q would allow every origin; name the origins to allow (example.com, *.example.com, https://example.com:8443)", v)
	case err != nil:
		return fmt.Errorf("%q: %v", v, err)
	}
	o.patterns = append(o.patterns, v)
	return nil
}

func (o *originList) setFromEnv(v string) error {
	o.patterns = nil
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if err := o.Set(p); err != nil {
			return err
		}
	}
	o.fromEnv = true
	return nil
}

// hostList is the repeatable -allow-host: more Host names that /ws and /api/eval answer
// when the HTTP server listens on a loopback address (see web.Config.AllowHosts). A value
// may be a comma-separated list; the environment variable is one. As with -allow-origin,
// the first -allow-host on the command line replaces what the environment gave.
type hostList struct {
	hosts   []string
	fromEnv bool
}

func (h *hostList) String() string {
	if h == nil {
		return ""
	}
	return strings.Join(h.hosts, ",")
}

func (h *hostList) Set(v string) error {
	if h.fromEnv {
		h.hosts, h.fromEnv = nil, false
	}
	for _, host := range strings.Split(v, ",") {
		if host = strings.TrimSpace(host); host == "" {
			continue
		}
		if err := web.CheckHostPattern(host); err != nil {
			return err
		}
		h.hosts = append(h.hosts, strings.ToLower(host))
	}
	return nil
}

func (h *hostList) setFromEnv(v string) error {
	h.hosts = nil
	if err := h.Set(v); err != nil {
		return err
	}
	h.fromEnv = true
	return nil
}

// envList is a repeatable flag whose environment variable is a comma-separated list.
type envList interface{ setFromEnv(string) error }

// levelFlag accepts the four slog level names, in any case.
type levelFlag struct{ level *slog.Level }

func (l levelFlag) String() string {
	if l.level == nil {
		return ""
	}
	return strings.ToLower(l.level.String())
}

func (l levelFlag) Set(v string) error {
	switch strings.ToLower(v) {
	case "debug":
		*l.level = slog.LevelDebug
	case "info":
		*l.level = slog.LevelInfo
	case "warn":
		*l.level = slog.LevelWarn
	case "error":
		*l.level = slog.LevelError
	default:
		return errors.New("want debug, info, warn or error")
	}
	return nil
}

// formatFlag accepts text or json.
type formatFlag struct{ format *string }

func (f formatFlag) String() string {
	if f.format == nil {
		return ""
	}
	return *f.format
}

func (f formatFlag) Set(v string) error {
	if v != "text" && v != "json" {
		return errors.New("want text or json")
	}
	*f.format = v
	return nil
}

func newFlagSet(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("wscalc", flag.ContinueOnError)
	// Errors are returned to main, which prints them once; -h prints the usage itself.
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:8080",
		"`address` of the HTTP server: playground, /ws, /api/eval, /healthz, /readyz, /metrics; empty disables it")
	fs.StringVar(&c.tcpAddr, "tcp", "127.0.0.1:10000",
		"`address` of the line protocol (nc); empty disables it")
	fs.IntVar(&c.maxClients, "max-clients", session.DefaultMaxClients,
		"most live sessions per transport (TCP and WebSocket `count`ed separately)")
	fs.IntVar(&c.sessionBudget, "session-budget", calc.DefaultLimits().Budget,
		"cost `units` each session may spend per minute (a power costs 1000, a product 10); raise it for load tests")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", session.DefaultIdleTimeout,
		"close a session that sends nothing for this `duration`")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second,
		"on SIGINT/SIGTERM, wait at most this `duration` for sessions to finish before closing them")
	fs.Var(&c.allowOrigins, "allow-origin",
		"also accept WebSocket connections from pages of this `origin`: example.com, *.example.com or https://example.com:8443 (repeatable; comma-separated in the environment variable); same-origin pages are always accepted")
	fs.Var(&c.allowHosts, "allow-host",
		"when -http is a loopback address, /ws and /api/eval answer only the Host names localhost, 127.0.0.1 and [::1] (any port), against DNS rebinding; this `host` is answered too: example.com, example.com:8080 or *.example.com (repeatable or comma-separated)")
	fs.IntVar(&c.maxConnsPerIP, "max-conns-per-ip", admission.DefaultLimit,
		"most open connections (`count`) from one client address (an IPv4 address or an IPv6 /64), TCP, WebSocket and HTTP keep-alive together; beyond it a connection is refused (TCP: an error line, WebSocket: close 1013, HTTP: 429)")
	fs.DurationVar(&c.drainDelay, "drain-delay", 0,
		"on SIGINT/SIGTERM, keep serving everything for this `duration` while /readyz answers 503, so that a load balancer takes the instance out first; then shut down")
	c.sessionMemory = defaultSessionMemory
	fs.Var(sizeFlag{&c.sessionMemory}, "session-memory",
		"most memory (`size`) the stored values (variables and ans) of one session may take, e.g. 4MiB or 512KiB; an assignment beyond it is refused")
	fs.Var(sizeFlag{&c.maxMemory}, "max-memory",
		"memory `size` the whole server aims to stay under, e.g. 512MiB or 2GiB (the Go runtime's soft memory limit; near it new heavy evaluations are refused); default a quarter of the machine's memory")
	c.logFormat = "text"
	fs.Var(formatFlag{&c.logFormat}, "log-format", "log `format`: text or json")
	c.logLevel = slog.LevelInfo
	fs.Var(levelFlag{&c.logLevel}, "log-level", "log `level`: debug, info, warn or error")
	return fs
}

// parseConfig reads the environment (through lookupEnv), then args. -h returns
// flag.ErrHelp after writing the usage to usageOut; any other mistake is a usageError.
func parseConfig(args []string, lookupEnv func(string) (string, bool), usageOut io.Writer) (config, error) {
	var c config
	fs := newFlagSet(&c)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := lookupEnv(envName(f.Name))
		if !ok || envErr != nil {
			return
		}
		var err error
		if l, ok := f.Value.(envList); ok {
			err = l.setFromEnv(v)
		} else {
			err = f.Value.Set(v)
		}
		if err != nil {
			envErr = usageError{fmt.Errorf("invalid value %q for %s (flag -%s): %v", v, envName(f.Name), f.Name, err)}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(usageOut, fs)
			return c, flag.ErrHelp
		}
		return c, usageError{fmt.Errorf("%w (see wscalc -h)", err)}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Errorf("unexpected argument %q: the subcommands are eval, client and bench (see wscalc -h)", fs.Arg(0))}
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.httpAddr == "" && c.tcpAddr == "":
		return usageError{errors.New("-http and -tcp are both empty: nothing to serve")}
	case c.maxClients < 1:
		return usageError{fmt.Errorf("-max-clients %d: want at least 1", c.maxClients)}
	case c.sessionBudget < 1:
		return usageError{fmt.Errorf("-session-budget %d: want at least 1", c.sessionBudget)}
	case c.idleTimeout <= 0:
		return usageError{fmt.Errorf("-idle-timeout %v: want a positive duration", c.idleTimeout)}
	case c.shutdownTimeout <= 0:
		return usageError{fmt.Errorf("-shutdown-timeout %v: want a positive duration", c.shutdownTimeout)}
	case c.maxConnsPerIP < 1:
		return usageError{fmt.Errorf("-max-conns-per-ip %d: want at least 1", c.maxConnsPerIP)}
	case c.drainDelay < 0:
		return usageError{fmt.Errorf("-drain-delay %v: want 0 or a positive duration", c.drainDelay)}
	case c.sessionMemory < minSessionMemory:
		return usageError{fmt.Errorf("-session-memory %s: want at least %s", calc.FormatBytes(c.sessionMemory), calc.FormatBytes(minSessionMemory))}
	case c.maxMemory != 0 && c.maxMemory < minMaxMemory:
		return usageError{fmt.Errorf("-max-memory %s: want at least %s (the server itself needs some)", calc.FormatBytes(c.maxMemory), calc.FormatBytes(minMaxMemory))}
	case c.maxMemory != 0 && c.sessionMemory > c.maxMemory:
		return usageError{fmt.Errorf("-session-memory %s is more than -max-memory %s", calc.FormatBytes(c.sessionMemory), calc.FormatBytes(c.maxMemory))}
	}
	return nil
}

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `wscalc is an exact calculator server: a browser playground over WebSocket, an HTTP API
and a line protocol for nc, sharing one calculator core.

Usage:
  wscalc [flags]                        serve (SIGINT or SIGTERM drains and stops it)
  wscalc eval [EXPR ...]                evaluate the arguments, or the lines of stdin, in one session
  wscalc client [-tcp ADDR | -ws URL]   interactive client (wscalc client -h)
  wscalc bench [flags]                  load generator (wscalc bench -h)

Flags (each can also be set with the environment variable shown; the flag wins):
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		head := "  -" + f.Name
		if name != "" {
			head += " " + name
		}
		env := "$" + envName(f.Name)
		if f.DefValue != "" {
			env += " (default " + quoteIfNeeded(f.DefValue) + ")"
		}
		fmt.Fprintf(w, "%-30s %s\n", head, env)
		for _, line := range wrap(usage, 72) {
			fmt.Fprintf(w, "        %s\n", line)
		}
	})
}

// quoteIfNeeded shows a default as typed, quoted only when it is empty or has blanks.
func quoteIfNeeded(s string) string {
	if strings.TrimSpace(s) != s || s == "" {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// wrap breaks text into lines of at most width bytes at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
