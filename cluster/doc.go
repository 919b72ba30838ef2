// Package cluster joins wscalc instances into one service over NATS with JetStream
// (rooms.md Part 2): the engine that presence across instances, and rooms after it, run on.
// It knows nothing of sessions or transports; the server hands it its live counts.
//
// # Modes
//
// Start picks the mode from Config (the flags -instance, -data-dir, -cluster-listen,
// -cluster-peers, -nats-listen and -nats-url; RegisterFlags defines them and Validate
// refuses contradictory ones):
//
//   - embedded single (the default): a NATS server inside the process with JetStream in
//     memory, reached through an in-process connection: no port, nothing to install.
//     -data-dir keeps JetStream's data in files instead. -nats-listen also serves NATS
//     clients on a port (for another instance's -nats-url).
//   - embedded cluster of N (-cluster-listen with -cluster-peers, the same list of N
//     route addresses everywhere, this instance included): the embedded servers route to
//     each other and form one JetStream cluster. A clustered NATS server needs a client
//     port, so it listens on 127.0.0.1 on a free port (or -nats-listen); this instance
//     still uses the in-process connection. A new cluster elects its first JetStream
//     leader only once every peer has come up; after that a majority keeps it working.
//   - external (-nats-url): a connection to a NATS server run apart (JetStream on).
//
// Node.Ready says whether the instance has joined: the JetStream API answers (in a
// cluster, that needs a meta leader) and, embedded, the server is current with the cluster
// and in touch with a majority of the peers. It is re-checked every second and turns false
// when quorum is lost; while a majority is in touch it stays true for up to 15 s of a
// silent JetStream API, the time the survivors take to elect a new meta leader when the
// old one died (about 6 s after a kill -9 in the tests), so that a load balancer polling
// /readyz keeps them in. Node.Replicas is 3 with three or more peers (or servers behind
// -nats-url), else 1; Node.Storage is memory for an embedded server without -data-dir.
//
// # Presence
//
// Presence publishes this instance's counts on wscalc.presence.<instance> on change (at
// most 4 a second) and every 2 s, and a goodbye on Close; each instance sums the last
// report of every other one that has not missed 3 heartbeats, plus its own live counts.
// A restart under the same name replaces the old report rather than adding to it.
//
// # Shutdown order
//
// Close the users of the connection (Presence) first, then the Node. Node.Close stops the
// readiness checks, drains the client connection and waits for its close callback (so no
// message callback runs afterwards), then shuts the embedded server down and waits for
// its goroutines, and removes the private store directory of a server without -data-dir.
// The embedded server's signal handling is off: wscalc owns SIGINT and SIGTERM.
package cluster
