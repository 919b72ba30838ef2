package rooms

import (
	"context"
	"sync"
	"time"
)

// DefaultExpiryQuiet is how long an expiry waits, after noting a room's log, before it
// forgets the room (expiry.go), when members are counted across a cluster: more than the
// 10 s within which presence heals (rooms.md §10).
const DefaultExpiryQuiet = 10 * time.Second

// Registry is this instance's rooms: one Room replica per room that has members here (or
// had, within the TTL), shared by them; the limits on rooms and members; and the expiry of
// empty rooms, whose logs are forgotten once the whole cluster has left them for RoomTTL.
//
// Every instance that sees a room empty counts down its TTL: the one its last member left
// (Leave), and the others, told by presence that its last members elsewhere left or were
// dropped with their instance (Emptied), so that a room whose members were all on an
// instance that died is forgotten too. Of several expiries of one room, one forgets it;
// the log decides between them and the joins (expiry.go).
type Registry struct {
	log    *Log
	cfg    RoomConfig
	limits Limits
	// members returns how many members a room has in the whole cluster, this instance's
	// included (presence); it may lag. Nil: this instance's only.
	members func(room string) int
	quiet   time.Duration // see DefaultExpiryQuiet; 0 on one instance alone

	mu      sync.Mutex
	rooms   map[string]*entry
	orphans map[string]*countdown // rooms emptied elsewhere that have no entry here
	closed  bool
	wg      sync.WaitGroup // expiries running
}

// entry is one room of the registry.
type entry struct {
	ready   chan struct{} // closed once room or err is set
	room    *Room
	err     error
	members int // members here
	// live is the touch of the room for its members here (Room.touch), made by the first
	// of them that finds it nil; nil again once they have all left.
	live     *liveness
	expiring chan struct{} // closed when the expiry running now is done: joins wait for it
	countdown
}

// liveness is a touch of a room: done is closed once it is stored, or err tells why not.
type liveness struct {
	done chan struct{}
	err  error
}

// countdown is a room's expiry while it is empty.
type countdown struct {
	timer *time.Timer
	gen   int // counts the expiries scheduled, so that a stale one knows it is
}

// NewRegistry returns the rooms of this instance. members, if not nil, tells a room's
// member count across the cluster (see Registry).
func NewRegistry(log *Log, cfg RoomConfig, limits Limits, members func(room string) int) *Registry {
	g := &Registry{log: log, cfg: cfg, limits: limits, members: members,
		rooms: map[string]*entry{}, orphans: map[string]*countdown{}}
	if members != nil {
		g.quiet = cfg.ExpiryQuiet
		if g.quiet == 0 {
			g.quiet = DefaultExpiryQuiet
		}
	}
	return g
}

// Join makes one more member of the room (a name as RoomName returns it) here, opening
// its replica if it has none, and returns it. Refusals: RoomFull, TooManyRooms,
// ErrUnavailable.
func (g *Registry) Join(ctx context.Context, name string) (*Room, error) {
	e, err := g.count(name)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		g.Leave(name)
		return nil, unavailable(ctx.Err())
	}
	if e.err != nil {
		return nil, e.err // open dropped the entry
	}
	live, touch := g.liveness(e)
	if touch {
		g.touch(ctx, e, live)
	}
	select {
	case <-live.done:
	case <-ctx.Done():
		g.Leave(name)
		return nil, unavailable(ctx.Err())
	}
	if live.err != nil {
		g.Leave(name)
		return nil, live.err
	}
	return e.room, nil
}

// count counts one more member of the room here, after any expiry of it running now.
func (g *Registry) count(name string) (e *entry, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		if g.closed {
			return nil, ErrUnavailable
		}
		e = g.rooms[name]
		if e == nil || e.expiring == nil {
			break
		}
		wait := e.expiring
		g.mu.Unlock()
		<-wait
		g.mu.Lock()
	}
	if e == nil && len(g.rooms) >= g.limits.MaxRooms {
		return nil, TooManyRooms(g.limits.MaxRooms)
	}
	if g.memberCount(name, e) >= g.limits.MembersPerRoom {
		return nil, RoomFull(g.limits.MembersPerRoom)
	}
	if e == nil {
		e = &entry{ready: make(chan struct{})}
		g.rooms[name] = e
		if o := g.orphans[name]; o != nil { // the entry's expiry takes over
			g.stopLocked(o)
			delete(g.orphans, name)
		}
		go g.open(name, e)
	}
	e.members++
	g.stopLocked(&e.countdown)
	return e, nil
}

