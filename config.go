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
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/cluster"
	"wscalc/rooms"
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
	rooms           rooms.Limits   // -room-members, -max-rooms, -room-ttl
	cluster         cluster.Config // -instance, -data-dir, -cluster-*, -nats-*: package cluster's flags
	showVersion     bool           // -version: print the version and exit
	unknownEnv      []string       // WSCALC_* variables that name no flag, for a warning at start
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

// noEnv are the flags that no environment variable sets: they ask for something once
// rather than configure the server.
var noEnv = map[string]bool{"version": true}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envVars maps every WSCALC_* variable the server reads to its flag. It is the one list of
// the known variables: parseConfig reads them, warns about any other WSCALC_* variable,
// and the usage prints them.
func envVars(fs *flag.FlagSet) map[string]*flag.Flag {
	vars := make(map[string]*flag.Flag)
	fs.VisitAll(func(f *flag.Flag) {
		if !noEnv[f.Name] {
			vars[envName(f.Name)] = f
		}
	})
	return vars
}

// unknownEnv returns the WSCALC_* variables of environ (KEY=VALUE strings) that are not
// known (see envVars), sorted.
func unknownEnv(environ []string, known map[string]*flag.Flag) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix) && known[name] == nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// closestEnv returns the known variable that name was probably meant to be (the same
// letters but for case and underscores, or one or two typing mistakes away), or "".
func closestEnv(name string, known map[string]*flag.Flag) string {
	squash := func(s string) string { return strings.ReplaceAll(strings.ToUpper(s), "_", "") }
	best, bestDist := "", 3
	for k := range known {
		d := editDistance(squash(name), squash(k))
		if d < bestDist || d == bestDist && k < best {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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

// formatFlag accepts text or json, in any case (as levelFlag does).
type formatFlag struct{ format *string }

func (f formatFlag) String() string {
	if f.format == nil {
		return ""
	}
	return *f.format
}

func (f formatFlag) Set(v string) error {
	switch v = strings.ToLower(v); v {
	case "text", "json":
		*f.format = v
		return nil
	}
	return errors.New("want text or json")
}

// addrFlag is a listen address, host:port, checked when it is given so that a mistake
// is a usage error (exit 2) rather than a failure to listen (exit 1). Empty disables the
// listener. The host may be empty (every interface), an IP address or a host name; the
// port a number up to 65535 or a service name (http).
type addrFlag struct{ addr *string }

func (f addrFlag) String() string {
	if f.addr == nil {
		return ""
	}
	return *f.addr
}

func (f addrFlag) Set(v string) error {
	if err := checkListenAddr(v); err != nil {
		return err
	}
	*f.addr = v
	return nil
}

const addrSyntax = "want host:port such as 127.0.0.1:8080, :8080 (every interface) or [::1]:8080; empty disables it"

func checkListenAddr(v string) error {
	if v == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return fmt.Errorf("%s; %s", ae.Err, addrSyntax)
		}
		return errors.New(addrSyntax)
	}
	switch {
	case port == "":
		return fmt.Errorf("missing port; %s", addrSyntax)
	case strings.Trim(port, "0123456789") == "":
		if n, err := strconv.ParseUint(port, 10, 64); err != nil || n > 65535 {
			return fmt.Errorf("port %s is out of range (0 to 65535)", port)
		}
	default:
		if _, err := net.LookupPort("tcp", port); err != nil {
			return fmt.Errorf("unknown port %q: want a number (0 picks a free one)", port)
		}
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if !isHostName(host) {
		return fmt.Errorf("%q is neither an IP address nor a host name; %s", host, addrSyntax)
	}
	return nil
}

// isHostName reports whether s is a syntactically valid DNS name (letters, digits, '-'
// and '_' in dot-separated labels of at most 63 bytes).
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// durationFlag is a time.Duration flag whose mistakes say what to write: a number
// without a unit ("30") is the usual one. Its default prints as typed (10m, not 10m0s).
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return formatDuration(*f.d)
}

func (f durationFlag) Set(v string) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		t := strings.TrimSpace(v)
		if _, ferr := strconv.ParseFloat(t, 64); ferr == nil && t != "" {
			return fmt.Errorf("missing unit in duration (e.g. %ss)", t)
		}
		return errors.New("want a duration such as 30s, 10m, 1h30m or 500ms")
	}
	*f.d = d
	return nil
}

