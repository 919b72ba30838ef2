package sched

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The scheduler keeps light lines from ever waiting behind heavy ones.
//
// Every line starts in a light slot (there are GOMAXPROCS of them). Light lines are short
// by construction: calc asks its Gate for heavy treatment before a line's first expensive
// operation or once it has run for calc.HeavyTime (~1 ms). A line that goes heavy gives its
// light slot up at once (it does not get it back) and waits for one of the few heavy slots
// (max(1, GOMAXPROCS/2)), so at most that many heavy lines compete with the light ones for
// the CPU and a light line waits at most for other light lines, a few milliseconds.
//
// Waiting heavy lines are served fairly: the one whose account (its session's, or the
// client address's for HTTP) has used the least heavy time recently goes first, ties in
// arrival order. An account is charged, when a heavy line ends, with the time the line held
// its heavy slot, and its charge decays exponentially with a time constant of decay (10 s):
// a session that sent heavy lines a minute ago is as good as new, one that keeps sending
// them waits behind the others. A waiter gives up at its deadline (the end of its line's
// time limit) or when its context ends, and never holds a slot after giving up.

// decay is the time constant of the accounts' exponential decay: a charge counts 1/e as
// much after decay, 5 % after 3·decay.
const decay = 10 * time.Second

// errTooLong is returned by heavy when the line's deadline passes before a heavy slot is
// free; Eval turns it into calc's time-limit refusal.
var errTooLong = errors.New("sched: no heavy slot before the deadline")

// account is the heavy time a session (or a client address) has used recently. Its fields
// are guarded by the scheduler's mutex.
type account struct {
	used float64   // seconds of heavy time, decayed to at
	at   time.Time // when used was last brought up to date
}

// value is the account's decayed use at now, in seconds.
func (a *account) value(now time.Time) float64 {
	if a.used == 0 {
		return 0
	}
	return a.used * math.Exp(-now.Sub(a.at).Seconds()/decay.Seconds())
}

// charge adds d of heavy time at now.
func (a *account) charge(now time.Time, d time.Duration) {
	a.used = a.value(now) + d.Seconds()
	a.at = now
}

// slots holds the light and heavy slots. Create it with newSlots.
type slots struct {
	light lightSlots
	now   func() time.Time

	mu        sync.Mutex
	heavyFree int       // free heavy slots; > 0 only when nobody waits
	waiters   []*waiter // in arrival order
}

// waiter is a line waiting for a heavy slot.
type waiter struct {
	acct  *account
	ready chan struct{} // closed when granted
	// granted, guarded by slots.mu, is the waiter's slot once passLocked has chosen it: a
	// waiter that gives up after that must pass the slot on.
	granted *ticket
}

func newSlots(light, heavy int, now func() time.Time) *slots {
	if now == nil {
		now = time.Now
	}
	return &slots{light: lightSlots{max: int32(max(1, light))}, heavyFree: max(1, heavy), now: now}
}

// line is one evaluation's hold on the scheduler: its light slot until it ends or goes
// heavy, then its heavy slot until it ends. A line is used by one goroutine at a time (the
// evaluation's), except that the release function goHeavy returns may be called from any.
type line struct {
	s     *slots
	light bool    // holds a light slot
	heavy *ticket // the heavy slot it holds or held, nil before heavy
}

// begin takes a light slot for l, waiting until one is free or until ctx ends (then it
// returns ctx.Err() and l holds nothing). The caller owns l: Scheduler.Eval reuses one per
// session, so the light path of a line allocates nothing.
func (s *slots) begin(ctx context.Context, l *line) error {
	*l = line{s: s}
	if err := s.light.take(ctx); err != nil {
		return err
	}
	l.light = true
	return nil
}

// end releases whatever slot the line still holds. It is safe to call more than once, and
// must be called however the evaluation ended (including a panic: defer it).
func (l *line) end() {
	if l.light {
		l.light = false
		l.s.light.give()
	}
	if l.heavy != nil {
		l.heavy.release()
	}
}

// goHeavy gives the line's light slot up (for good) and waits for a heavy slot charged to
// acct, until deadline (zero: none; read with the real clock, as timers are) or until ctx
// ends. It returns the slot's release function, which charges acct and is safe to call
// more than once (end calls it too), or errTooLong or ctx.Err(), holding no slot. A line
// that is already heavy gets a release that does nothing.
func (l *line) goHeavy(ctx context.Context, deadline time.Time, acct *account) (release func(), err error) {
	if l.heavy != nil {
		return func() {}, nil
	}
	if l.light {
		l.light = false
		l.s.light.give()
	}
	t, err := l.s.acquireHeavy(ctx, deadline, acct)
	if err != nil {
		return nil, err
	}
	l.heavy = t
	return t.release, nil
}

// ticket is a granted heavy slot.
type ticket struct {
	s       *slots
	acct    *account
	granted time.Time
	done    atomic.Bool
}

