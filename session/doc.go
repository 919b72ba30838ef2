// Package session is what a wscalc session is, whatever carries it: the line protocol
// (package tcp) and WebSocket (package ws) are framings over it. A transport reads a
// request, hands the line to Session.Eval, and writes what comes out through the session's
// Outbox; everything else that makes a session is here, once:
//
//   - what the sessions of one server share (Config): presence and the scheduler, the
//     limits, and the defaults of the transports' settings, checked and filled in by
//     Prepare, which every transport's constructor calls (a missing dependency is the same
//     error everywhere: Require);
//   - its id (NewID), its start and end log lines, and the reason it ended (End: the first
//     cause wins, whoever records it);
//   - when it closes (Decide, Begin, Finish): a close decided while a request is answered
//     waits for the reply, the first decision wins, and a request that crosses the close is
//     not answered;
//   - its place among the server's sessions (Join, against Config.MaxClients, and the
//     presence counts);
//   - evaluation through the scheduler's gate, under the session's context (which ends when
//     the connection is dropped or the client is found gone), with the outcome sorted into
//     the few kinds a transport has to tell apart (Outcome);
//   - panic recovery (Recovered): a bug costs one session, never the process;
//   - the ordered outbound queue (Outbox): the session's replies and the messages the
//     server pushes to it (presence today) go out one at a time, in one order, through one
//     writer; pushes are coalesced so that a slow client gets the latest state, not a
//     backlog;
//   - when the sessions end because the server stops (Group): Shutdown as in net/http
//     (admit nothing more, drain every session, wait, or return ctx.Err()), Close forces;
//   - the close reasons that every transport shares;
//   - membership of a room (room.go): the room commands (RoomLine, through
//     rooms.ParseCommand and the rooms.Registry in Config.Rooms), a member's lines
//     evaluated in its room through the scheduler, and everything a member receives — its
//     replies, the others' events, the notices — in one queue per member, in seq order,
//     sent by a goroutine of the member's (while there is something to send) through the
//     transport's RoomSink; a member with rooms.MaxUnsent messages waiting is cut off, so
//     the room never waits for it. Rooms also knows the members of the other instances
//     (RemoteMembers, cluster.RoomMembers). A private session pays one look at its line's
//     first letter.
//
// The transports keep only what is theirs: how a request is framed, how bytes reach the
// socket (tcp's pooled line buffer and reply batching, ws's batchConn under the WebSocket
// library), and how a session drains or is forced (Member).
package session