// formatDuration is d without the zero units time.Duration.String adds: 10m, 1h, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// intFlag is an int flag whose mistakes are said in words ("want a whole number")
// instead of the flag package's "parse error".
type intFlag struct{ n *int }

func (f intFlag) String() string {
	if f.n == nil {
		return ""
	}
	return strconv.Itoa(*f.n)
}

func (f intFlag) Set(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return errors.New("too large")
		}
		return errors.New("want a whole number such as 100")
	}
	*f.n = n
	return nil
}

// The server's default addresses, which the client and the load generator dial by default.
const (
	defaultHTTPAddr = "127.0.0.1:8080"
	defaultTCPAddr  = "127.0.0.1:10000"
)

func newFlagSet(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("wscalc", flag.ContinueOnError)
	// Errors are returned to main, which prints them once; -h prints the usage itself.
	fs.SetOutput(io.Discard)
	c.httpAddr, c.tcpAddr = defaultHTTPAddr, defaultTCPAddr
	fs.Var(addrFlag{&c.httpAddr}, "http",
		"`address` of the HTTP server: playground, /ws, /api/eval, /healthz, /readyz, /metrics; empty disables it")
	fs.Var(addrFlag{&c.tcpAddr}, "tcp",
		"`address` of the line protocol (nc); empty disables it")
	c.maxClients = session.DefaultMaxClients
	fs.Var(intFlag{&c.maxClients}, "max-clients",
		"most live sessions per transport (TCP and WebSocket `count`ed separately)")
	c.sessionBudget = calc.DefaultLimits().Budget
	fs.Var(intFlag{&c.sessionBudget}, "session-budget",
		"cost `units` each session may spend per minute (a power costs 1000, a product 10); raise it for load tests")
	c.idleTimeout = session.DefaultIdleTimeout
	fs.Var(durationFlag{&c.idleTimeout}, "idle-timeout",
		"close a session that sends nothing for this `duration`")
	c.shutdownTimeout = 10 * time.Second
	fs.Var(durationFlag{&c.shutdownTimeout}, "shutdown-timeout",
		"on SIGINT/SIGTERM, wait at most this `duration` for sessions to finish before closing them")
	fs.Var(&c.allowOrigins, "allow-origin",
		"also accept WebSocket connections from pages of this `origin`: example.com, *.example.com or https://example.com:8443 (repeatable; comma-separated in the environment variable); same-origin pages are always accepted")
	fs.Var(&c.allowHosts, "allow-host",
		"when -http is a loopback address, /ws and /api/eval answer only the Host names localhost, 127.0.0.1 and [::1] (any port), against DNS rebinding; this `host` is answered too: example.com, example.com:8080 or *.example.com (repeatable or comma-separated)")
	c.maxConnsPerIP = admission.DefaultLimit
	fs.Var(intFlag{&c.maxConnsPerIP}, "max-conns-per-ip",
		"most open connections (`count`) from one client address (an IPv4 address or an IPv6 /64), TCP, WebSocket and HTTP keep-alive together; beyond it a connection is refused (TCP: an error line, WebSocket: close 1013, HTTP: 429)")
	fs.Var(durationFlag{&c.drainDelay}, "drain-delay",
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
	c.rooms = rooms.DefaultLimits()
	fs.Var(intFlag{&c.rooms.MembersPerRoom}, "room-members",
		"most members (`count`) of one room, the whole cluster's; beyond, a join is refused")
	fs.Var(intFlag{&c.rooms.MaxRooms}, "max-rooms",
		"most rooms (`count`) an instance holds, with members or empty within -room-ttl; beyond, joining a new room is refused")
	fs.Var(durationFlag{&c.rooms.RoomTTL}, "room-ttl",
		"how long an empty room is kept (variables, history) before it is forgotten; 0: not kept (`duration`)")
	cluster.RegisterFlags(fs, &c.cluster)
	fs.BoolVar(&c.showVersion, "version", false, "print the version (as wscalc version does) and exit")
	return fs
}

// parseConfig reads the environment (environ: KEY=VALUE strings, as os.Environ), then
// args. -h returns flag.ErrHelp after writing the usage to usageOut; any other mistake is
// a usageError. WSCALC_* variables that no flag reads are listed in unknownEnv.
func parseConfig(args, environ []string, usageOut io.Writer) (config, error) {
	var c config
	fs := newFlagSet(&c)
	known := envVars(fs)
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	var envErr error
	fromEnv := make(map[string]bool)
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v, ok := env[name]
		if !ok || known[name] == nil || envErr != nil {
			return
		}
		fromEnv[f.Name] = true
		var err error
		if l, ok := f.Value.(envList); ok {
			err = l.setFromEnv(v)
		} else {
			err = f.Value.Set(v)
		}
		if err != nil {
			envErr = usageError{fmt.Errorf("invalid value %q for %s (flag -%s): %v", v, name, f.Name, err)}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	c.unknownEnv = unknownEnv(environ, known)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(usageOut, fs)
			return c, flag.ErrHelp
		}
		return c, usageError{fmt.Errorf("%w (see wscalc -h)", err)}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Errorf("unexpected argument %q: the subcommands are eval, client, bench and version (see wscalc -h)", fs.Arg(0))}
	}
	if c.showVersion {
		return c, nil
	}
	fs.Visit(func(f *flag.Flag) { delete(fromEnv, f.Name) }) // the command line wins
	return c, c.validate(fromEnv)
}

