package calc

import (
	"context"
	"strconv"
	"time"
)

// Gate is the server's say over expensive work (Session.Gate; nil means no gate).
type Gate interface {
	// Heavy is called at most once per line, before the line's first heavy operation
	// (estimated CPU time over HeavyTime, or a result over HeavyBits) or at a checkpoint
	// once the line has run longer than HeavyTime. It may block until the line may go on,
	// giving up at deadline (the end of the line's time limit) or when ctx is done, and
	// returns an error to refuse the line (returned by EvalContext as is). release is
	// called exactly once when the line ends, if err == nil.
	Heavy(ctx context.Context, deadline time.Time) (release func(), err error)
}

// A line becomes heavy, and passes the Gate, at its first operation estimated over
// HeavyTime or with a result over HeavyBits, or once it has run for HeavyTime. Typical
// lines run in microseconds and never come near either.
const (
	HeavyTime = 1 * time.Millisecond
	HeavyBits = 1 << 16
)

// The meter reads the clock only at checkpoints, so that lines of small values never read
// it more than once per 64 nodes.
const (
	quickNs      = 50_000  // an operation estimated below this needs no checkpoint of its own…
	checkEveryNs = 200_000 // …until the estimates since the last one add up to this
	observeNs    = 1e6     // estimated work after which the measured slowdown is trusted
	maxSlowdown  = 16      // the most the estimates are scaled up by
)

// meter keeps one line within its time limit, its context and the gate. Every big-number
// operation is admitted by spend with its estimated cost (cost.go) before it runs: it is
// refused when the estimate exceeds the time left, so a line ends within its limit
// whatever it computes, and loops that can run long call check between steps.
type meter struct {
	s       *Session
	ctx     context.Context
	done    <-chan struct{} // ctx.Done(); nil when ctx cannot be cancelled
	gate    Gate
	start   time.Time
	limit   time.Duration
	last    time.Time // the last clock reading
	pending float64   // estimated ns of the work admitted since last
	slow    float64   // measured time / estimated time, at least 1: a slow or busy machine
	scale   float64   // the clock's stretch in a race-detector build (race_on.go), else 1
	gated   bool      // Heavy was called for this line
	release func()
	waited  time.Duration // spent waiting in the gate: not work, so not charged
}

// begin starts metering a line. The slowdown measured during the session's last lines
// carries over, halved at each line: a busy machine stays busy for a while.
//
// Field by field: assigning a whole meter copies it through the runtime with write
// barriers (begin and end took 25 ns so, 15 ns now). Every field is set here.
func (m *meter) begin(ctx context.Context, s *Session, lim *Limits, start time.Time) {
	scale := 1.0
	if s.Clock == nil { // a test's own clock means what it says
		scale = raceTimeScale
	}
	m.s, m.ctx, m.done, m.gate = s, ctx, ctx.Done(), s.Gate
	m.start, m.limit, m.last = start, lim.MaxTime, start
	m.pending, m.slow, m.scale, m.gated, m.release, m.waited = 0, max(1, s.slow), scale, false, nil, 0
}

// end releases the gate and forgets the line's context, returning the time spent waiting.
func (m *meter) end() time.Duration {
	if m.release != nil {
		m.release()
	}
	m.s.slow = 1 + (m.slow-1)/2
	m.s, m.ctx, m.done, m.gate, m.release = nil, nil, nil, nil, nil // let them go
	return m.waited
}

// spend admits an operation estimated at ns nanoseconds whose result has about bits bits,
// or refuses the line. Cheap operations are only summed; a checkpoint reads the clock. A
// nil meter admits everything (tests of the parts).
func (m *meter) spend(ns, bits float64) error {
	if m == nil {
		return nil
	}
	if ns < quickNs && bits <= HeavyBits && m.pending+ns < checkEveryNs {
		m.pending += ns
		return nil
	}
	return m.checkpoint(ns, bits)
}

// check is a checkpoint between the steps of a loop, or between nodes.
func (m *meter) check() error {
	if m == nil {
		return nil
	}
	return m.checkpoint(0, 0)
}

func (m *meter) checkpoint(ns, bits float64) error {
	now := m.s.now()
	m.observe(now)
	if m.done != nil {
		select {
		case <-m.done:
			return m.ctx.Err()
		default:
		}
	}
	if m.gate != nil && !m.gated && (ns > float64(HeavyTime) || bits > HeavyBits || now.Sub(m.start) > HeavyTime) {
		var err error
		if now, err = m.enterGate(now); err != nil {
			return err
		}
	}
	if left := m.deadline().Sub(now); left <= 0 || ns*m.slow*m.scale > float64(left) {
		return TimeLimitError(m.limit)
	}
	m.last, m.pending = now, ns
	return nil
}

// observe scales the estimates up when the work since the last checkpoint took longer
// than estimated: a slower or shared machine, where the next operations will be slow too.
func (m *meter) observe(now time.Time) {
	if m.pending < observeNs {
		return
	}
	if r := float64(now.Sub(m.last)) / m.scale / m.pending; r > m.slow {
		m.slow = min(r, maxSlowdown)
	}
}

func (m *meter) enterGate(now time.Time) (time.Time, error) {
	m.gated = true
	release, err := m.gate.Heavy(m.ctx, m.deadline())
	after := m.s.now()
	m.waited += after.Sub(now)
	if err != nil {
		return after, err
	}
	m.release = release
	return after, nil
}

// deadline is the end of the line's time limit, computed only at checkpoints: most lines
// never reach one.
func (m *meter) deadline() time.Time { return m.start.Add(m.limit * time.Duration(m.scale)) }

// TimeLimitError is the refusal of a line that cannot finish within its time limit: the one
// home of its message, for calc and for the scheduler that refuses a line waiting too long.
func TimeLimitError(limit time.Duration) *Error {
	return &Error{
		Msg:     "evaluation took too long (limit " + strconv.FormatFloat(limit.Seconds(), 'g', -1, 64) + " s)",
		Refusal: RefusalTime,
	}
}
