package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wscalc/admission"
	"wscalc/calc"
	"wscalc/cluster"
	"wscalc/loadgen"
	"wscalc/metrics"
	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
	"wscalc/static"
	"wscalc/tcp"
	"wscalc/web"
	"wscalc/ws"
)

// stderr receives the usage and the logs; tests replace it.
var stderr io.Writer = os.Stderr

// HTTP server limits against slow or greedy clients. Hijacked connections (/ws) are not
// affected: net/http clears the deadlines when a handler hijacks, and the WebSocket handler
// keeps its own idle timeout and pings.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second // a whole request: headers plus a body of a few KiB
	writeTimeout      = 30 * time.Second // a reply; an evaluation takes at most 1 s
	httpIdleTimeout   = 2 * time.Minute  // keep-alive between requests
	maxHeaderBytes    = 64 << 10         // a GET /api/eval query of 4096 bytes escaped is at most 12 KiB
)

// run serves until ctx is cancelled, then drains and returns nil. Addresses are printed
// to stdout once bound (port 0 works); logs go to stderr. With -log-format json both
// are JSON, one object a line. -version prints the version instead.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseConfig(args, os.Environ(), stderr)
	if err != nil {
		return err
	}
	if cfg.showVersion {
		return writeVersion(stdout, cfg.logFormat, readBuildInfo())
	}
	log := newLogger(cfg.logFormat, cfg.logLevel, stderr)
	for _, name := range cfg.unknownEnv {
		attrs := []any{"name", name}
		if guess := closestEnv(name, envVars(newFlagSet(new(config)))); guess != "" {
			attrs = append(attrs, "did_you_mean", guess)
		}
		log.Warn("unknown environment variable, ignored (wscalc -h lists the WSCALC_* variables)", attrs...)
	}
	if cfg, err = fitOpenFiles(cfg, log); err != nil {
		return err
	}

	httpLn, tcpLn, err := listen(cfg)
	if err != nil {
		return err
	}
	closeListeners := func() {
		for _, ln := range []net.Listener{httpLn, tcpLn} {
			if ln != nil {
				ln.Close()
			}
		}
	}
	cfg.cluster.Logger = log
	node, err := cluster.Start(ctx, cfg.cluster)
	if err != nil {
		closeListeners()
		return err
	}
	s, err := newServers(cfg, log, node, httpLn, tcpLn)
	if err != nil {
		closeListeners()
		node.Close()
		return err
	}
	announce(stdout, cfg.logFormat, log, httpLn, tcpLn, []any{"cluster", node.Mode(), "instance", node.Instance()},
		s.limitsAttrs(cfg))
	return s.serve(ctx, httpLn, tcpLn, cfg.shutdownTimeout)
}

// fileMargin is the file descriptors the server needs besides its client connections:
// stdin, stdout and stderr, the two listeners, the netpoller, the process collector's reads
// of /proc, and some slack.
const fileMargin = 64

// fitOpenFiles raises the soft limit on open files to the hard one and, if the sessions
// of every transport cannot all be open at once within it, lowers -max-clients so that
// they can, and says so in the log: a server that runs out of descriptors cannot accept
// anybody, not even to say that it is busy. The budget is, for each transport that serves
// sessions (TCP, WebSocket), -max-clients connections, plus what one address may hold
// (admission.MaxOpenPerAddress: the HTTP keep-alive connections and refusals of a client
// that is at its limit), plus fileMargin.
func fitOpenFiles(cfg config, log *slog.Logger) (config, error) {
	limit, err := loadgen.RaiseFileLimit()
	if err != nil {
		log.Debug("cannot read or raise the open-file limit; -max-clients stands", "err", err)
		return cfg, nil
	}
	maxClients, need := fitClients(limit, cfg)
	if maxClients == cfg.maxClients {
		log.Debug("open files", "limit", limit, "need", need)
		return cfg, nil
	}
	if maxClients < 1 {
		return cfg, fmt.Errorf("the open-file limit (%d) leaves no room for sessions: %d are needed with -max-clients 1; raise it (ulimit -n) or lower -max-conns-per-ip",
			limit, need-uint64(cfg.maxClients-1)*uint64(sessionTransports(cfg)))
	}
	log.Warn("lowered -max-clients to fit the open-file limit", "max_clients", maxClients,
		"requested", cfg.maxClients, "open_file_limit", limit, "needed", need)
	cfg.maxClients = maxClients
	return cfg, nil
}

