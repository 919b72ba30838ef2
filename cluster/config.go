package cluster

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config says which of the three modes an instance runs in (see the package doc) and how.
// The zero Config is valid: an embedded single server, in memory, named DefaultInstance().
type Config struct {
	// Instance names this instance in the cluster (1–64 of [A-Za-z0-9._-]); "" means
	// DefaultInstance(). It is the embedded server's name and the presence key, so it must
	// be unique in a cluster and fixed across restarts.
	Instance string
	// DataDir keeps the embedded server's JetStream data (room logs) across restarts;
	// "" keeps them in memory.
	DataDir string
	// ClusterListen is the embedded server's route address (host:port); with ClusterPeers
	// it makes an embedded cluster.
	ClusterListen string
	// ClusterPeers are the route addresses of every instance, this one included.
	ClusterPeers []string
	// NATSListen also serves NATS clients on this address (host:port).
	NATSListen string
	// NATSURL uses this NATS server (comma-separated URLs of one cluster, credentials in
	// the URL) instead of embedding one.
	NATSURL string
	// MaxMemory and MaxStore cap the embedded JetStream's memory and file storage in
	// bytes; 0 means DefaultMaxMemory and DefaultMaxStore.
	MaxMemory int64
	MaxStore  int64
	// Logger receives the embedded server's log (component=nats) and this package's;
	// nil means slog.Default().
	Logger *slog.Logger

	readyEvery time.Duration // how often readiness is checked; 0: defaultReadyEvery (tests)
}

// Defaults of the JetStream limits: explicit, so that the embedded server never claims
// the 75 % of the machine's memory and of the disk that NATS takes by default.
const (
	DefaultMaxMemory = 256 << 20
	DefaultMaxStore  = 1 << 30
)

// maxInstanceLen is the longest instance name.
const maxInstanceLen = 64

// The flag names, one home for them: the errors of Validate name them too.
const (
	flagInstance      = "instance"
	flagDataDir       = "data-dir"
	flagClusterListen = "cluster-listen"
	flagClusterPeers  = "cluster-peers"
	flagNATSListen    = "nats-listen"
	flagNATSURL       = "nats-url"
)

// RegisterFlags defines on fs the flags of the contract (rooms.md §9), writing into c:
// -data-dir, -instance, -cluster-listen, -cluster-peers, -nats-listen and -nats-url. Each
// value is checked when it is set (a malformed address or name is a flag error); the
// flags' combinations are checked by Validate. Their WSCALC_* environment variables are
// read by the caller, as for its other flags, through each flag's Set.
func RegisterFlags(fs *flag.FlagSet, c *Config) {
	fs.Var(stringFlag{&c.DataDir, nil}, flagDataDir,
		"keep the embedded NATS server's room logs in this `directory` across restarts (one per instance); default in memory")
	fs.Var(stringFlag{&c.Instance, checkInstance}, flagInstance,
		"`name` of this instance, unique in the cluster and fixed across restarts: 1–64 characters from A-Z a-z 0-9 . _ - (default <hostname>-<pid>)")
	fs.Var(stringFlag{&c.ClusterListen, checkHostPort}, flagClusterListen,
		"route `address` (host:port) of the embedded NATS server, for a cluster of instances; needs -cluster-peers")
	fs.Var(peersFlag{&c.ClusterPeers}, flagClusterPeers,
		"route `addresses` of every instance, this one included, comma-separated, the same list everywhere; needs -cluster-listen")
	fs.Var(stringFlag{&c.NATSListen, checkHostPort}, flagNATSListen,
		"also serve NATS clients (such as another wscalc's -nats-url) on this `address` (host:port); no authentication: a private network only")
	fs.Var(stringFlag{&c.NATSURL, checkNATSURL}, flagNATSURL,
		"use the NATS server at this `URL` (JetStream on; comma-separated for several; credentials in the URL) instead of embedding one")
}

