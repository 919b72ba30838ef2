package rooms

import (
	"context"
	"sync"
	"time"
)

// Registry is this instance's rooms: one Room replica per room that has members here (or
// had, within the TTL), shared by them; the limits on rooms and members; and the expiry of
// empty rooms, whose logs are forgotten once the whole cluster has left them for RoomTTL.
type Registry struct {
	log    *Log
	cfg    RoomConfig
	limits Limits
	// members returns how many members a room has in the whole cluster, this instance's
	// included (presence); it may lag. Nil: this instance's only.
	members func(room string) int

	mu     sync.Mutex
	rooms  map[string]*entry
	closed bool
	wg     sync.WaitGroup // expiries running
}

// entry is one room of the registry.
type entry struct {
	ready   chan struct{} // closed once room or err is set
	room    *Room
	err     error
	members int         // members here
	expiry  *time.Timer // while empty
	gen     int         // counts expiries scheduled, so a stale one knows it is
}

// NewRegistry returns the rooms of this instance. members, if not nil, tells a room's
// member count across the cluster (see Registry).
func NewRegistry(log *Log, cfg RoomConfig, limits Limits, members func(room string) int) *Registry {
	return &Registry{log: log, cfg: cfg, limits: limits, members: members, rooms: map[string]*entry{}}
}

// Join makes one more member of the room (a name as RoomName returns it) here, opening
// its replica if it has none, and returns it. Refusals: RoomFull, TooManyRooms,
// ErrUnavailable.
func (g *Registry) Join(ctx context.Context, name string) (*Room, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, ErrUnavailable
	}
	e, ok := g.rooms[name]
	if !ok && len(g.rooms) >= g.limits.MaxRooms {
		g.mu.Unlock()
		return nil, TooManyRooms(g.limits.MaxRooms)
	}
	if g.count(name, e) >= g.limits.MembersPerRoom {
		g.mu.Unlock()
		return nil, RoomFull(g.limits.MembersPerRoom)
	}
	if !ok {
		e = &entry{ready: make(chan struct{})}
		g.rooms[name] = e
		go g.open(name, e)
	}
	e.members++
	g.stopExpiry(e)
	g.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		g.Leave(name)
		return nil, unavailable(ctx.Err())
	}
	if e.err != nil {
		return nil, e.err // open dropped the entry
	}
	return e.room, nil
}

// count is the room's member count for the limit: the cluster's, or at least this
// instance's (presence may not know the latest joins yet).
func (g *Registry) count(name string, e *entry) int {
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
// log is forgotten; if some have, it is checked again after another RoomTTL.
func (g *Registry) Leave(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.rooms[name]
	if !ok || e.members == 0 {
		return
	}
	e.members--
	if e.members == 0 && !g.closed {
		g.scheduleExpiry(name, e)
	}
}

// scheduleExpiry starts the room's expiry (g.mu held).
func (g *Registry) scheduleExpiry(name string, e *entry) {
	e.gen++
	gen := e.gen
	g.wg.Add(1)
	e.expiry = time.AfterFunc(g.limits.RoomTTL, func() {
		defer g.wg.Done()
		g.expire(name, e, gen)
	})
}

// stopExpiry cancels the room's expiry, if pending (g.mu held).
func (g *Registry) stopExpiry(e *entry) {
	if e.expiry != nil && e.expiry.Stop() {
		g.wg.Done()
	}
	e.expiry = nil
	e.gen++
}

// expire forgets the room if it is still empty, here and in the cluster.
func (g *Registry) expire(name string, e *entry, gen int) {
	g.mu.Lock()
	if g.closed || g.rooms[name] != e || e.gen != gen || e.members > 0 {
		g.mu.Unlock()
		return
	}
	if g.members != nil && g.members(name) > 0 {
		g.scheduleExpiry(name, e)
		g.mu.Unlock()
		return
	}
	delete(g.rooms, name)
	g.mu.Unlock()
	<-e.ready
	if e.err != nil {
		return
	}
	epoch := e.room.Position().Epoch
	e.room.Close()
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.waitOrDefault())
	defer cancel()
	// Best effort: a room not forgotten now stays in the log until its events roll out;
	// its next join finds it as it was.
	_ = g.log.Forget(ctx, name, epoch)
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
		g.stopExpiry(e)
	}
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
