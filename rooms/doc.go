// Package rooms holds the rules of rooms (the contract is Part 1 of rooms.md) and their
// engine on JetStream, apart from any transport:
//
//   - rules.go: room names and nicks, and their errors; errors.go: every room error text;
//     command.go: which lines are room commands; text.go: the one-line replies and the
//     "# " lines of the line protocol; limits.go: the limits and their defaults.
//   - log.go: the room log, one JetStream stream for the events of every room (one subject
//     per room, each epoch opened by a start mark) and an object store of their snapshots;
//     events are appended with optimistic concurrency, so a room's seq has no gap and no
//     reuse.
//   - room.go: Room, one instance's replica of a room: it applies the log's events in seq
//     order to a calculator session, and evaluates a member's line against the replica,
//     storing it only if the room has not moved on meanwhile (else it catches up and
//     evaluates again); load.go: a replica read from the log (snapshot, then the events
//     after it), or the room started afresh; turns.go: how replicas writing at once take
//     turns, so that none runs out of attempts.
//   - registry.go: Registry, this instance's rooms: one replica per room shared by its
//     members here, the rooms and members limits, and the expiry of empty rooms (by every
//     instance that sees a room empty, so also of rooms whose instance died); expiry.go:
//     how the log decides between an expiry and a join (touch and end marks), so that a
//     room is never forgotten under a member.
//
// Membership, presence and the transports' messages are not here: the session layer
// drives a Room.
package rooms