// sessionTransports is how many transports serve sessions: TCP, and WebSocket on HTTP.
func sessionTransports(cfg config) int {
	n := 0
	if cfg.tcpAddr != "" {
		n++
	}
	if cfg.httpAddr != "" {
		n++
	}
	return n
}

// fitClients returns the -max-clients that fits limit open files (cfg.maxClients if it
// fits; possibly < 1 if nothing does) and the number of files cfg.maxClients needs.
func fitClients(limit uint64, cfg config) (maxClients int, need uint64) {
	transports := uint64(sessionTransports(cfg))
	fixed := uint64(admission.MaxOpenPerAddress(cfg.maxConnsPerIP)) + fileMargin
	need = transports*uint64(cfg.maxClients) + fixed
	if need <= limit || transports == 0 {
		return cfg.maxClients, need
	}
	if limit <= fixed {
		return 0, need
	}
	return int((limit - fixed) / transports), need
}

// newLogger returns the server's logger on w: slog's text or JSON handler at level.
func newLogger(format string, level slog.Level, w io.Writer) *slog.Logger {
	return slog.New(newHandler(format, level, w))
}

func newHandler(format string, level slog.Level, w io.Writer) slog.Handler {
	if format == "json" {
		return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: jsonDurations})
	}
	return slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
}

// jsonDurations writes a time.Duration as seconds (a JSON number such as 0.0015) instead
// of slog's bare nanoseconds, which a reader cannot tell from any other count. The text
// handler already writes durations as Go duration strings (1.5ms).
func jsonDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.Float64Value(a.Value.Duration().Seconds())
	}
	return a
}

// listen binds both listeners before anything serves, so a port in use fails the start
// with a clear error instead of leaving half a server running. A nil listener is disabled.
func listen(cfg config) (httpLn, tcpLn net.Listener, err error) {
	if cfg.httpAddr != "" {
		if httpLn, err = net.Listen("tcp", cfg.httpAddr); err != nil {
			return nil, nil, fmt.Errorf("cannot listen for HTTP (-http %s): %w", cfg.httpAddr, err)
		}
	}
	if cfg.tcpAddr != "" {
		if tcpLn, err = net.Listen("tcp", cfg.tcpAddr); err != nil {
			if httpLn != nil {
				httpLn.Close()
			}
			return nil, nil, fmt.Errorf("cannot listen for the line protocol (-tcp %s): %w", cfg.tcpAddr, err)
		}
	}
	return httpLn, tcpLn, nil
}

// servers is everything that runs: the cluster node, presence (across the cluster) and the
// scheduler that every session shares, the two transports and the HTTP server.
type servers struct {
	log        *slog.Logger
	draining   atomic.Bool // shutdown has begun: /readyz answers 503 draining
	drainDelay time.Duration
	node       *cluster.Node
	instances  *instances // presence across the cluster, over presence
	rooms      *roomService
	presence   *presence.Presence
	sched      *sched.Scheduler
	conns      *admission.Counter // connections per client address, across both listeners
	http       *http.Server
	ws         *ws.Handler
	tcp        *tcp.Server
}

func newServers(cfg config, log *slog.Logger, node *cluster.Node, httpLn, tcpLn net.Listener) (*servers, error) {
	m := metrics.New()
	build := readBuildInfo()
	m.SetBuildInfo(build.Version, build.Revision, build.GoVersion)
	// The scheduler sets the Go runtime's soft memory limit from MaxMemory (0: its default,
	// a quarter of the machine's memory).
	sc := sched.New(sched.Options{Metrics: m, MaxMemory: cfg.maxMemory})
	p := presence.New(m)
	limits := calc.DefaultLimits()
	limits.Budget = cfg.sessionBudget
	limits.MaxSessionMemory = cfg.sessionMemory
	in, err := joinInstances(node, p, m)
	if err != nil {
		return nil, err
	}
	rs, err := startRooms(node, log, limits, cfg.rooms)
	if err != nil {
		in.leave()
		return nil, err
	}
	m.WatchRooms(func() metrics.RoomFigures {
		members, rooms := rs.rooms.LocalMembers()
		return metrics.RoomFigures{Rooms: rooms, Members: members, Events: rs.rooms.Events(), Retries: rs.rooms.Retries()}
	})
	s := &servers{log: log, drainDelay: cfg.drainDelay, node: node, instances: in, rooms: rs, presence: p, sched: sc,
		conns: admission.New(cfg.maxConnsPerIP)}
	if err := s.newTransports(cfg, m, limits, build, httpLn, tcpLn); err != nil {
		rs.close()
		in.leave()
		return nil, err
	}
	return s, nil
}

