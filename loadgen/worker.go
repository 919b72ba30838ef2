package loadgen

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// pend is a request in flight: when it was (meant to be) sent and what it asked.
type pend struct {
	start time.Duration // since the run's base time
	expr  int32
}

// worker drives one connection: a sender goroutine keeps up to Pipeline requests in flight
// (or sends on an open-loop schedule), a reader goroutine matches replies to requests in
// order. The two share only channels and atomics.
type worker struct {
	id  int
	run *runner
	t   transport

	slots   chan struct{} // a token per request that may be put in flight
	pending chan pend     // requests in flight, oldest first
	quota   int64         // requests to send; < 0 means until stopped

	tally    tally         // error replies, the reader's own
	readDone chan struct{} // closed when readLoop returns

	sent, recv   atomic.Int64
	sendDone     atomic.Bool
	lastProgress atomic.Int64 // since base, ns: last reply, or first send after an idle spell

	mu       sync.Mutex
	done     bool          // finished is closed
	finished chan struct{} // every sent request answered, or the connection failed
	err      error         // why the connection failed, if it did; set before finished closes
}

func newWorker(r *runner, id int, t transport, quota int64) *worker {
	d := r.cfg.Pipeline
	w := &worker{id: id, run: r, t: t, quota: quota,
		slots: make(chan struct{}, d), pending: make(chan pend, d), finished: make(chan struct{}),
		readDone: make(chan struct{})}
	for range d {
		w.slots <- struct{}{}
	}
	return w
}

// finish marks the connection's work as complete.
func (w *worker) finish() { w.end(nil) }

// fail records the connection's failure, unless its work was already complete, and closes
// it: the other goroutine's blocked read or write returns, and whatever is in flight counts
// as never answered.
func (w *worker) fail(err error) {
	if w.end(err) {
		w.t.close()
	}
}

// end closes finished once, recording err with it; it reports whether this call did.
func (w *worker) end(err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return false
	}
	w.done, w.err = true, err
	close(w.finished)
	return true
}

// failure is why the connection failed, nil if it did not (yet).
func (w *worker) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *worker) outstanding() int64 { return w.sent.Load() - w.recv.Load() }

// readLoop matches each reply with the oldest request in flight until every request is
// answered or the connection fails. A reply that is an error the request did not expect
// is tallied apart and kept out of the latency of successful replies.
func (w *worker) readLoop() {
	defer close(w.readDone)
	r := w.run
	exprs := r.cfg.Exprs
	shard := r.shard(w.id)
	var now time.Duration
	for {
		// Replies already buffered arrived with the previous read: they share its time,
		// which spares a clock read per reply (costly on some virtual machines).
		fresh := w.t.buffered() == 0
		reply, err := w.t.read()
		if err != nil {
			w.fail(err) // nothing, if we closed it after the last reply
			return
		}
		if fresh || now == 0 {
			now = r.now()
		}
		var p pend
		select {
		case p = <-w.pending:
		default:
			w.fail(errUnsolicited(reply))
			return
		}
		e := &exprs[p.expr]
		if !mayBeError(reply) || !w.errorReply(e, reply) {
			shard.record(now - p.start)
		}
		if r.cfg.Check && !bytes.Equal(reply, e.wantBytes) && !sameRefusal(e, reply) {
			r.mismatch(e, reply)
		}
		w.lastProgress.Store(int64(now))
		n := w.recv.Add(1)
		w.slots <- struct{}{}
		if w.sendDone.Load() && n == w.sent.Load() {
			w.finish()
		}
	}
}

// errorReply tallies reply if it is an error reply, and reports whether it is one that e
// does not expect. Off the hot path: only replies that start with 'E' get here.
func (w *worker) errorReply(e *Expr, reply []byte) (unexpected bool) {
	if !isErrorReply(reply) {
		return false
	}
	if expectedReply(e, reply) {
		w.tally.expected++
		return false
	}
	w.tally.add(reply)
	return true
}

// sendLoop sends requests until the quota is met or the run stops, then waits for the
// replies (bounded by the run's timeout, enforced by the watchdog).
func (w *worker) sendLoop(ctx context.Context) {
	var err error
	if w.run.cfg.Rate > 0 {
		err = w.sendOpenLoop()
	} else {
		err = w.sendClosedLoop()
	}
	if err == nil {
		err = w.t.flush()
	}
	if err != nil {
		w.fail(err)
	}
	w.sendDone.Store(true)
	if w.recv.Load() == w.sent.Load() {
		w.finish()
	}
	select {
	case <-w.finished:
	case <-ctx.Done():
		w.fail(ctx.Err())
	}
}

// firstExpr is where this connection starts in the mix: each starts at its own place, so
// that the server sees the whole mix at every moment.
func (w *worker) firstExpr() int { return (w.id * 7) % len(w.run.cfg.Exprs) }

// sendClosedLoop keeps Pipeline requests in flight: each reply frees a slot for the next
// request. Requests are flushed together when no slot is free, so a deep pipeline costs
// one write per batch.
func (w *worker) sendClosedLoop() error {
	r := w.run
	exprs := r.cfg.Exprs
	e := w.firstExpr()
	// Requests queued between two flushes go out together, so they share a send time,
	// read once per batch.
	now := r.now()
	for i := int64(0); w.quota < 0 || i < w.quota; i++ {
		select {
		case <-w.slots:
		default:
			if err := w.t.flush(); err != nil {
				return err
			}
			select {
			case <-w.slots:
			case <-r.stop:
				return nil
			case <-w.finished:
				return nil
			}
			now = r.now()
		}
		select {
		case <-r.stop:
			return nil
		case <-w.finished:
			return nil
		default:
		}
		if err := w.send(pend{start: now, expr: int32(e)}, exprs[e].lineBytes); err != nil {
			return err
		}
		if e++; e == len(exprs) {
			e = 0
		}
	}
	return nil
}

// sendOpenLoop sends on a fixed schedule (this connection's share of the total rate),
// whatever the replies do. Latency counts from the scheduled time, so a server that falls
// behind is charged for the whole wait (no coordinated omission). At most Pipeline requests
// are in flight; a request waiting for a slot is late and its latency shows it.
func (w *worker) sendOpenLoop() error {
	r := w.run
	exprs := r.cfg.Exprs
	interval := time.Duration(float64(time.Second) * float64(r.cfg.Conns) / r.cfg.Rate)
	// Spread the connections' schedules evenly over one interval.
	at := r.loadStart + interval*time.Duration(w.id)/time.Duration(r.cfg.Conns)
	e := w.firstExpr()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); w.quota < 0 || i < w.quota; i++ {
		if r.deadline > 0 && at >= r.deadline {
			return nil
		}
		if d := at - r.now(); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-r.stop:
				return nil
			}
		}
		select {
		case <-w.slots:
		case <-r.stop:
			return nil
		case <-w.finished:
			return nil
		}
		if err := w.send(pend{start: at, expr: int32(e)}, exprs[e].lineBytes); err != nil {
			return err
		}
		if err := w.t.flush(); err != nil {
			return err
		}
		if e++; e == len(exprs) {
			e = 0
		}
		at += interval
	}
	return nil
}

// send puts one request in flight. It is registered before it is written, so that its
// reply always finds it.
func (w *worker) send(p pend, line []byte) error {
	if w.outstanding() == 0 {
		w.lastProgress.Store(int64(p.start))
	}
	w.pending <- p
	w.sent.Add(1)
	return w.t.write(line)
}
