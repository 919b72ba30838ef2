package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"wscalc/calc"
	"wscalc/cluster"
	"wscalc/rooms"
	"wscalc/session"
)

// roomService is the rooms of this instance: the sessions' rooms (session.Rooms), their
// members on the other instances (cluster.RoomMembers), and the room log, opened once the
// node is ready (until then a join answers "rooms unavailable, try again").
type roomService struct {
	rooms   *session.Rooms
	members *cluster.RoomMembers
	stop    context.CancelFunc
	done    chan struct{}
	log     *rooms.Log  // set by open before done is closed
	opened  atomic.Bool // the room log is open: rooms work (see ready)
}

func startRooms(node *cluster.Node, log *slog.Logger, limits calc.Limits, roomLimits rooms.Limits) (*roomService, error) {
	d := session.NewRooms(nil, rooms.RoomConfig{Limits: limits}, roomLimits)
	members, err := cluster.NewRoomMembers(node, d.RemoteChanged)
	if err != nil {
		return nil, err
	}
	d.SetRemote(members)
	ctx, stop := context.WithCancel(context.Background())
	r := &roomService{rooms: d, members: members, stop: stop, done: make(chan struct{})}
	go r.open(ctx, node, log)
	return r, nil
}

// open opens the room log once the node is ready, trying again until it succeeds or the
// server stops.
func (r *roomService) open(ctx context.Context, node *cluster.Node, log *slog.Logger) {
	defer close(r.done)
	for {
		if err := node.WaitReady(ctx); err != nil {
			return
		}
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		l, err := rooms.OpenLog(octx, node.JetStream(), rooms.LogConfig{Replicas: node.Replicas(), Storage: node.Storage()})
		cancel()
		if err == nil {
			r.log = l
			r.rooms.Open(l)
			r.opened.Store(true)
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := r.rooms.Registry().AdoptRooms(actx); err != nil {
				log.Warn("the rooms kept in the log will not expire until a member leaves them", "err", err)
			}
			cancel()
			return
		}
		log.Warn("room log not available yet", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// ready reports whether the instance can use the room log (§8: /readyz is 503 until then):
// the node is ready and the log has been opened on it.
func (r *roomService) ready(node *cluster.Node) bool { return r.opened.Load() && node.Ready() }

// close stops the rooms after the sessions have ended: goodbye to the other instances'
// member lists, the replicas, then the log.
func (r *roomService) close() {
	r.stop()
	<-r.done
	r.members.Close()
	r.rooms.Close()
	if r.log != nil {
		r.log.Close()
	}
}