// newTransports creates the line-protocol server, the WebSocket handler and the HTTP server.
func (s *servers) newTransports(cfg config, m *metrics.Metrics, limits calc.Limits, build buildInfo, httpLn, tcpLn net.Listener) error {
	var httpAddr string // for the line protocol's hint to browsers that connect to it
	if httpLn != nil {
		httpAddr = displayAddr(httpLn.Addr())
	}
	var tcpAddr string // for the playground's nc hint, sent in the WebSocket hello
	if tcpLn != nil {
		tcpAddr = displayAddr(tcpLn.Addr())
	}
	sessions := session.Config{Presence: s.presence, Sched: s.sched, MaxClients: cfg.maxClients,
		IdleTimeout: cfg.idleTimeout, Limits: limits, Logger: s.log, Rooms: s.rooms.rooms}
	var err error
	if s.tcp, err = tcp.New(tcp.Config{Session: sessions, HTTPAddr: httpAddr}); err != nil {
		return err
	}
	s.ws, err = ws.New(ws.Config{Session: sessions, OriginPatterns: cfg.allowOrigins.patterns,
		Version: build.Version, TCPAddr: tcpAddr})
	if err != nil {
		return err
	}
	s.http, err = s.newHTTP(cfg, m, limits, httpLn)
	return err
}

// instances is presence across the instances of a cluster (a lone instance is a cluster
// of one): package cluster's Presence publishes this process's counts (presence.Local)
// and sums every live instance's, and presence.Counts, which clients are shown, is that
// sum (presence.SetGlobal), its changes pushed as local ones are.
type instances struct {
	cluster                          *cluster.Presence
	stopGlobal, cancelGlobal, cancel func()
}

func joinInstances(node *cluster.Node, p *presence.Presence, m *metrics.Metrics) (*instances, error) {
	localChanges, cancel := p.SubscribeLocal()
	local := func() cluster.Counts {
		c := p.Local()
		return cluster.Counts{Total: c.Total, WS: c.WS, TCP: c.TCP}
	}
	cp, err := cluster.NewPresence(node, node.Instance(), local, localChanges)
	if err != nil {
		cancel()
		return nil, err
	}
	changes, cancelGlobal := cp.Subscribe()
	stopGlobal := p.SetGlobal(func() presence.Counts {
		g := cp.Global()
		return presence.Counts{Total: g.Total, WS: g.WS, TCP: g.TCP}
	}, changes)
	m.WatchCluster(func() metrics.ClusterFigures {
		g := cp.Global()
		return metrics.ClusterFigures{Instances: cp.Instances(), WS: g.WS, TCP: g.TCP}
	})
	return &instances{cluster: cp, stopGlobal: stopGlobal, cancelGlobal: cancelGlobal, cancel: cancel}, nil
}

// leave says goodbye to the other instances (they drop this one's counts at once) and
// stops following them; Counts are this process's again.
func (in *instances) leave() {
	in.stopGlobal()
	in.cancelGlobal()
	in.cluster.Close()
	in.cancel()
}

// newHTTP returns the HTTP server: the router (playground, /ws, the API, health and
// metrics) and net/http's timeouts.
func (s *servers) newHTTP(cfg config, m *metrics.Metrics, limits calc.Limits, httpLn net.Listener) (*http.Server, error) {
	var listenAddr net.Addr
	if httpLn != nil {
		listenAddr = httpLn.Addr()
	}
	errorLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	router, err := web.New(web.Config{
		Assets:      static.FS,
		WS:          s.ws,
		Presence:    s.presence,
		Sched:       s.sched,
		Metrics:     promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorLog: errorLog}),
		HTTPMetrics: m,
		Ready:       func() bool { return s.rooms.ready(s.node) },
		Rooms:       s.rooms.rooms,
		Draining:    s.draining.Load,
		Limits:      limits,
		ListenAddr:  listenAddr,
		AllowHosts:  cfg.allowHosts.hosts,
		Logger:      s.log,
	})
	if err != nil {
		return nil, err
	}
	return &http.Server{
		Handler: router,
		// Each request learns whether its connection is over the per-address limit.
		ConnContext:       admission.ConnContext,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}, nil
}

