package session

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"wscalc/calc"
	"wscalc/rooms"
	"wscalc/wire"
)

// Rooms is what the sessions of one server share about rooms: the registry of this
// instance's replicas and who is a member of which room here. Build it with NewRooms and
// give it to every transport's Config; nil means rooms are unavailable.
type Rooms struct {
	cfg    rooms.RoomConfig
	limits rooms.Limits

	mu       sync.Mutex
	registry *rooms.Registry                 // nil until Open: rooms unavailable
	log      *rooms.Log                      // the registry's
	members  map[string]map[*member]struct{} // the members here, by room
	remote   RemoteMembers
	events   atomic.Uint64 // events stored by this instance's members

	// membersMsg is each room's members message (MembersMessage) until its members change;
	// membersGen counts the changes, so that a message encoded across one is not kept.
	membersMsg map[string][]byte
	membersGen uint64
}

// RemoteMembers is the members of rooms on the other instances of a cluster
// (cluster.RoomMembers).
type RemoteMembers interface {
	// Set publishes this instance's members of room.
	Set(room string, members []rooms.Member)
	// Members returns the room's members on the other instances.
	Members(room string) []rooms.Member
}

// SetRemote makes counts, lists and notices cover the other instances' members too; call
// it before the first session starts, and RemoteChanged on each change of theirs.
func (d *Rooms) SetRemote(r RemoteMembers) { d.remote = r }

// RemoteChanged tells the members here that a room's members elsewhere went from before
// to after: joined, left (or dropped with their instance), renamed.
func (d *Rooms) RemoteChanged(room string, before, after []rooms.Member) {
	if d.remoteChanged(room, before, after) {
		if g := d.Registry(); g != nil {
			g.Emptied(room) // whichever instance they were on, this one counts the TTL down too
		}
	}
}

// remoteChanged is RemoteChanged under the lock; emptied: the room has no member left.
func (d *Rooms) remoteChanged(room string, before, after []rooms.Member) (emptied bool) {
	old := make(map[string]rooms.Member, len(before))
	for _, m := range before {
		old[m.ID] = m
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.membersChangedLocked(room)
	n := len(d.members[room]) + len(after)
	now := make(map[string]bool, len(after))
	for _, m := range after {
		now[m.ID] = true
		o, was := old[m.ID]
		switch {
		case !was:
			d.tellLocked(room, nil, rooms.JoinedNotice(m.Nick, room, n))
		case o.Nick != m.Nick:
			d.tellLocked(room, nil, rooms.RenamedNotice(o.Nick, m.Nick))
		}
	}
	for _, m := range before {
		if !now[m.ID] {
			d.tellLocked(room, nil, rooms.LeftNotice(m.Nick, room, n))
		}
	}
	for o := range d.members[room] {
		o.sink.MembersChanged()
	}
	return len(before) > 0 && n == 0
}

// membersChangedLocked forgets room's members message: its members changed.
func (d *Rooms) membersChangedLocked(room string) {
	d.membersGen++
	delete(d.membersMsg, room)
}

// MembersMessage returns room's members message as encode makes it from the member count
// and the sorted list (Count, Members), encoded once per change of the room's members and
// shared (read-only) by all its members here. This is what keeps joins from costing O(n²):
// each join has every member push a members message, and without it each push sorted the
// whole list and encoded it again, per member.
func (d *Rooms) MembersMessage(room string, encode func(total int, list []rooms.Member) ([]byte, error)) ([]byte, error) {
	d.mu.Lock()
	b, ok := d.membersMsg[room]
	gen := d.membersGen
	d.mu.Unlock()
	if ok {
		return b, nil
	}
	list := d.Members(room)
	b, err := encode(max(d.Count(room), len(list)), list)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.membersGen == gen && len(d.members[room]) > 0 {
		d.membersMsg[room] = b
	}
	return b, nil
}

// publishLocked tells the other instances this one's members of room.
func (d *Rooms) publishLocked(room string) {
	if d.remote == nil {
		return
	}
	list := make([]rooms.Member, 0, len(d.members[room]))
	for m := range d.members[room] {
		list = append(list, m.info())
	}
	d.remote.Set(room, list)
}

// remoteCount is how many members room has elsewhere.
func (d *Rooms) remoteMembers(room string) []rooms.Member {
	if d.remote == nil {
		return nil
	}
	return d.remote.Members(room)
}

// NewRooms returns the rooms of a server on the room log; with a nil log, rooms are
// unavailable until Open.
func NewRooms(log *rooms.Log, cfg rooms.RoomConfig, limits rooms.Limits) *Rooms {
	d := &Rooms{cfg: cfg, limits: limits, members: map[string]map[*member]struct{}{},
		membersMsg: map[string][]byte{}}
	if log != nil {
		d.Open(log)
	}
	return d
}

// Open makes rooms available on the room log (once; a server opens it when its cluster
// node is ready).
func (d *Rooms) Open(log *rooms.Log) {
	var count func(string) int // alone: the registry counts its own members
	if d.remote != nil {
		count = d.Count
	}
	g := rooms.NewRegistry(log, d.cfg, d.limits, count)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.registry == nil {
		d.registry, d.log = g, log
	}
}

// Peek reads a room from the log without creating it or keeping it alive (GET
// /api/rooms/NAME): ok false when it does not exist; rooms.ErrUnavailable while rooms
// are.
func (d *Rooms) Peek(ctx context.Context, room string) (v rooms.View, members int, ok bool, err error) {
	d.mu.Lock()
	log := d.log
	d.mu.Unlock()
	if log == nil {
		return rooms.View{}, 0, false, rooms.ErrUnavailable
	}
	v, ok, err = log.Peek(ctx, room, d.cfg.Limits)
	if err != nil {
		return rooms.View{}, 0, false, rooms.ErrUnavailable
	}
	return v, d.Count(room), ok, nil
}

// Registry is the registry of the rooms' replicas here, nil while rooms are unavailable.
func (d *Rooms) Registry() *rooms.Registry {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.registry
}

// Close closes the registry's replicas.
func (d *Rooms) Close() {
	if g := d.Registry(); g != nil {
		g.Close()
	}
}

// Count is how many members the room has.
func (d *Rooms) Count(room string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.members[room]) + len(d.remoteMembers(room))
}

