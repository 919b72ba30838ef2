package rooms

import (
	"time"

	"github.com/nats-io/nats.go"
)

// Contention: a line that lost the race catches up and evaluates again, but the instance
// that won applied its event at once and its next line is already on its way: without
// care the same instance keeps winning and another's line runs out of attempts. So the
// instances writing take turns: a replica that lost asks for a turn (a plain NATS message
// on the room's turn subject), and a replica that stored a line waits, before its next
// line (never before a reply), until each other replica that stored lately or asked for a
// turn has stored once more, or a turn's time has passed.
const (
	contendedWithin  = 20 * time.Millisecond // how recent another's event or request must be
	defaultTurnPause = 20 * time.Millisecond // the longest wait for the others' turns
	// A turn lasts about a loser's catching up, evaluating and appending again: a few
	// appends' time, however fast or slow the log is (loopback, a network, a busy host).
	turnAppends = 4
	minTurn     = 200 * time.Microsecond
)

// writerTimes is when another replica last stored an event, and last asked for a turn.
type writerTimes struct{ stored, asked time.Time }

// owes reports whether the replica is due a turn before this one's next line, given
// when this one last stored (start) and the time now.
func (w *writerTimes) owes(start, now time.Time) bool {
	if w.stored.After(start) {
		return false
	}
	return start.Sub(w.stored) < contendedWithin || w.asked.After(w.stored) && now.Sub(w.asked) < contendedWithin
}

func turnSubject(room string) string { return turnPrefix + room }

// askTurn tells the other replicas this one lost a race (best effort).
func (r *Room) askTurn() { _ = r.log.js.Conn().Publish(turnSubject(r.name), []byte(r.writer)) }

// turnAsked notes another replica's request for a turn.
func (r *Room) turnAsked(msg *nats.Msg) {
	w := string(msg.Data)
	if w == r.writer {
		return
	}
	r.mu.Lock()
	r.writerLocked(w).asked = time.Now()
	r.signalLocked()
	r.mu.Unlock()
}

func (r *Room) writerLocked(w string) *writerTimes {
	t, ok := r.others[w]
	if !ok {
		t = &writerTimes{}
		r.others[w] = t
	}
	return t
}

// timeAppend adds an append's round trip to the moving average (evalMu held).
func (r *Room) timeAppend(d time.Duration) {
	if r.appendTime == 0 {
		r.appendTime = d
		return
	}
	r.appendTime += (d - r.appendTime) / 8
}

// turn is how long to wait at most for the others' turns (evalMu held).
func (r *Room) turn() time.Duration {
	return min(r.cfg.TurnPause, max(minTurn, turnAppends*r.appendTime))
}

// yield waits for the turns of the other replicas writing since this one last stored a
// line (evalMu held).
func (r *Room) yield() {
	start, turn := r.lastStored, r.turn()
	if r.cfg.TurnPause < 0 || time.Since(start) >= turn {
		return
	}
	var deadline *time.Timer
	for {
		r.mu.Lock()
		now, waiting := time.Now(), false
		for w, t := range r.others {
			switch {
			case now.Sub(t.stored) > contendedWithin && now.Sub(t.asked) > contendedWithin:
				delete(r.others, w)
			case t.owes(start, now):
				waiting = true
			}
		}
		changed := r.changed
		r.mu.Unlock()
		if !waiting {
			return
		}
		if deadline == nil {
			deadline = time.NewTimer(turn - time.Since(start))
			defer deadline.Stop()
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		}
	}
}