// release charges the slot's time to its account and passes the slot on. Only the first
// call does anything.
func (t *ticket) release() {
	if !t.done.CompareAndSwap(false, true) {
		return
	}
	s := t.s
	s.mu.Lock()
	now := s.now()
	t.acct.charge(now, now.Sub(t.granted))
	s.passLocked()
	s.mu.Unlock()
}

// acquireHeavy waits for a heavy slot for acct: see goHeavy.
func (s *slots) acquireHeavy(ctx context.Context, deadline time.Time, acct *account) (*ticket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !deadline.IsZero() && time.Until(deadline) <= 0 {
		return nil, errTooLong
	}
	s.mu.Lock()
	if s.heavyFree > 0 {
		s.heavyFree--
		t := &ticket{s: s, acct: acct, granted: s.now()}
		s.mu.Unlock()
		return t, nil
	}
	w := &waiter{acct: acct, ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()

	var expired <-chan time.Time
	if !deadline.IsZero() {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		expired = timer.C
	}
	var err error
	select {
	case <-w.ready:
		return w.granted, nil // written before ready was closed
	case <-ctx.Done():
		err = ctx.Err()
	case <-expired:
		err = errTooLong
	}
	s.mu.Lock()
	if w.granted != nil {
		// The slot was granted while the waiter was giving up: pass it on, uncharged.
		w.granted.done.Store(true)
		s.passLocked()
	} else {
		s.removeLocked(w)
	}
	s.mu.Unlock()
	return nil, err
}

// passLocked hands a heavy slot that has just been freed to the waiter whose account has
// used the least heavy time recently (the earliest of equals), or frees it.
func (s *slots) passLocked() {
	if len(s.waiters) == 0 {
		s.heavyFree++
		return
	}
	now := s.now()
	best, bestUse := 0, s.waiters[0].acct.value(now)
	for i, w := range s.waiters[1:] {
		if u := w.acct.value(now); u < bestUse {
			best, bestUse = i+1, u
		}
	}
	w := s.waiters[best]
	s.waiters = slices.Delete(s.waiters, best, best+1)
	w.granted = &ticket{s: s, acct: w.acct, granted: now}
	close(w.ready)
}

func (s *slots) removeLocked(w *waiter) {
	if i := slices.Index(s.waiters, w); i >= 0 {
		s.waiters = slices.Delete(s.waiters, i, i+1)
	}
}

// lightSlots are the light slots: a line takes one (take) and gives it back (give). A free
// slot is taken and given back with one atomic operation each, as nearly every line finds
// one: the buffered channel they were before cost a lock and an unlock of the channel each
// way, 5 % of the server's CPU per pipelined request outside the calculator. Only a line
// that finds them all taken waits, in arrival order, in a queue under mu.
type lightSlots struct {
	max     int32
	used    atomic.Int32 // slots taken
	waiting atomic.Int32 // lines in the queue, or about to be: give looks under mu only then

	mu    sync.Mutex
	queue []*lightWaiter
}

// lightWaiter is a line waiting for a light slot.
type lightWaiter struct {
	ready   chan struct{} // closed when granted
	granted bool          // guarded by lightSlots.mu: the slot is the waiter's
}

// tryTake takes a free slot, if there is one.
func (ls *lightSlots) tryTake() bool {
	for {
		n := ls.used.Load()
		if n >= ls.max {
			return false
		}
		if ls.used.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// take takes a slot, waiting until one is free or until ctx ends (then it returns
// ctx.Err() and holds nothing).
func (ls *lightSlots) take(ctx context.Context) error {
	if ls.tryTake() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ls.mu.Lock()
	// Counted before trying again: a give that does not see the count has already freed
	// its slot, which this try then finds (see give).
	ls.waiting.Add(1)
	if ls.tryTake() {
		ls.waiting.Add(-1)
		ls.mu.Unlock()
		return nil
	}
	w := &lightWaiter{ready: make(chan struct{})}
	ls.queue = append(ls.queue, w)
	ls.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	ls.mu.Lock()
	granted := w.granted
	if !granted {
		if i := slices.Index(ls.queue, w); i >= 0 {
			ls.queue = slices.Delete(ls.queue, i, i+1)
		}
		ls.waiting.Add(-1)
	}
	ls.mu.Unlock()
	if granted { // granted while giving up: pass the slot on
		ls.give()
	}
	return ctx.Err()
}

// give gives a slot back, to the first waiter if there is one.
func (ls *lightSlots) give() {
	ls.used.Add(-1)
	if ls.waiting.Load() == 0 {
		return
	}
	ls.mu.Lock()
	for len(ls.queue) > 0 && ls.tryTake() { // taken for the waiter; a line may take it first
		w := ls.queue[0]
		ls.queue = slices.Delete(ls.queue, 0, 1)
		ls.waiting.Add(-1)
		w.granted = true
		close(w.ready)
	}
	ls.mu.Unlock()
}