// Members returns the room's members sorted (rooms.SortMembers).
func (d *Rooms) Members(room string) []rooms.Member {
	d.mu.Lock()
	list := make([]rooms.Member, 0, len(d.members[room]))
	for m := range d.members[room] {
		list = append(list, m.info())
	}
	list = append(list, d.remoteMembers(room)...)
	d.mu.Unlock()
	rooms.SortMembers(list)
	return list
}

// Events is how many events the members here stored.
func (d *Rooms) Events() uint64 { return d.events.Load() }

// Retries is how many times a line of a member here was evaluated again because another
// event was stored first (rooms.Log.Conflicts).
func (d *Rooms) Retries() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.log == nil {
		return 0
	}
	return d.log.Conflicts()
}

// LocalMembers is how many room members are connected here, and in how many rooms.
func (d *Rooms) LocalMembers() (members, rooms int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, set := range d.members {
		members += len(set)
	}
	return members, len(d.members)
}

// add makes m a member of room and tells the others; it returns the count after.
func (d *Rooms) add(room string, m *member) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	set := d.members[room]
	if set == nil {
		set = map[*member]struct{}{}
		d.members[room] = set
	}
	set[m] = struct{}{}
	d.membersChangedLocked(room)
	n := len(set) + len(d.remoteMembers(room))
	d.tellLocked(room, m, rooms.JoinedNotice(m.nickNow(), room, n))
	d.publishLocked(room)
	return n
}

// remove takes m out of room and tells the others.
func (d *Rooms) remove(room string, m *member) {
	d.mu.Lock()
	defer d.mu.Unlock()
	set := d.members[room]
	delete(set, m)
	d.membersChangedLocked(room)
	if len(set) == 0 {
		delete(d.members, room)
	}
	d.tellLocked(room, m, rooms.LeftNotice(m.nickNow(), room, len(set)+len(d.remoteMembers(room))))
	d.publishLocked(room)
}

// renamed tells the others of room that m renamed.
func (d *Rooms) renamed(room string, m *member, old string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.membersChangedLocked(room)
	d.tellLocked(room, m, rooms.RenamedNotice(old, m.nickNow()))
	d.publishLocked(room)
}

