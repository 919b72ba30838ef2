package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// clusterName is the NATS cluster name of an embedded cluster: every instance uses it, so
// a route to a NATS cluster of another name is refused.
const clusterName = "wscalc"

// Timings of a Node. Readiness is re-checked every readyEvery, each check waiting at most
// readyTimeout for the JetStream API (so losing quorum shows within their sum).
const (
	defaultReadyEvery   = time.Second
	defaultReadyTimeout = 2 * time.Second
	// defaultReadyGrace covers a meta leader election after the leader died: NATS's
	// followers wait 4 to 9 s for it before they campaign.
	defaultReadyGrace = 15 * time.Second
	startTimeout      = 10 * time.Second // for the embedded server to accept clients
	drainTimeout      = 5 * time.Second  // for Close's drain of the client connection
)

// Node is this instance's NATS: an embedded server (single or clustered) with an
// in-process client connection, or a connection to an external server. Create it with
// Start and end it with Close.
type Node struct {
	cfg      Config
	log      *slog.Logger
	srv      *server.Server // nil with an external NATS
	nc       *nats.Conn
	js       jetstream.JetStream
	mode     string
	replicas int
	storage  jetstream.StorageType
	tempDir  string // the embedded server's store without DataDir, removed by Close

	connClosed chan struct{} // closed by the connection's closed callback
	ready      atomic.Bool
	readyCh    chan struct{} // closed at the first successful readiness check
	stopReady  context.CancelFunc
	readyDone  chan struct{}
	closeOnce  sync.Once

	lastOK time.Time // of the last JetStream check that passed; the readiness goroutine's

	readyEvery, readyTimeout, readyGrace time.Duration
}

// Start validates cfg and starts this instance's NATS in its mode: it returns once the
// connection is up (an embedded server accepts it at once; an external one must answer).
// It does not wait to join a cluster: Ready says when that is done. ctx bounds the start.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Instance == "" {
		cfg.Instance = DefaultInstance()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger.With("component", "cluster"),
		connClosed: make(chan struct{}), readyCh: make(chan struct{}),
		readyEvery: cmp.Or(cfg.readyEvery, defaultReadyEvery), readyTimeout: defaultReadyTimeout,
		readyGrace: defaultReadyGrace,
	}
	if cfg.NATSURL != "" {
		if err := n.connectExternal(); err != nil {
			return nil, err
		}
	} else if err := n.startEmbedded(ctx); err != nil {
		return nil, err
	}
	js, err := jetstream.New(n.nc)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	n.js = js
	n.startReadiness()
	return n, nil
}

// connOptions are the options of this instance's client connection.
func (n *Node) connOptions() []nats.Option {
	return []nats.Option{
		nats.Name("wscalc " + n.cfg.Instance),
		nats.ClosedHandler(func(*nats.Conn) { close(n.connClosed) }),
		nats.DrainTimeout(drainTimeout),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			n.log.Warn("NATS client error", "subject", subject, "err", err)
		}),
	}
}

func (n *Node) connectExternal() error {
	opts := append(n.connOptions(),
		nats.MaxReconnects(-1), // the server may restart; keep trying
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: Close
				n.log.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			n.log.Info("reconnected to NATS", "url", redactURL(nc.ConnectedUrl()))
		}))
	nc, err := nats.Connect(n.cfg.NATSURL, opts...)
	if err != nil {
		return fmt.Errorf("cluster: cannot connect to NATS at %s: %w", redactURL(n.cfg.NATSURL), err)
	}
	n.nc = nc
	n.storage = jetstream.FileStorage // a NATS of its own is run to keep its data
	n.replicas = 1
	if nc.ConnectedClusterName() != "" && len(nc.Servers()) >= 3 {
		n.replicas = 3
	}
	n.mode = "external " + redactURL(nc.ConnectedUrl())
	return nil
}

func (n *Node) startEmbedded(ctx context.Context) error {
	opts, err := n.serverOptions()
	if err != nil {
		return err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		n.removeTempDir()
		return fmt.Errorf("cluster: embedded NATS server: %w", err)
	}
	nlog := newNATSLog(n.cfg.Logger)
	// NATS's own debug log (below slog's debug) only when the logger wants it: it is
	// verbose and costs even when dropped.
	srv.SetLoggerV2(nlog, nlog.log.Enabled(ctx, natsDebugLevel), false, false)
	n.srv = srv
	srv.Start()
	if !readyForConnections(ctx, srv, nlog) {
		n.Close()
		if msg := nlog.fatal(); msg != "" {
			return fmt.Errorf("cluster: embedded NATS server did not start: %s", msg)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("cluster: embedded NATS server did not start: %w", ctx.Err())
		}
		return fmt.Errorf("cluster: embedded NATS server did not start within %s", startTimeout)
	}
	nc, err := nats.Connect("", append(n.connOptions(), nats.InProcessServer(srv), nats.NoReconnect())...)
	if err != nil {
		n.Close()
		return fmt.Errorf("cluster: in-process connection: %w", err)
	}
	n.nc = nc
	n.mode, n.replicas = "embedded single", 1
	if len(n.cfg.ClusterPeers) > 0 {
		n.mode = "embedded cluster of " + strconv.Itoa(len(n.cfg.ClusterPeers))
		if len(n.cfg.ClusterPeers) >= 3 {
			n.replicas = 3
		}
	}
	if n.cfg.NATSListen != "" {
		n.mode += ", NATS clients on " + srv.ClientURL()
	}
	return nil
}