// liveness returns the room's touch for its members here; touch is true for the first of
// them, who makes it.
func (g *Registry) liveness(e *entry) (l *liveness, touch bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e.live == nil {
		e.live = &liveness{done: make(chan struct{})}
		return e.live, true
	}
	return e.live, false
}

// touch touches the room for its members here, who wait for it; after a failure the next
// join tries again.
func (g *Registry) touch(ctx context.Context, e *entry, l *liveness) {
	err := e.room.touch(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	l.err = err
	close(l.done)
	if err != nil && e.live == l {
		e.live = nil
	}
}

// memberCount is the room's member count for the limit: the cluster's, or at least this
// instance's (presence may not know the latest joins yet).
func (g *Registry) memberCount(name string, e *entry) int {
	local := 0
	if e != nil {
		local = e.members
	}
	if g.members == nil {
		return local
	}
	return max(local, g.members(name))
}

// open opens the room's replica for a new entry.
func (g *Registry) open(name string, e *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.waitOrDefault())
	defer cancel()
	e.room, e.err = OpenRoom(ctx, g.log, name, g.cfg)
	if e.err != nil { // the next join tries again
		g.mu.Lock()
		if g.rooms[name] == e {
			delete(g.rooms, name)
		}
		g.mu.Unlock()
	}
	close(e.ready)
}

// Leave makes one member fewer of the room here. The last one leaving starts the room's
// expiry: after RoomTTL (at once when 0), if no member of the cluster has joined it, its
// log is forgotten (after the quiet period, see expiryStep); if some have, it is checked
// again after another RoomTTL (at least a second), and counts down from the start once
// they have left (Emptied).
func (g *Registry) Leave(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.rooms[name]
	if !ok || e.members == 0 {
		return
	}
	e.members--
	if e.members == 0 {
		e.live = nil // a member coming back touches the room again
		g.expireEntryAfter(name, e, g.limits.RoomTTL, nil)
	}
}

// Emptied tells that the room's last members elsewhere in the cluster left, or were
// dropped with their instance: if it has none here either, its expiry starts now.
func (g *Registry) Emptied(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.rooms[name]; e != nil {
		if e.members == 0 && e.expiring == nil {
			g.expireEntryAfter(name, e, g.limits.RoomTTL, nil)
		}
		return
	}
	o := g.orphans[name]
	if o == nil {
		o = &countdown{}
		g.orphans[name] = o
	}
	g.expireOrphanAfter(name, o, g.limits.RoomTTL, nil)
}

// AdoptRooms starts the expiry of every room in the log that has no entry here, as
// Emptied does: once rooms open, so that the rooms a restart kept (a data directory, or
// the other instances' log) are forgotten after RoomTTL if nobody comes back (the TTL
// restarts, rooms.md §12); one with members elsewhere is left to their instance.
func (g *Registry) AdoptRooms(ctx context.Context) error {
	names, err := g.log.Rooms(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		g.Emptied(name)
	}
	return nil
}

// scheduleLocked (re)starts a countdown: run is called after d with the countdown's gen.
func (g *Registry) scheduleLocked(c *countdown, d time.Duration, run func(gen int)) {
	g.stopLocked(c)
	if g.closed {
		return
	}
	gen := c.gen
	g.wg.Add(1)
	c.timer = time.AfterFunc(d, func() {
		defer g.wg.Done()
		run(gen)
	})
}

// stopLocked cancels a countdown, if pending.
func (g *Registry) stopLocked(c *countdown) {
	if c.timer != nil && c.timer.Stop() {
		g.wg.Done()
	}
	c.timer = nil
	c.gen++
}