func (d *Rooms) tellLocked(room string, from *member, notice string) {
	for o := range d.members[room] {
		if o != from {
			if from != nil {
				o.sink.MembersChanged()
			}
			o.enqueue(RoomMsg{Kind: RoomNotice, Text: notice, Room: room})
		}
	}
}

// RoomMsgKind says what a RoomMsg is.
type RoomMsgKind uint8

const (
	// RoomReply answers the member's own line: Text (Err: an error line), or Event, its
	// own event; Req is the request it answers.
	RoomReply RoomMsgKind = iota
	// RoomEvent is another member's event (or an own event stored although its reply was a
	// refusal): Event.
	RoomEvent
	// RoomNotice is presence: Text is the "# " line.
	RoomNotice
	// RoomState is the room as the member now sees it, after a join's reply or a reset
	// (Reset true): View.
	RoomState
	// RoomLeft follows the reply to a leave, or to a join that left Room.
	RoomLeft
)

// RoomMsg is one thing a room member is sent, in its place in the member's order.
type RoomMsg struct {
	Kind  RoomMsgKind
	Room  string
	Text  string // the reply or notice line
	Err   bool   // the reply is an error: Error
	Req   any    // what a reply answers (the JSON id)
	Input string // the line a reply answers
	// Error is the error a reply reports; Result the answer of a private line (help, vars).
	Error  error
	Result *calc.Result
	Event  *rooms.Event
	View   *rooms.View
	Reset  bool
	// Recovered: View's history holds exactly the events after the client's since (§6).
	Recovered bool
}

// RoomSink is how a transport sends what a room member receives.
type RoomSink interface {
	// Deliver sends msgs, in order, through the session's outbox, and flushes them.
	Deliver(msgs []RoomMsg) error
	// TooFarBehind ends the session of a member with more than rooms.MaxUnsent messages
	// unsent (WebSocket: 1008 "too far behind"). It must not block.
	TooFarBehind()
	// MembersChanged notes that the room's member list changed (JSON members message).
	MembersChanged()
}

// member is the room side of a session, made on its first room command. The owner
// goroutine (the session's reader) changes room, name and unsub; the rest is under mu.
type member struct {
	s     *Session
	sink  RoomSink
	room  *rooms.Room
	name  string
	unsub func()

	input string // the line being answered (owner goroutine)

	mu       sync.Mutex
	nick     string
	roomName string // the room's name, for other goroutines
	queue    []RoomMsg
	early    []RoomMsg // updates while a join is being answered
	joining  bool
	sending  bool
	cut      bool
	pending  bool // an Evaluate of the member's runs: its own event is its reply
	req      any
	replied  bool
	idle     chan struct{} // closed when the queue is empty and nothing is being sent
}

func (m *member) nickNow() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nick
}

// Nick is the session's nick in rooms.
func (s *Session) Nick() string {
	if s.member == nil {
		return rooms.DefaultNick(s.id)
	}
	return s.member.nickNow()
}

// RoomName is the session's room, "" when it is in none. Safe from any goroutine.
func (s *Session) RoomName() string {
	if s.member == nil { // set before the first join, by the owner goroutine
		return ""
	}
	s.member.mu.Lock()
	defer s.member.mu.Unlock()
	return s.member.roomName
}

func (m *member) info() rooms.Member {
	return rooms.Member{ID: m.s.id, Nick: m.nickNow(), Transport: string(m.s.cfg.Transport)}
}

// enqueue queues msg and starts sending if nothing is being sent. It never blocks: a
// member with more than rooms.MaxUnsent messages waiting is cut off.
func (m *member) enqueue(msg RoomMsg) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.enqueueLocked(msg)
}

func (m *member) enqueueLocked(msg RoomMsg) {
	if m.cut {
		return
	}
	if m.joining {
		m.early = append(m.early, msg)
		return
	}
	if len(m.queue) >= rooms.MaxUnsent {
		m.cut = true
		m.queue = nil
		m.s.End(rooms.CloseTooFarBehind)
		go m.sink.TooFarBehind()
		return
	}
	m.queue = append(m.queue, msg)
	if !m.sending {
		m.sending = true
		go m.send()
	}
}

