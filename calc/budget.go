package calc

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// A line is charged, in budget units: its static cost (the node costs of the reference,
// §7) when it parses; then its measured work, one unit per unitTime of parse and
// evaluation (time spent waiting in the server's gate excluded), plus ⌈bits/1024⌉ per
// exact result over 1024 bits. A command is charged one unit per replyBytesPerUnit bytes
// of its reply. With the default budget of 200 000 units per 60 s, a session sending
// lines of 1 s of work (50 000 units each) is throttled after four of them.
const (
	unitTime          = 20 * time.Microsecond
	replyBytesPerUnit = 64
)

// Budget is a token bucket of cost units, refilled evenly over a window; several sessions
// may share one (Session.Budget), e.g. the HTTP API's sessions of one client address. It
// is safe for concurrent use.
type Budget struct {
	mu       sync.Mutex
	capacity float64
	rate     float64 // units per second
	units    float64 // may go below zero: work already done is owed
	last     time.Time
	started  bool
}

// NewBudget returns a full bucket of l.Budget units refilled over l.BudgetWindow (the
// defaults for zero fields).
func NewBudget(l Limits) *Budget {
	l = l.WithDefaults()
	return &Budget{capacity: float64(l.Budget), rate: float64(l.Budget) / l.BudgetWindow.Seconds()}
}

// refill adds the units earned since the last call; the caller holds mu.
func (b *Budget) refill(now time.Time) {
	if !b.started {
		b.started, b.units, b.last = true, b.capacity, now
		return
	}
	if el := now.Sub(b.last); el > 0 {
		b.units = min(b.capacity, b.units+b.rate*el.Seconds()) // the builtin: inline, math.Min is a call
		b.last = now
	}
}

// charge takes cost units, or refuses: a cost above the whole bucket can never be paid
// (RefusalCost); otherwise the reply says how long until enough units are back.
func (b *Budget) charge(now time.Time, cost float64) error {
	if cost > b.capacity { // capacity never changes
		return &Error{
			Msg: "expression too costly for the session budget (cost " + strconv.FormatFloat(cost, 'f', -1, 64) +
				", limit " + strconv.FormatFloat(b.capacity, 'f', -1, 64) + " units)",
			Refusal: RefusalCost,
		}
	}
	b.mu.Lock()
	b.refill(now)
	if cost > b.units {
		wait := int(math.Ceil((cost - b.units) / b.rate))
		b.mu.Unlock()
		return &Error{Msg: "session budget exhausted, try again in " + strconv.Itoa(max(wait, 1)) + " s", Refusal: RefusalBudget}
	}
	b.units -= cost
	b.mu.Unlock()
	return nil
}

// debit takes the cost of work already done; the bucket may go below zero, which delays
// the next lines.
func (b *Budget) debit(units float64) {
	if units <= 0 {
		return
	}
	b.mu.Lock()
	b.units -= units
	b.mu.Unlock()
}

// workUnits is the charge for measured work.
func workUnits(d time.Duration) float64 { return float64(d) / float64(unitTime) }

// replyUnits is the charge for a command's reply of n bytes.
func replyUnits(n int) float64 { return math.Ceil(float64(n) / replyBytesPerUnit) }
