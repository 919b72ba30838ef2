package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"wscalc/calc"
	"wscalc/loadgen"
	"wscalc/wire"
)

// runNATSD is `roomfan natsd`: one bare nats-server of a cluster (no JetStream), until
// SIGTERM.
func runNATSD(args []string) int {
	fs := flag.NewFlagSet("roomfan natsd", flag.ContinueOnError)
	name := fs.String("name", "nats", "server name")
	listen := fs.String("listen", "127.0.0.1:4222", "client `address`")
	clusterListen := fs.String("cluster", "", "route `address`")
	routes := fs.String("routes", "", "every server's route address, comma-separated")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts := &server.Options{ServerName: *name, NoSigs: true, MaxPayload: 1 << 20}
	opts.Host, opts.Port = splitHostPort(*listen)
	if *clusterListen != "" {
		host, port := splitHostPort(*clusterListen)
		opts.Cluster = server.ClusterOpts{Name: "roomfan", Host: host, Port: port, NoAdvertise: true}
		opts.Routes = server.RoutesFromStr(routeURLs(*routes))
	}
	s, err := server.NewServer(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "roomfan natsd: %v\n", err)
		return 1
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "roomfan natsd: not ready")
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	s.Shutdown()
	s.WaitForShutdown()
	return 0
}

func splitHostPort(addr string) (string, int) {
	i := strings.LastIndexByte(addr, ':')
	port, _ := strconv.Atoi(addr[i+1:])
	return addr[:i], port
}

func routeURLs(list string) string {
	var urls []string
	for _, a := range strings.Split(list, ",") {
		urls = append(urls, "nats-route://"+a)
	}
	return strings.Join(urls, ",")
}