// send delivers the queue until it is empty.
func (m *member) send() {
	for {
		m.mu.Lock()
		batch := m.queue
		m.queue = nil
		if len(batch) == 0 || m.cut {
			m.sending = false
			if m.idle != nil {
				close(m.idle)
				m.idle = nil
			}
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		if err := m.sink.Deliver(batch); err != nil {
			m.mu.Lock()
			m.cut = true // the write failed: the transport ends the session
			m.mu.Unlock()
		}
	}
}

// flushed waits until everything queued has been sent (or the member was cut off).
func (m *member) flushed() {
	m.mu.Lock()
	if !m.sending {
		m.mu.Unlock()
		return
	}
	if m.idle == nil {
		m.idle = make(chan struct{})
	}
	idle := m.idle
	m.mu.Unlock()
	<-idle
}

// receive is the room's subscriber: it queues and returns (the room is locked).
func (m *member) receive(u rooms.Update) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case u.Reset != nil:
		m.enqueueLocked(RoomMsg{Kind: RoomNotice, Room: u.Reset.Room, Text: rooms.ResetNotice(u.Reset.Room)})
		m.enqueueLocked(RoomMsg{Kind: RoomState, Room: u.Reset.Room, View: u.Reset, Reset: true})
	case u.Event.Member.ID == m.s.id && m.pending && !m.replied:
		m.replied = true
		m.enqueueLocked(RoomMsg{Kind: RoomReply, Room: m.name, Event: u.Event, Req: m.req})
	default:
		m.enqueueLocked(RoomMsg{Kind: RoomEvent, Room: m.name, Event: u.Event})
	}
}

// SetRoomSink lets the session take part in rooms, through sink; without one, room
// commands are lines for the calculator as before.
func (s *Session) SetRoomSink(sink RoomSink) { s.sink = sink }

// InRoom reports whether the session is a member of a room (owner goroutine).
func (s *Session) InRoom() bool { return s.member != nil && s.member.room != nil }

// RoomSide reports whether the session ever used a room command: its outbox may then be
// written by its room's sender too (owner goroutine).
func (s *Session) RoomSide() bool { return s.member != nil }

// RoomSend sends a reply of the session's, in a room, after what the member was sent
// before (a refusal before evaluation: line too long, invalid UTF-8…).
func (s *Session) RoomSend(text string, req any) {
	s.member.enqueue(RoomMsg{Kind: RoomReply, Room: s.member.name, Text: text, Err: true, Req: req})
}

// RoomFail sends an error reply of the session's, in a room (see RoomSend), to input.
func (s *Session) RoomFail(err error, input string, req any) {
	s.member.enqueue(RoomMsg{Kind: RoomReply, Room: s.member.name, Text: err.Error(), Err: true, Error: err, Req: req, Input: input})
}

// TakesRoomLine reports whether RoomLine would handle line (owner goroutine).
func (s *Session) TakesRoomLine(line string) bool {
	if s.sink == nil {
		return false
	}
	if s.InRoom() {
		return true
	}
	if !mayBeCommand(line) {
		return false
	}
	_, ok := rooms.ParseCommand(line)
	return ok
}

// MayTakeRoomLine is the quick part of TakesRoomLine, for a transport that holds the line
// as bytes: false means RoomLine would not handle line, found without a string made of it
// (owner goroutine).
func (s *Session) MayTakeRoomLine(line []byte) bool {
	return s.sink != nil && (s.InRoom() || mayBeCommand(line))
}

// mayBeCommand is a quick look at the first letter, so that a private session's lines
// (nearly all of which are not commands) skip rooms.ParseCommand.
func mayBeCommand[L string | []byte](line L) bool {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i == len(line) {
		return false
	}
	switch line[i] | 0x20 { // lower case, for letters
	case 'j', 'l', 'w', 'n':
		return true
	}
	return line[i] >= 0x80 // another blank (U+3000): let ParseCommand decide
}

// RoomLine handles line if it is a room command or the session is in a room; handled
// false means the line is the private session's, as before. Replies go through the sink;
// req is what they answer (the JSON id). quit: the session ends now (it left its room).
func (s *Session) RoomLine(line string, req any) (handled, quit bool) {
	if s.sink == nil {
		return false, false
	}
	if !s.InRoom() && !mayBeCommand(line) {
		return false, false
	}
	cmd, isCmd := rooms.ParseCommand(line)
	if !isCmd && !s.InRoom() {
		return false, false
	}
	m := s.memberOf()
	m.input = line
	if isCmd {
		s.command(m, cmd, req)
	} else if quit = s.roomLine(m, line, req); quit {
		s.LeaveRoom()
	}
	if !s.InRoom() {
		m.flushed() // the private replies that follow go straight to the outbox
	}
	return true, quit
}

