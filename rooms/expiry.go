package rooms

import (
	"context"
	"errors"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// How an empty room is forgotten without ever forgetting one that has a member.
//
// Presence tells an instance, with some delay, who is in a room elsewhere; an instance
// that expired a room on presence alone could forget it just as a member joined on another
// instance (who would then get "# lab was reset" while in the room). So the log itself
// decides, with the same optimistic concurrency as events, between an expiry and a join:
//
//   - A join that makes a room's first member on an instance stores a touch mark after the
//     replica's position (Room.touch) before the member gets the room; a replica that has
//     just started the room's epoch needs none (its start mark is one).
//   - An expiry notes the last message on the room's subject, waits the quiet period
//     (longer than presence takes to reach every instance, so that any member who joined
//     before that message is known by then), checks presence, and stores an end mark only
//     if that message is still the last (Log.end); then it deletes the room.
//
// Of a touch and an end mark stored after the same message, only one is: a join either
// keeps the room alive or finds it ended and starts it afresh (a new epoch, as after the
// TTL), before its member sees it. A touch stored before the expiry noted the log means
// its member was known to presence by the time the expiry checked.
const (
	markTouch = "touch" // a join on an instance with no member of the room yet
	markEnd   = "end"   // the room expired: its log is being deleted
)

// lastMessage is the last message on a room's subject, as an expiry noted it.
type lastMessage struct {
	ok bool // the room has a log
	ev Event
}

// last returns the last message on the room's subject.
func (l *Log) last(ctx context.Context, room string) (lastMessage, error) {
	msg, err := l.stream.GetLastMsgForSubject(ctx, subject(room))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return lastMessage{}, nil
	}
	if err != nil {
		return lastMessage{}, unavailable(err)
	}
	ev, err := decodeEvent(msg.Data, msg.Sequence)
	if err != nil {
		return lastMessage{}, err
	}
	return lastMessage{ok: true, ev: ev}, nil
}

// end forgets the room if at is still the last message on its subject: it stores an end
// mark after it, then deletes the room's messages up to the mark and its snapshot.
// forgotten is true when the room has no log any more (by this call or another's), false
// when something was stored after at: the room is alive.
func (l *Log) end(ctx context.Context, room string, at lastMessage) (forgotten bool, err error) {
	if !at.ok {
		return true, nil
	}
	mark := at.ev
	if mark.Mark != markEnd {
		mark = Event{Epoch: at.ev.Epoch, Seq: at.ev.Seq, Mark: markEnd}
		_, err = l.publish(ctx, room, at.ev.streamSeq, &mark)
		if errors.Is(err, ErrConflict) {
			now, err := l.last(ctx, room)
			if err != nil || (now.ok && now.ev.Mark != markEnd) {
				return false, err
			}
			return l.end(ctx, room, now) // another expiry stored its mark first: finish it
		}
		if err != nil {
			return false, err
		}
	}
	return true, l.deleteEpoch(ctx, room, mark)
}

// deleteEpoch deletes the room's messages up to its end mark (a new epoch may start right
// after it) and the snapshot of the epoch it ended.
func (l *Log) deleteEpoch(ctx context.Context, room string, mark Event) error {
	err := l.stream.Purge(ctx, jetstream.WithPurgeSubject(subject(room)), jetstream.WithPurgeSequence(mark.streamSeq+1))
	if err != nil {
		return unavailable(err)
	}
	if err := l.snaps.Delete(ctx, snapName(room, mark.Epoch)); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return unavailable(err)
	}
	return nil
}

// touch stores a touch mark after the replica's position, catching up when the log moved
// on: see above. Call it before a room's first member here gets the room.
func (r *Room) touch(ctx context.Context) error {
	r.evalMu.Lock()
	defer r.evalMu.Unlock()
	for range MaxAttempts {
		r.mu.Lock()
		at, broken, started := r.pos, r.broken, r.startedAt
		r.mu.Unlock()
		if broken != nil {
			return broken
		}
		if started != 0 && at.streamSeq == started {
			return nil // nothing after the start mark this replica stored
		}
		if err := r.snapshotBeforeTouch(ctx, at); err != nil {
			return err
		}
		mark := &Event{Epoch: at.Epoch, Seq: at.Seq, Mark: markTouch, Writer: r.writer}
		_, err := r.log.publish(ctx, r.name, at.streamSeq, mark)
		if errors.Is(err, ErrConflict) {
			if err := r.catchUp(ctx, at); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.offerLocked(*mark) // unless the log's consumer was first
		r.mu.Unlock()
		return nil
	}
	return ErrUnavailable
}

// snapshotBeforeTouch saves the room's state at at unless a snapshot there is due anyway
// or there is nothing to save: touches take room in the log's last HistoryEvents messages
// of the room, and joins could otherwise push out the events after the latest snapshot.
func (r *Room) snapshotBeforeTouch(ctx context.Context, at Position) error {
	if at.Seq%r.cfg.SnapshotEvery == 0 {
		return nil
	}
	r.mu.Lock()
	snap := Snapshot{Epoch: at.Epoch, Seq: at.Seq, State: r.state.Clone()}
	moved := r.pos != at
	r.mu.Unlock()
	if moved {
		return nil // the touch will conflict and catch up
	}
	return r.log.saveSnapshot(ctx, r.name, snap)
}

// Rooms returns the names of the rooms that have a log.
func (l *Log) Rooms(ctx context.Context) ([]string, error) {
	info, err := l.stream.Info(ctx, jetstream.WithSubjectFilter(subjectPrefix+"*"))
	if err != nil {
		return nil, unavailable(err)
	}
	names := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		names = append(names, strings.TrimPrefix(subj, subjectPrefix))
	}
	return names, nil
}

// markLocked takes a mark that follows the replica's position in the log.
func (r *Room) markLocked(ev Event) {
	switch {
	case ev.Mark == markTouch && ev.Epoch == r.pos.Epoch && ev.Seq == r.pos.Seq:
		r.pos.streamSeq = ev.streamSeq
		r.logBytes += ev.size
	case ev.Mark == markTouch:
		r.requestReloadLocked() // an event is missing before it
	case len(r.listeners) > 0:
		// The room ended while members are here: presence was slower than the quiet
		// period. They get the room loaded afresh, as after a lost log.
		r.requestReloadLocked()
	}
	// An end mark and no member here: the replica stays where it is; its expiry here
	// finds the room forgotten, or a join here touches it, is refused and loads it afresh.
}