// startNATS starts three clustered bare NATS servers (this program's natsd) and waits
// until each accepts clients.
func startNATS(ctx context.Context, cfg config, dir string) (*cluster, error) {
	addrs, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	clients, routes := addrs[:3], addrs[3:]
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &cluster{clients: clients}
	for i := range 3 {
		name := "nats-" + strconv.Itoa(i)
		if err := c.start(cfg.serverCPU, dir, name, self, "natsd", "-name", name, "-listen", clients[i],
			"-cluster", routes[i], "-routes", strings.Join(routes, ",")); err != nil {
			c.stop()
			return nil, err
		}
	}
	for _, a := range clients {
		deadline := time.Now().Add(readyWait)
		for {
			nc, err := nats.Connect("nats://"+a, nats.Timeout(time.Second))
			if err == nil {
				nc.Close()
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				c.stop()
				return nil, fmt.Errorf("nats %s: %w", a, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return c, nil
}

// eventPayloads are the messages of the NATS baseline: for seq 1 to n, the event message
// a room member receives for the n-th increment (the same fields, sizes and encoding as
// wscalc's: wire.Event around the stored JSON result).
func eventPayloads(room string, n int) [][]byte {
	var s calc.Session
	out := make([][]byte, n+1)
	if _, err := s.Eval("x = 0"); err != nil {
		panic(err)
	}
	for seq := 1; seq <= n; seq++ {
		line := fmt.Sprintf("%s # w0-%d", loadgen.RoomIncrement, seq)
		res, err := s.Eval(line)
		if err != nil {
			panic(err)
		}
		b, _ := json.Marshal(wire.Event{Type: "event", Room: room, Seq: uint64(seq),
			Member: wire.RoomMember{ID: "0123456789abcdef", Nick: "bench-0"}, Input: line,
			Result: wire.AppendResult(nil, wire.NewResult(nil, line, res))})
		out[seq] = b
	}
	return out
}

// natsSub is one subscriber's view of the order.
type natsSub struct {
	next  uint64
	ready atomic.Bool // got a probe: its interest has reached every server
	seen  atomic.Uint64
}

// natsRun is the shared state of the NATS baseline.
type natsRun struct {
	members                     int
	sent                        []time.Time // by seq
	got                         []atomic.Int32
	last                        []atomic.Int64 // the last receipt, unix ns
	deliveries, missing, repeat atomic.Int64
}

// receive checks one message at a subscriber: the next seq, once.
func (r *natsRun) receive(s *natsSub, data []byte) {
	seq, ok := loadgen.EventSeq(data)
	if !ok {
		r.missing.Add(1)
		return
	}
	if seq == 0 { // a probe
		s.ready.Store(true)
		return
	}
	switch {
	case seq == s.next:
	case seq > s.next:
		r.missing.Add(int64(seq - s.next))
	default:
		r.repeat.Add(1)
		return
	}
	s.next = seq + 1
	s.seen.Store(seq)
	r.deliveries.Add(1)
	if seq < uint64(len(r.got)) {
		r.last[seq].Store(time.Now().UnixNano())
		r.got[seq].Add(1)
	}
}

// runNATS publishes the event payloads at the rate to members subscribers spread over
// the servers, from one publisher on the first, and measures as runWscalc does.
func runNATS(ctx context.Context, cfg config, c *cluster, run int) (*result, error) {
	room := fmt.Sprintf("roomfan-%d", run)
	subject := "roomfan." + room
	n := int(cfg.rate*cfg.duration.Seconds()) + 1
	payloads := eventPayloads(room, n)
	r := &natsRun{members: cfg.members, sent: make([]time.Time, n+1), got: make([]atomic.Int32, n+1), last: make([]atomic.Int64, n+1)}
	subs := make([]*natsSub, cfg.members)
	var conns []*nats.Conn
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	for i := range subs {
		nc, err := nats.Connect("nats://"+c.clients[i%len(c.clients)], nats.NoReconnect())
		if err != nil {
			return nil, fmt.Errorf("subscriber %d: %w", i, err)
		}
		conns = append(conns, nc)
		s := &natsSub{next: 1}
		subs[i] = s
		if _, err := nc.Subscribe(subject, func(m *nats.Msg) { r.receive(s, m.Data) }); err != nil {
			return nil, err
		}
		if err := nc.Flush(); err != nil {
			return nil, err
		}
	}
	pub, err := nats.Connect("nats://"+c.clients[0], nats.NoReconnect())
	if err != nil {
		return nil, err
	}
	defer pub.Close()
	if err := probe(ctx, pub, subject, subs); err != nil {
		return nil, err
	}

	measured, err := c.measure()
	if err != nil {
		return nil, err
	}
	stopPerf, err := c.perfRecord(cfg.profile, run)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.rate))
	published := 0
	for seq := 1; seq <= n && time.Since(start) < cfg.duration && ctx.Err() == nil; seq++ {
		<-tick.C
		r.sent[seq] = time.Now()
		if err := pub.Publish(subject, payloads[seq]); err != nil {
			tick.Stop()
			return nil, err
		}
		published = seq
	}
	tick.Stop()
	_ = pub.Flush()
	settle(subs, uint64(published), 5*time.Second)
	elapsed := time.Since(start)
	used := measured()
	stopPerf()

	hist := loadgen.NewHistogram()
	var incomplete int
	for seq := 1; seq <= published; seq++ {
		if int(r.got[seq].Load()) != cfg.members {
			incomplete++
			continue
		}
		hist.Record(time.Unix(0, r.last[seq].Load()).Sub(r.sent[seq]))
	}
	res := &result{What: "nats", Run: run, Elapsed: elapsed, Events: int64(published), Deliveries: r.deliveries.Load(),
		p50: hist.Quantile(0.5), p99: hist.Quantile(0.99), max: hist.Max(),
		OK: r.missing.Load() == 0 && r.repeat.Load() == 0 && incomplete == 0}
	res.setUsage(used)
	res.Detail = fmt.Sprintf("missing %d, out of order %d, incomplete %d; payload %d bytes",
		r.missing.Load(), r.repeat.Load(), incomplete, len(payloads[1]))
	return res, nil
}

// probe publishes seq-0 messages until every subscriber got one: the subscriptions'
// interest has spread over the cluster's routes.
func probe(ctx context.Context, pub *nats.Conn, subject string, subs []*natsSub) error {
	msg := []byte(`{"type":"event","room":"probe","seq":0}`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		all := true
		for _, s := range subs {
			if !s.ready.Load() {
				all = false
				break
			}
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("nats: subscriptions not seen by every server after 30 s")
		}
		if err := pub.Publish(subject, msg); err != nil {
			return err
		}
		_ = pub.Flush()
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits (at most limit) until every subscriber has the last seq.
func settle(subs []*natsSub, last uint64, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		all := true
		for _, s := range subs {
			if s.seen.Load() < last {
				all = false
				break
			}
		}
		if all {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