func (s *Session) memberOf() *member {
	if s.member == nil {
		s.member = &member{s: s, sink: s.sink, nick: rooms.DefaultNick(s.id)}
	}
	return s.member
}

// reply queues a reply line of the member's.
func (m *member) reply(text string, req any) {
	m.enqueue(RoomMsg{Kind: RoomReply, Room: m.name, Text: text, Req: req, Input: m.input})
}

func (m *member) fail(err error, req any) {
	m.enqueue(RoomMsg{Kind: RoomReply, Room: m.name, Text: err.Error(), Err: true, Error: err, Req: req, Input: m.input})
}

// command answers a room command (§2).
func (s *Session) command(m *member, cmd rooms.Command, req any) {
	cmd, err := cmd.Check()
	switch {
	case err != nil:
		m.fail(err, req)
	case cmd.Verb == rooms.Who:
		if m.room == nil {
			m.fail(rooms.ErrNotInRoom, req)
			return
		}
		d := s.cfg.Rooms
		m.reply(rooms.WhoReply(m.name, d.Count(m.name), d.Members(m.name)), req)
	case cmd.Verb == rooms.Leave && m.room == nil:
		m.fail(rooms.ErrNotInRoom, req)
	case cmd.Verb == rooms.Join && m.room != nil && cmd.Arg == m.name:
		m.fail(rooms.AlreadyIn(m.name), req)
	default:
		if err := s.calc.Charge(rooms.CommandCost); err != nil {
			m.fail(err, req)
			return
		}
		switch cmd.Verb {
		case rooms.Join:
			s.join(m, cmd.Arg, req)
		case rooms.Leave:
			name := m.name
			s.LeaveRoom()
			m.reply(rooms.LeftReply(name), req)
			m.enqueue(RoomMsg{Kind: RoomLeft, Room: name})
		case rooms.Nick:
			s.rename(m, cmd.Arg, req)
		}
	}
}

func (s *Session) rename(m *member, nick string, req any) {
	m.mu.Lock()
	old := m.nick
	m.nick = nick
	m.mu.Unlock()
	if m.room != nil {
		s.cfg.Rooms.renamed(m.name, m, old)
	}
	m.reply(rooms.RenamedReply(old, nick), req)
	m.sink.MembersChanged()
}

// join answers join NAME: the room is joined first, so that a refused join leaves the
// member where it was.
func (s *Session) join(m *member, name string, req any) {
	room, err := s.cfg.Rooms.join(s.ctx, name)
	if err != nil {
		m.fail(err, req)
		return
	}
	s.enter(m, room, entry{req: req, reply: true})
}

// entry says how a member enters a room: with a reply to a join (req), and whether it
// recovers from epoch and since (a URL join, §6).
type entry struct {
	req     any
	reply   bool
	recover bool
	epoch   string
	since   uint64
}

// enter makes m a member of room, which the registry counts it in already: it leaves its
// room if any, follows the room and queues the reply and the room's state.
func (s *Session) enter(m *member, room *rooms.Room, e entry) {
	name := room.Name()
	old := m.name
	if m.room != nil {
		s.LeaveRoom()
	}
	s.calc.Restore(calc.State{}) // the private variables are dropped, not carried in
	m.mu.Lock()
	m.joining = true
	m.mu.Unlock()
	view, unsub := room.Subscribe(m.receive)
	m.room, m.name, m.unsub = room, name, unsub
	n := s.cfg.Rooms.add(name, m)
	state := RoomMsg{Kind: RoomState, Room: name, View: &view}
	if e.recover {
		if events, ok := view.Since(e.epoch, e.since); ok {
			view.History, state.Recovered = events, true
		}
	}
	m.mu.Lock()
	m.roomName = name
	early := m.early
	m.early, m.joining = nil, false
	if e.reply {
		m.enqueueLocked(RoomMsg{Kind: RoomReply, Room: name, Text: rooms.JoinedReply(name, m.nick, n, view.Seq), Req: e.req, Input: m.input})
	}
	if old != "" {
		m.enqueueLocked(RoomMsg{Kind: RoomLeft, Room: old})
	}
	m.enqueueLocked(state)
	for _, msg := range early {
		m.enqueueLocked(msg)
	}
	m.mu.Unlock()
	m.sink.MembersChanged()
}