// validate checks the values against each other and their ranges. fromEnv names the
// flags whose value came from their environment variable, so that a mistake names what
// the user wrote: "-max-clients 0" or "WSCALC_MAX_CLIENTS=0".
func (c config) validate(fromEnv map[string]bool) error {
	given := func(name string, v any) string {
		if fromEnv[name] {
			return fmt.Sprintf("%s=%v", envName(name), v)
		}
		return fmt.Sprintf("-%s %v", name, v)
	}
	bad := func(name string, v any, want string) error {
		return usageError{fmt.Errorf("%s: %s", given(name, v), want)}
	}
	switch {
	case c.httpAddr == "" && c.tcpAddr == "":
		return usageError{errors.New("-http and -tcp are both empty: nothing to serve")}
	case c.maxClients < 1:
		return bad("max-clients", c.maxClients, "want at least 1")
	case c.sessionBudget < 1:
		return bad("session-budget", c.sessionBudget, "want at least 1")
	case c.idleTimeout <= 0:
		return bad("idle-timeout", c.idleTimeout, "want a positive duration")
	case c.shutdownTimeout <= 0:
		return bad("shutdown-timeout", c.shutdownTimeout, "want a positive duration")
	case c.maxConnsPerIP < 1:
		return bad("max-conns-per-ip", c.maxConnsPerIP, "want at least 1")
	case c.rooms.MembersPerRoom < 1:
		return bad("room-members", c.rooms.MembersPerRoom, "want at least 1")
	case c.rooms.MaxRooms < 1:
		return bad("max-rooms", c.rooms.MaxRooms, "want at least 1")
	case c.rooms.RoomTTL < 0:
		return bad("room-ttl", c.rooms.RoomTTL, "want 0 or a positive duration")
	case c.drainDelay < 0:
		return bad("drain-delay", c.drainDelay, "want 0 or a positive duration")
	case c.sessionMemory < minSessionMemory:
		return bad("session-memory", calc.FormatBytes(c.sessionMemory), "want at least "+calc.FormatBytes(minSessionMemory))
	case c.maxMemory != 0 && c.maxMemory < minMaxMemory:
		return bad("max-memory", calc.FormatBytes(c.maxMemory), "want at least "+calc.FormatBytes(minMaxMemory)+" (the server itself needs some)")
	case c.maxMemory != 0 && c.sessionMemory > c.maxMemory:
		return usageError{fmt.Errorf("%s is more than %s", given("session-memory", calc.FormatBytes(c.sessionMemory)),
			given("max-memory", calc.FormatBytes(c.maxMemory)))}
	}
	if err := c.cluster.Validate(); err != nil {
		return usageError{err} // it names the flags: -nats-url with -data-dir, …
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
  wscalc version                        the version, VCS revision and Go version (also -version)

Flags (each can also be set with the environment variable shown; the flag wins; any
other WSCALC_* variable is warned about at start):
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		head := "  -" + f.Name
		if name != "" {
			head += " " + name
		}
		env := "$" + envName(f.Name)
		if noEnv[f.Name] {
			env = ""
		} else if f.DefValue != "" {
			env += " (default " + quoteIfNeeded(f.DefValue) + ")"
		}
		if env == "" {
			fmt.Fprintln(w, head)
		} else {
			fmt.Fprintf(w, "%-30s %s\n", head, env)
		}
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