// announce prints the bound addresses for people and scripts (stdout), and logs the same,
// then the limits in force. In the text format the addresses are plain sentences
// ("wscalc: playground http://…/"); in JSON, one object each ({"msg":"playground",
// "url":…} and {"msg":"line protocol","addr":…,"try":…}), printed whatever -log-level.
func announce(stdout io.Writer, format string, log *slog.Logger, httpLn, tcpLn net.Listener, clusterAttrs, limits []any) {
	out := slog.New(newHandler(format, slog.LevelInfo, stdout))
	attrs := []any{"version", version()}
	if httpLn != nil {
		url := "http://" + displayAddr(httpLn.Addr()) + "/"
		if format == "json" {
			out.Info("playground", "url", url)
		} else {
			fmt.Fprintf(stdout, "wscalc: playground %s\n", url)
		}
		attrs = append(attrs, "playground", url)
	}
	if tcpLn != nil {
		addr := displayAddr(tcpLn.Addr())
		host, port, _ := net.SplitHostPort(addr)
		try := "nc " + strings.Trim(host, "[]") + " " + port
		if format == "json" {
			out.Info("line protocol", "addr", addr, "try", try)
		} else {
			fmt.Fprintf(stdout, "wscalc: line protocol on %s (try: %s)\n", addr, try)
		}
		attrs = append(attrs, "line_protocol", addr, "try", try)
	}
	log.Info("wscalc serving", append(attrs, clusterAttrs...)...)
	log.Info("limits", limits...)
}

// limitsAttrs are the server-wide limits in force, for the start-up log: the memory cap
// is where the default stands for a figure, and -max-clients may have been lowered.
func (s *servers) limitsAttrs(cfg config) []any {
	maxMemory := "none"
	if n := s.sched.MaxMemory(); n > 0 {
		maxMemory = calc.FormatBytes(n)
	}
	return []any{"max_memory", maxMemory, "session_memory", calc.FormatBytes(cfg.sessionMemory),
		"max_clients", cfg.maxClients, "max_conns_per_ip", cfg.maxConnsPerIP}
}

// displayAddr is addr as a person would type it: a wildcard bind (0.0.0.0, ::) is shown as
// localhost, which a browser and nc can reach, instead of an address they cannot open.
func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// serve runs the servers until ctx is done or one of them fails, then shuts down.
func (s *servers) serve(ctx context.Context, httpLn, tcpLn net.Listener, shutdownTimeout time.Duration) error {
	failed := make(chan error, 2)
	var wg sync.WaitGroup
	if httpLn != nil {
		ln := s.conns.Listener(httpLn, func() { s.presence.Reject(presence.HTTP, "per_ip") })
		wg.Go(func() {
			if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				failed <- fmt.Errorf("HTTP server: %w", err)
			}
		})
	}
	if tcpLn != nil {
		ln := s.conns.Listener(tcpLn, func() { s.presence.Reject(presence.TCP, "per_ip") })
		wg.Go(func() {
			if err := s.tcp.Serve(ln); !errors.Is(err, tcp.ErrServerClosed) {
				failed <- fmt.Errorf("line protocol server: %w", err)
			}
		})
	}

	var serveErr error
	select {
	case <-ctx.Done():
		serveErr = s.drain(failed)
		s.log.Info("shutting down", "timeout", shutdownTimeout)
	case serveErr = <-failed:
		s.log.Error("server failed; shutting down", "err", serveErr)
	}
	shutdownErr := s.shutdown(shutdownTimeout)
	wg.Wait()
	// Sessions are over: say goodbye to the other instances, then stop this one's NATS.
	s.rooms.close()
	s.instances.leave()
	s.node.Close()
	if serveErr != nil {
		return serveErr
	}
	return shutdownErr
}

