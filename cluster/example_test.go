package cluster_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"wscalc/cluster"
)

// The wiring into a server: flags, start, presence over the server's own counts, and
// the shutdown order (presence, then the node).
func Example() {
	var cfg cluster.Config
	fs := flag.NewFlagSet("wscalc", flag.ContinueOnError)
	cluster.RegisterFlags(fs, &cfg)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.Logger = slog.Default()
	node, err := cluster.Start(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	slog.Info("cluster", "mode", node.Mode(), "instance", node.Instance())

	localChanges := make(chan struct{}, 1) // the server's own change notifications
	local := func() cluster.Counts { return cluster.Counts{Total: 0} }
	presence, err := cluster.NewPresence(node, node.Instance(), local, localChanges)
	if err != nil {
		node.Close()
		os.Exit(1)
	}
	changes, cancel := presence.Subscribe() // push presence.Global() to the clients
	_ = changes
	ready := node.Ready // /readyz: 200 when ready() and not draining
	_ = ready

	cancel()
	presence.Close()
	node.Close()
}
