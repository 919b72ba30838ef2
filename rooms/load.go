package rooms

import (
	"context"
	"errors"

	"wscalc/calc"
)

// loaded is a replica read from the log.
type loaded struct {
	pos       Position
	replica   *calc.Session
	state     calc.State
	history   []Event
	histBytes int
	logBytes  int
	started   bool // the load started the room's epoch: pos is its start mark
}

// load reads the room from the log: its epoch, its latest snapshot, and the events after.
// A room without a log, or whose events after its snapshot are not all kept any more, is
// created afresh (a new epoch).
func (r *Room) load(ctx context.Context) (loaded, error) {
	for range MaxAttempts {
		all, err := r.log.events(ctx, r.name)
		if err != nil {
			return loaded{}, err
		}
		l, ok, err := replay(ctx, r.log, r.name, r.cfg.Limits, all)
		if err != nil || ok {
			return l, err
		}
		var after uint64
		if len(all) > 0 {
			after = all[len(all)-1].streamSeq
		}
		pos, err := r.log.start(ctx, r.name, after)
		if errors.Is(err, ErrConflict) {
			continue // another instance wrote first: read again
		}
		if err != nil {
			return loaded{}, err
		}
		l = fresh(pos, all, r.cfg.Limits)
		l.started = true
		return l, nil
	}
	return loaded{}, ErrUnavailable
}

// replay builds the room's replica from the messages on its subject (all, of every epoch)
// and the snapshot of the last epoch; ok is false when the room must start afresh.
func replay(ctx context.Context, log *Log, room string, limits calc.Limits, all []Event) (l loaded, ok bool, err error) {
	if len(all) == 0 || all[len(all)-1].Mark == markEnd { // no log, or an expired one
		return loaded{}, false, nil
	}
	epoch := all[len(all)-1].Epoch
	var events []Event // the epoch's, start mark and marks aside
	for _, ev := range all {
		if ev.Epoch == epoch && ev.Seq > 0 && ev.Mark == "" {
			events = append(events, ev)
		}
	}
	events = unbroken(events)
	snap, found, err := log.snapshot(ctx, room, epoch)
	if err != nil {
		return loaded{}, false, err
	}
	if !found {
		snap = Snapshot{Epoch: epoch}
	}
	if !continues(snap.Seq, all[len(all)-1].Seq, events) {
		return loaded{}, false, nil
	}
	l = fresh(Position{Epoch: epoch, Seq: snap.Seq, streamSeq: all[len(all)-1].streamSeq}, all, limits)
	if err := l.replica.Restore(snap.State); err != nil {
		return loaded{}, false, unavailable(err)
	}
	l.state = snap.State
	for _, ev := range events {
		l.histBytes += ev.size
		if ev.Seq <= snap.Seq {
			continue
		}
		if err := l.replica.Apply(ev.Effect); err != nil {
			return loaded{}, false, unavailable(err)
		}
		l.state.Apply(ev.Effect)
		l.pos.Seq = ev.Seq
	}
	l.history, l.histBytes = trimHistory(events, l.histBytes)
	return l, true, nil
}

// fresh is an empty replica at pos; all are the messages the log keeps for the room.
func fresh(pos Position, all []Event, limits calc.Limits) loaded {
	l := loaded{pos: pos, replica: &calc.Session{Limits: limits}}
	for _, ev := range all {
		l.logBytes += ev.size
	}
	return l
}

// unbroken returns the events (of one epoch, in log order) after the last one missing
// among them. The log drops a busy room's oldest events while a load reads them one by
// one, so the read can miss some at its start: only those after the snapshot matter to
// the state, and a history must have no hole (recovery relies on it).
func unbroken(events []Event) []Event {
	for i := len(events) - 1; i > 0; i-- {
		if events[i].Seq != events[i-1].Seq+1 {
			return events[i:]
		}
	}
	return events
}

// continues reports whether events (of one epoch, in log order, unbroken) hold every
// event after the snapshot at seq up to last, the epoch's last seq (as the room's last
// message, an event or a mark, tells it).
func continues(seq, last uint64, events []Event) bool {
	if len(events) == 0 {
		return seq == last
	}
	first, end := events[0].Seq, events[len(events)-1].Seq
	return first <= seq+1 && seq <= end && end == last
}

// Peek reads a room from the log without creating it or keeping it alive (GET
// /api/rooms/NAME). ok is false when the room has no log, or one that cannot be recovered
// (its next join starts it afresh).
func (l *Log) Peek(ctx context.Context, room string, limits calc.Limits) (v View, ok bool, err error) {
	all, err := l.events(ctx, room)
	if err != nil {
		return View{}, false, err
	}
	ld, ok, err := replay(ctx, l, room, limits, all)
	if err != nil || !ok {
		return View{}, false, err
	}
	return View{Room: room, Epoch: ld.pos.Epoch, Seq: ld.pos.Seq, State: ld.state, History: ld.history}, true, nil
}