// DefaultInstance is the instance name when none is given: <hostname>-<pid>, with any
// character outside [A-Za-z0-9._-] replaced by '-' and the host name shortened to fit.
func DefaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "wscalc"
	}
	pid := "-" + strconv.Itoa(os.Getpid())
	host = strings.Map(func(r rune) rune {
		if isInstanceChar(r) {
			return r
		}
		return '-'
	}, host)
	if len(host) > maxInstanceLen-len(pid) {
		host = host[:maxInstanceLen-len(pid)]
	}
	return host + pid
}

// Validate checks the values and their combinations (rooms.md §9). A caller exits with
// status 2 on its error, which names the flags.
func (c Config) Validate() error {
	if c.Instance != "" {
		if err := checkInstance(c.Instance); err != nil {
			return fmt.Errorf("-%s %q: %v", flagInstance, c.Instance, err)
		}
	}
	if err := c.checkAddrs(); err != nil {
		return err
	}
	clustered := c.ClusterListen != "" || len(c.ClusterPeers) > 0
	switch {
	case c.ClusterListen != "" && len(c.ClusterPeers) == 0:
		return fmt.Errorf("-%s without -%s: a cluster needs both, the route address of this instance and those of every instance (this one included)", flagClusterListen, flagClusterPeers)
	case c.ClusterListen == "" && len(c.ClusterPeers) > 0:
		return fmt.Errorf("-%s without -%s: a cluster needs both, the route address of this instance and those of every instance (this one included)", flagClusterPeers, flagClusterListen)
	case c.NATSURL != "" && c.DataDir != "":
		return fmt.Errorf("-%s with -%s: -%s is for the embedded NATS server; the server at -%s keeps its own data", flagNATSURL, flagDataDir, flagDataDir, flagNATSURL)
	case c.NATSURL != "" && clustered:
		return fmt.Errorf("-%s with -%s/-%s: the instances of an embedded cluster route to each other; one using -%s joins through its server instead", flagNATSURL, flagClusterListen, flagClusterPeers, flagNATSURL)
	case c.NATSURL != "" && c.NATSListen != "":
		return fmt.Errorf("-%s with -%s: with -%s no NATS server is embedded, so there is none to serve clients", flagNATSURL, flagNATSListen, flagNATSURL)
	case c.MaxMemory < 0 || c.MaxStore < 0:
		return errors.New("the JetStream memory and store limits cannot be negative")
	}
	if clustered {
		return c.checkSelfInPeers()
	}
	return nil
}

// checkAddrs checks the syntax of the addresses, for a Config not built by the flags.
func (c Config) checkAddrs() error {
	for _, a := range []struct{ flag, v string }{{flagClusterListen, c.ClusterListen}, {flagNATSListen, c.NATSListen}} {
		if a.v == "" {
			continue
		}
		if err := checkHostPort(a.v); err != nil {
			return fmt.Errorf("-%s %q: %v", a.flag, a.v, err)
		}
	}
	seen := make(map[string]bool, len(c.ClusterPeers))
	for _, p := range c.ClusterPeers {
		if err := checkPeer(p); err != nil {
			return fmt.Errorf("-%s: %q: %v", flagClusterPeers, p, err)
		}
		if seen[p] {
			return fmt.Errorf("-%s: %s is listed twice", flagClusterPeers, p)
		}
		seen[p] = true
	}
	if c.NATSURL != "" {
		if err := checkNATSURL(c.NATSURL); err != nil {
			return fmt.Errorf("-%s: %v", flagNATSURL, err)
		}
	}
	return nil
}

// checkSelfInPeers catches the usual mistake of leaving this instance out of the peers:
// some peer must have the port of -cluster-listen (host names and addresses may differ
// between the two, so only the port is compared).
func (c Config) checkSelfInPeers() error {
	_, port, _ := net.SplitHostPort(c.ClusterListen)
	if port == "0" {
		return nil
	}
	for _, p := range c.ClusterPeers {
		if _, pp, _ := net.SplitHostPort(p); pp == port {
			return nil
		}
	}
	return fmt.Errorf("-%s %s: no peer has port %s of -%s %s; list every instance, this one included, the same everywhere",
		flagClusterPeers, strings.Join(c.ClusterPeers, ","), port, flagClusterListen, c.ClusterListen)
}

func isInstanceChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-'
}

func checkInstance(v string) error {
	if v == "" || len(v) > maxInstanceLen {
		return fmt.Errorf("want 1 to %d characters, not %d", maxInstanceLen, len(v))
	}
	for _, r := range v {
		if !isInstanceChar(r) {
			return fmt.Errorf("%q is not allowed: want letters, digits, '.', '_' and '-'", r)
		}
	}
	return nil
}

// checkHostPort checks a listen address: host:port, the host empty (every interface), an
// IP address or a name, the port a number up to 65535 (0 picks a free one).
func checkHostPort(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return errors.New("want host:port such as 10.0.0.1:6222, :6222 (every interface) or [::1]:6222")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q: want a number from 0 to 65535", port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q: want an IP address or a host name", host)
	}
	return nil
}

// checkPeer checks a route address another instance listens on: a host is required and
// the port is not 0.
func checkPeer(v string) error {
	if err := checkHostPort(v); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(v)
	switch {
	case host == "":
		return errors.New("want the host too, such as 10.0.0.1:6222")
	case port == "0":
		return errors.New("want the port the instance listens on, not 0")
	}
	return nil
}

// natsSchemes are the URL schemes nats.go connects with.
var natsSchemes = map[string]bool{"nats": true, "tls": true, "ws": true, "wss": true}

// checkNATSURL checks a comma-separated list of NATS URLs (nats://host:port, tls://…,
// ws://…, wss://…; a bare host:port is taken as nats://).
func checkNATSURL(v string) error {
	for _, one := range strings.Split(v, ",") {
		one = strings.TrimSpace(one)
		if one == "" {
			return errors.New("an empty URL in the list")
		}
		if !strings.Contains(one, "://") {
			one = "nats://" + one
		}
		u, err := url.Parse(one)
		if err != nil {
			return fmt.Errorf("%q: %v", redactURL(one), errors.Unwrap(err))
		}
		if !natsSchemes[u.Scheme] {
			return fmt.Errorf("%q: want a nats://, tls://, ws:// or wss:// URL", redactURL(one))
		}
		if u.Hostname() == "" {
			return fmt.Errorf("%q: want a host, such as nats://10.0.0.9:4222", redactURL(one))
		}
	}
	return nil
}

// redactURL drops the credentials (user, password or token) of each URL in a
// comma-separated list, for logs and errors.
func redactURL(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !strings.Contains(p, "://") {
			p = "nats://" + p
		}
		if u, err := url.Parse(p); err == nil {
			u.User = nil
			parts[i] = u.String()
		} else {
			parts[i] = "(invalid URL)"
		}
	}
	return strings.Join(parts, ",")
}

// stringFlag is a string flag checked when it is set ("" is always accepted: the flag's
// default, nothing).
type stringFlag struct {
	v     *string
	check func(string) error
}

func (f stringFlag) String() string {
	if f.v == nil {
		return ""
	}
	return *f.v
}

func (f stringFlag) Set(v string) error {
	if v != "" && f.check != nil {
		if err := f.check(v); err != nil {
			return err
		}
	}
	*f.v = v
	return nil
}

// peersFlag is the comma-separated -cluster-peers; a later value replaces an earlier one.
type peersFlag struct{ v *[]string }

func (f peersFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strings.Join(*f.v, ",")
}

func (f peersFlag) Set(v string) error {
	var peers []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if err := checkPeer(p); err != nil {
			return fmt.Errorf("%q: %v", p, err)
		}
		peers = append(peers, p)
	}
	*f.v = peers
	return nil
}