func (g *Registry) expireEntryAfter(name string, e *entry, d time.Duration, seen *lastMessage) {
	g.scheduleLocked(&e.countdown, d, func(gen int) { g.expireEntry(name, e, gen, seen) })
}

func (g *Registry) expireOrphanAfter(name string, o *countdown, d time.Duration, seen *lastMessage) {
	g.scheduleLocked(o, d, func(gen int) { g.expireOrphan(name, o, gen, seen) })
}

// expireEntry runs the expiry of a room that has an entry here but no member; joins wait
// for it.
func (g *Registry) expireEntry(name string, e *entry, gen int, seen *lastMessage) {
	g.mu.Lock()
	if g.closed || g.rooms[name] != e || e.gen != gen || e.members > 0 {
		g.mu.Unlock()
		return
	}
	e.expiring = make(chan struct{})
	g.mu.Unlock()
	<-e.ready
	step := g.expiryStep(name, seen)
	g.mu.Lock()
	done := e.expiring
	e.expiring = nil
	forgotten := step.forgotten && g.rooms[name] == e
	switch {
	case forgotten:
		delete(g.rooms, name)
	case !step.forgotten:
		g.expireEntryAfter(name, e, step.after, step.seen)
	}
	close(done)
	g.mu.Unlock()
	if forgotten && e.err == nil {
		e.room.Close()
	}
}

// expireOrphan runs the expiry of a room emptied elsewhere that has no entry here. One
// with members elsewhere again is left to their instances (Emptied starts it again).
func (g *Registry) expireOrphan(name string, o *countdown, gen int, seen *lastMessage) {
	g.mu.Lock()
	if g.closed || g.orphans[name] != o || o.gen != gen {
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	step := g.expiryStep(name, seen)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.orphans[name] != o || o.gen != gen {
		return // a join here took over
	}
	if step.forgotten || step.busy {
		delete(g.orphans, name)
		return
	}
	g.expireOrphanAfter(name, o, step.after, step.seen)
}

// expiryStep is what one step of an expiry found.
type expiryStep struct {
	forgotten bool
	busy      bool          // members elsewhere
	after     time.Duration // when not forgotten: the next step's delay
	seen      *lastMessage  // and what it confirms
}

// expiryStep takes one step of an empty room's expiry: without seen, it notes the room's
// last message and confirms it after the quiet period; with it, it forgets the room if
// seen is still its last message and presence shows no member. A room with members
// elsewhere, or that the log cannot tell about now, is checked again after RoomTTL.
func (g *Registry) expiryStep(name string, seen *lastMessage) expiryStep {
	later := expiryStep{after: max(g.limits.RoomTTL, time.Second)}
	if g.members != nil && g.members(name) > 0 {
		later.busy = true
		return later
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.waitOrDefault())
	defer cancel()
	if seen == nil {
		last, err := g.log.last(ctx, name)
		if err != nil {
			return later
		}
		if g.quiet > 0 {
			return expiryStep{after: g.quiet, seen: &last}
		}
		seen = &last
	}
	forgotten, err := g.log.end(ctx, name, *seen)
	if err != nil || !forgotten {
		return later // the room was written to, or the log failed: it starts over
	}
	return expiryStep{forgotten: true}
}

// Rooms is how many rooms this instance holds: with members here, or empty within the TTL.
func (g *Registry) Rooms() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.rooms)
}

// Close closes every room's replica; expiries pending are dropped (the rooms' logs stay).
func (g *Registry) Close() {
	g.mu.Lock()
	g.closed = true
	rooms := g.rooms
	g.rooms = map[string]*entry{}
	for _, e := range rooms {
		g.stopLocked(&e.countdown)
	}
	for _, o := range g.orphans {
		g.stopLocked(o)
	}
	g.orphans = map[string]*countdown{}
	g.mu.Unlock()
	g.wg.Wait()
	for _, e := range rooms {
		<-e.ready
		if e.err == nil {
			e.room.Close()
		}
	}
}

func (c RoomConfig) waitOrDefault() time.Duration {
	if c.Wait == 0 {
		return 5 * time.Second
	}
	return c.Wait
}