// drain turns /readyz to 503 and, for -drain-delay, keeps serving everything else as
// before (the listeners stay open), so that a load balancer polling /readyz stops sending
// new clients before the shutdown closes the listeners. A server failing meanwhile ends
// the delay; its error is returned.
func (s *servers) drain(failed <-chan error) error {
	s.draining.Store(true)
	if s.drainDelay <= 0 {
		return nil
	}
	s.log.Info("draining: /readyz answers 503; still serving", "drain_delay", s.drainDelay)
	t := time.NewTimer(s.drainDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case err := <-failed:
		s.log.Error("server failed while draining; shutting down", "err", err)
		return err
	}
}

// shutdown drains in the order the issue asks for: /readyz is 503 already (see drain) so
// that a load balancer stops sending; the listeners stop; in-flight HTTP requests, and the
// lines and WebSocket messages that sessions have already received (read, or waiting in the
// socket buffer), are answered; then every WebSocket session is closed with 1001 and every
// TCP session is told "Error: server shutting down". Everything is bounded by timeout,
// after which whatever is left is closed at once.
func (s *servers) shutdown(timeout time.Duration) error {
	s.draining.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Go(func() {
		if errs[0] = s.tcp.Shutdown(ctx); errs[0] != nil {
			s.tcp.Close() // Shutdown waits, as net/http's does; Close forces
		}
	})
	wg.Go(func() {
		// http.Server.Shutdown closes the listener, waits for in-flight requests and does not
		// track hijacked connections; once no new upgrade can arrive, the WebSocket handler
		// closes its own sessions.
		if err := s.http.Shutdown(ctx); err != nil {
			s.http.Close()
			errs[1] = fmt.Errorf("HTTP requests: %w", err)
		}
		if err := s.ws.Shutdown(ctx); err != nil {
			s.ws.Close()
			errs[2] = fmt.Errorf("WebSocket sessions: %w", err)
		}
	})
	wg.Wait()
	if errs[0] != nil {
		errs[0] = fmt.Errorf("TCP sessions: %w", errs[0])
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown did not finish within -shutdown-timeout %v; closed the rest: %w", timeout, err)
	}
	s.log.Info("shut down cleanly")
	return nil
}

// buildInfo is what the binary knows of its own build.
type buildInfo struct {
	Version   string `json:"version"`            // the module version, or "dev"
	Revision  string `json:"revision,omitempty"` // the VCS revision, when the build recorded it
	Time      string `json:"time,omitempty"`     // the revision's commit time (RFC 3339)
	Modified  bool   `json:"modified,omitempty"` // the working tree had changes
	GoVersion string `json:"go"`                 // the Go toolchain: go1.26.8
	Platform  string `json:"platform"`           // GOOS/GOARCH
}

// readBuildInfo reads the binary's build information (runtime/debug.ReadBuildInfo).
func readBuildInfo() buildInfo {
	bi, _ := debug.ReadBuildInfo() // nil when the binary has none
	return buildInfoOf(bi)
}

// buildInfoOf extracts a buildInfo from bi (nil: nothing is known but the Go version).
// The module version is the one the go command stamps (a tag, or a pseudo-version of the
// VCS state); "dev" when there is none (go run, tests, -buildvcs=false).
func buildInfoOf(bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: "dev", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return b
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// version is the module version (see buildInfoOf), for the start-up log and the
// WebSocket hello.
func version() string { return readBuildInfo().Version }

// writeVersion prints b for `wscalc version` and -version: lines of text, or with
// -log-format json one JSON object.
func writeVersion(w io.Writer, format string, b buildInfo) error {
	if format == "json" {
		return json.NewEncoder(w).Encode(b)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "wscalc %s\n", b.Version)
	if b.Revision != "" {
		rev := b.Revision
		if b.Modified {
			rev += " (modified)"
		}
		fmt.Fprintf(&sb, "  revision %s\n", rev)
	}
	if b.Time != "" {
		fmt.Fprintf(&sb, "  time     %s\n", b.Time)
	}
	fmt.Fprintf(&sb, "  go       %s %s\n", b.GoVersion, b.Platform)
	_, err := io.WriteString(w, sb.String())
	return err
}