// join counts one more member of the room here, opening its replica if needed.
func (d *Rooms) join(ctx context.Context, name string) (*rooms.Room, error) {
	g := d.Registry()
	if g == nil {
		return nil, rooms.ErrUnavailable
	}
	return g.Join(ctx, name)
}

// URLJoin is a join asked for in a WebSocket URL (rooms.md §6).
type URLJoin struct {
	Nick    string // "" keeps the default
	Room    string // as shown; "" joins none
	Recover bool   // epoch and since were both given
	Epoch   string
	Since   uint64
	room    *rooms.Room // the registry's, between Prepare and Finish
}

// ParseURLJoin reads room, nick, epoch and since; nil when none of them is given. The
// error refuses the connection (its Close and Code).
func ParseURLJoin(room, nick, epoch, since string, hasEpoch, hasSince bool) (*URLJoin, *rooms.Error) {
	if room == "" && nick == "" {
		return nil, nil
	}
	j := &URLJoin{Nick: nick}
	if room != "" {
		name, err := rooms.RoomName(room)
		if err != nil {
			return nil, err.(*rooms.Error)
		}
		j.Room = name
	}
	if nick != "" {
		if err := rooms.CheckNick(nick); err != nil {
			return nil, err.(*rooms.Error)
		}
	}
	if hasSince {
		n, err := strconv.ParseUint(since, 10, 64)
		if err != nil {
			return nil, rooms.ErrInvalidSince
		}
		j.Since = n
	}
	j.Recover = room != "" && hasEpoch && hasSince
	j.Epoch = epoch
	return j, nil
}

// PrepareURLJoin sets the nick and counts the session in the room, or refuses (a
// *rooms.Error: room full, too many rooms, unavailable). Nothing is sent until
// FinishURLJoin.
func (s *Session) PrepareURLJoin(j *URLJoin) error {
	m := s.memberOf()
	if j.Nick != "" {
		m.mu.Lock()
		m.nick = j.Nick
		m.mu.Unlock()
	}
	if j.Room == "" {
		return nil
	}
	room, err := s.cfg.Rooms.join(s.ctx, j.Room)
	if err != nil {
		var re *rooms.Error
		if !errors.As(err, &re) {
			re = rooms.ErrUnavailable
		}
		return re
	}
	j.room = room
	return nil
}

// FinishURLJoin enters the room PrepareURLJoin joined: the text mode's joined line (reply)
// and the room's state.
func (s *Session) FinishURLJoin(j *URLJoin, reply bool) {
	if j.room != nil {
		s.enter(s.member, j.room, entry{reply: reply, recover: j.Recover, epoch: j.Epoch, since: j.Since})
		j.room = nil
	}
}

// AbandonURLJoin undoes PrepareURLJoin when the session ends before FinishURLJoin.
func (s *Session) AbandonURLJoin(j *URLJoin) {
	if j.room != nil {
		s.cfg.Rooms.Registry().Leave(j.room.Name())
		j.room = nil
	}
}

// LeaveRoom leaves the session's room, if any, telling the others; the session is back to
// a fresh private calculator. Transports call it when the session ends.
func (s *Session) LeaveRoom() {
	m := s.member
	if m == nil || m.room == nil {
		return
	}
	m.unsub()
	m.mu.Lock()
	m.roomName = ""
	m.mu.Unlock()
	s.cfg.Rooms.remove(m.name, m)
	s.cfg.Rooms.Registry().Leave(m.name)
	m.room, m.unsub = nil, nil
	s.calc.Restore(calc.State{})
}

// withRoomsHelp adds the room commands to the reply to help alone, where rooms are.
func withRoomsHelp(line string, res calc.Result) calc.Result {
	if asksHelp(line) {
		res.Display += roomsHelp
	}
	return res
}

// asksHelp reports whether line is the command help.
func asksHelp(line string) bool {
	word, _, _ := strings.Cut(line, "#")
	return strings.EqualFold(strings.TrimSpace(word), "help")
}