// readyForConnections waits, within startTimeout and ctx, for srv to accept clients; a
// fatal error (a port in use) ends the wait at once.
func readyForConnections(ctx context.Context, srv *server.Server, nlog *natsLog) bool {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil && nlog.fatal() == "" {
		if srv.ReadyForConnections(100 * time.Millisecond) {
			return true
		}
	}
	return false
}

// serverOptions are the embedded server's options for n.cfg.
func (n *Node) serverOptions() (*server.Options, error) {
	c := n.cfg
	maxMem, maxStore := c.MaxMemory, c.MaxStore
	if maxMem == 0 {
		maxMem = DefaultMaxMemory
	}
	if maxStore == 0 {
		maxStore = DefaultMaxStore
	}
	opts := &server.Options{
		ServerName:         c.Instance,
		JetStream:          true,
		JetStreamMaxMemory: maxMem,
		JetStreamMaxStore:  maxStore,
		StoreDir:           c.DataDir,
		NoSigs:             true, // wscalc owns SIGINT and SIGTERM
		DontListen:         c.NATSListen == "" && c.ClusterListen == "",
		Host:               "127.0.0.1",
		Port:               server.RANDOM_PORT,
	}
	n.storage = jetstream.FileStorage
	if c.DataDir == "" {
		// JetStream keeps its own state (and a cluster its meta log) in a directory even
		// when the streams are in memory: a private one, removed on Close.
		dir, err := os.MkdirTemp("", "wscalc-nats-"+c.Instance+"-")
		if err != nil {
			return nil, fmt.Errorf("cluster: store directory: %w", err)
		}
		n.tempDir, opts.StoreDir = dir, dir
		n.storage = jetstream.MemoryStorage
	}
	if c.NATSListen != "" {
		host, port := splitListen(c.NATSListen)
		opts.Host, opts.Port = host, port
	}
	if c.ClusterListen != "" {
		host, port := splitListen(c.ClusterListen)
		routes, err := routeURLs(c.ClusterPeers)
		if err != nil {
			n.removeTempDir()
			return nil, err
		}
		opts.Cluster = server.ClusterOpts{
			Name: clusterName, Host: host, Port: port,
			// Only clients of -nats-listen are told of the other servers' client ports:
			// without it a client port is private to its process (127.0.0.1, random).
			NoAdvertise: c.NATSListen == "",
		}
		opts.Routes = routes
	}
	return opts, nil
}