// roomsHelp is what the reply to help says of rooms, after the calculator's help.
const roomsHelp = "; " + rooms.HelpText

// errPrivate carries the answer of a line that is not an event (help, vars): the member is
// answered privately.
type errPrivate struct{ res calc.Result }

func (errPrivate) Error() string { return "private" }

// roomLine evaluates a member's line in its room (§3); true for quit or exit.
func (s *Session) roomLine(m *member, line string, req any) (quit bool) {
	if calc.IsQuit(line) {
		return true
	}
	if !calc.NeedsReply(line, s.calc.Limits.WithDefaults().MaxLineBytes) {
		return false
	}
	m.mu.Lock()
	m.pending, m.req, m.replied = true, req, false
	m.mu.Unlock()
	_, err := m.room.Evaluate(s.ctx, rooms.Member{ID: s.id, Nick: m.nickNow()}, line, &s.calc, s.evalInRoom)
	// The room's state lives in its replica: the copy Evaluate gave the member's session
	// (ShareState, made again for each line) is not kept per member while it idles.
	s.calc.Restore(calc.State{})
	if err == nil {
		s.cfg.Rooms.events.Add(1)
	}
	m.mu.Lock()
	replied := m.replied
	m.pending, m.req = false, nil
	m.mu.Unlock()
	var priv errPrivate
	switch {
	case replied || err == nil:
	case errors.As(err, &priv):
		priv.res = withRoomsHelp(line, priv.res)
		m.enqueue(RoomMsg{Kind: RoomReply, Room: m.name, Text: priv.res.Display, Result: &priv.res, Req: req, Input: line})
	case s.ctx.Err() != nil: // the connection is gone: nobody to answer
	default:
		m.fail(err, req)
	}
	return false
}

// evalInRoom is the rooms.EvalFunc of the session's lines: through the scheduler, charged
// to the member; refusals before evaluation and commands are not events.
func (s *Session) evalInRoom(ctx context.Context, cs *calc.Session, line string) (rooms.Outcome, error) {
	res, err := s.cfg.Sched.Eval(ctx, s.cfg.Transport, cs, line)
	if ce, ok := err.(*calc.Error); ok {
		switch ce.Refusal {
		case calc.RefusalBudget, calc.RefusalCost, calc.RefusalServerMemory, calc.RefusalBusy:
			return rooms.Outcome{}, err
		}
	} else if err != nil {
		return rooms.Outcome{}, err
	}
	if err == nil && res.Kind != calc.KindInteger && res.Kind != calc.KindRational && res.Kind != calc.KindApprox {
		return rooms.Outcome{}, errPrivate{res}
	}
	// The JSON reply without id and seq, for the JSON members whatever the sender's way in.
	out := rooms.Outcome{Effect: cs.EffectOf(res, err)}
	if err != nil {
		out.Display = err.Error()
		out.Result = wire.AppendError(nil, wire.NewError(nil, line, err))
	} else {
		out.Display = res.Display
		out.Result = wire.AppendResult(nil, wire.NewResult(nil, line, res))
	}
	return out, nil
}

// EndRoom leaves the session's room as it ends and waits until what the member was sent
// is out, so that a goodbye follows it.
func (s *Session) EndRoom() {
	if s.member != nil {
		s.LeaveRoom()
		s.member.flushed()
	}
}

// TextLines writes msg as the line protocol shows it (§4): replies as they are, every
// other line starting with "# ".
func TextLines(msg RoomMsg, line func(string) error) error {
	switch msg.Kind {
	case RoomReply:
		if msg.Event != nil {
			return line(msg.Event.Display)
		}
		return line(msg.Text)
	case RoomEvent:
		ev := msg.Event
		return line(rooms.EventLine(ev.Seq, ev.Member.Nick, ev.Input, ev.Display))
	case RoomNotice:
		return line(msg.Text)
	case RoomState:
		if msg.Reset {
			return nil
		}
		for _, ev := range msg.View.Last(rooms.JoinHistoryLines) {
			if err := line(rooms.EventLine(ev.Seq, ev.Member.Nick, ev.Input, ev.Display)); err != nil {
				return err
			}
		}
	}
	return nil
}