// splitListen splits a checked host:port; the empty host is every interface and port 0
// a free one (NATS's RANDOM_PORT: its 0 means "the default port").
func splitListen(addr string) (string, int) {
	host, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	if host == "" {
		host = "0.0.0.0"
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port
}

func routeURLs(peers []string) ([]*url.URL, error) {
	routes := make([]*url.URL, 0, len(peers))
	for _, p := range peers {
		u, err := url.Parse("nats-route://" + p)
		if err != nil {
			return nil, fmt.Errorf("cluster: -%s %q: %w", flagClusterPeers, p, err)
		}
		routes = append(routes, u)
	}
	return routes, nil
}

// startReadiness checks readiness now and then every readyEvery until Close.
func (n *Node) startReadiness() {
	ctx, cancel := context.WithCancel(context.Background())
	n.stopReady, n.readyDone = cancel, make(chan struct{})
	go func() {
		defer close(n.readyDone)
		t := time.NewTicker(n.readyEvery)
		defer t.Stop()
		for {
			n.checkReady(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// checkReady sets Ready from one check, logging a change. Once joined, a JetStream API
// that stops answering while a majority of the peers is still in touch is the cluster
// electing a new meta leader (the old one stopped): Ready stays true for readyGrace, so
// that a load balancer does not take the survivors out while they re-elect.
func (n *Node) checkReady(ctx context.Context) {
	err := n.connectivity()
	if err == nil {
		err = n.jetStreamCurrent(ctx)
		if err == nil {
			n.lastOK = time.Now()
		} else if !n.lastOK.IsZero() && time.Since(n.lastOK) < n.readyGrace {
			n.log.Debug("JetStream not answering; still ready while the cluster re-elects", "err", err)
			err = nil
		}
	}
	if ctx.Err() != nil {
		return // closing: leave the last state
	}
	was := n.ready.Swap(err == nil)
	switch {
	case err == nil && !was:
		n.log.Info("cluster ready", "mode", n.mode)
		select {
		case <-n.readyCh:
		default:
			close(n.readyCh)
		}
	case err != nil && was:
		n.log.Warn("cluster not ready", "err", err)
	}
}

// connectivity is nil when the connection is up and an embedded server is in touch with
// a majority of its peers.
func (n *Node) connectivity() error {
	if !n.nc.IsConnected() {
		return errors.New("not connected to NATS")
	}
	if n.srv == nil {
		return nil
	}
	return n.routeQuorum()
}

// jetStreamCurrent is nil when the JetStream API answers (in a cluster only the meta
// leader does, so this needs a leader) and an embedded server's JetStream is current with
// the cluster.
func (n *Node) jetStreamCurrent(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.readyTimeout)
	defer cancel()
	if _, err := n.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	if n.srv != nil && !n.srv.JetStreamIsCurrent() {
		return errors.New("JetStream is not current with the cluster")
	}
	return nil
}

// routeQuorum is nil when this server has routes to a majority of the peers, itself
// included. NATS's meta leader notices a lost quorum only after 10 s of silence; a peer
// that stopped closes its routes at once, so this tells sooner.
func (n *Node) routeQuorum() error {
	peers := len(n.cfg.ClusterPeers)
	if peers == 0 {
		return nil
	}
	rz, err := n.srv.Routez(nil)
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	remotes := make(map[string]bool)
	for _, r := range rz.Routes {
		remotes[r.RemoteName] = true
	}
	if have, need := 1+len(remotes), peers/2+1; have < need {
		return fmt.Errorf("in touch with %d of %d instances, %d needed", have, peers, need)
	}
	return nil
}

// Ready reports whether this instance has joined its cluster and can use JetStream (the
// last check, at most about 3 s old). It turns false again when quorum is lost: at once
// when the instances in touch are fewer than a majority, within 15 s when JetStream
// stops answering although they are not.
func (n *Node) Ready() bool { return n.ready.Load() }

// WaitReady waits until Ready has been true once, or ctx ends.
func (n *Node) WaitReady(ctx context.Context) error {
	select {
	case <-n.readyCh:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: not ready: %w", ctx.Err())
	}
}

// Mode says how this instance runs, for the start-up log: "embedded single", "embedded
// cluster of 3" or "external nats://host:4222" (no credentials), with ", NATS clients on
// nats://…" when the embedded server also serves clients.
func (n *Node) Mode() string { return n.mode }

// Instance is this instance's name.
func (n *Node) Instance() string { return n.cfg.Instance }

// Replicas is the replica count for streams and buckets: 3 with 3 or more peers (or
// servers behind an external URL), else 1.
func (n *Node) Replicas() int { return n.replicas }

// Storage is where streams keep their data: memory for an embedded server without
// DataDir, else files.
func (n *Node) Storage() jetstream.StorageType { return n.storage }

// Conn is the client connection (in-process for an embedded server).
func (n *Node) Conn() *nats.Conn { return n.nc }

// JetStream is the JetStream API on Conn.
func (n *Node) JetStream() jetstream.JetStream { return n.js }

// ClientURL is the embedded server's client URL when it listens (-nats-listen, or a
// cluster's private port), else "".
func (n *Node) ClientURL() string {
	if n.srv == nil || n.cfg.NATSListen == "" && n.cfg.ClusterListen == "" {
		return ""
	}
	return n.srv.ClientURL()
}

// Alone reports whether no other instance can share this node's NATS: an embedded server
// with neither a route nor a client port. Rooms then need not wait for presence from
// elsewhere before forgetting an empty room.
func (n *Node) Alone() bool { return n.srv != nil && n.ClientURL() == "" }

// Close stops the readiness checks, drains the client connection and waits for its close
// callback (so no callback of a subscription runs afterwards), then shuts the embedded
// server down and waits for its goroutines. Close the users of Conn (Presence) first.
// It is safe to call more than once.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		if n.stopReady != nil {
			n.stopReady()
			<-n.readyDone
		}
		n.ready.Store(false)
		if n.nc != nil {
			if err := n.nc.Drain(); err != nil {
				n.nc.Close()
			}
			select {
			case <-n.connClosed:
			case <-time.After(2 * drainTimeout):
				n.log.Warn("NATS connection did not close after draining")
			}
		}
		if n.srv != nil {
			n.srv.Shutdown()
			n.srv.WaitForShutdown()
		}
		n.removeTempDir()
	})
}

func (n *Node) removeTempDir() {
	if n.tempDir == "" {
		return
	}
	if err := os.RemoveAll(n.tempDir); err != nil {
		n.log.Warn("cannot remove the NATS store directory", "dir", n.tempDir, "err", err)
	}
}
