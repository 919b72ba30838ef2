package rooms

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"wscalc/calc"
)

// Outcome is what a member's line gave, as the room stores it: the sender's reply line,
// its JSON reply (without id and seq), and its effect on the room's state.
type Outcome struct {
	Display string
	Result  []byte
	Effect  calc.Effect
}

// EvalFunc evaluates a member's line on s, a session holding the room's state (with the
// member's own limits and budget). An error means the line is not an event (refused before
// evaluation: budget exhausted, server busy…): nothing is stored and the member is answered
// privately.
type EvalFunc func(ctx context.Context, s *calc.Session, line string) (Outcome, error)

// View is a room as a member joining it sees it: its position, its state and its history
// (oldest first, within HistoryBytes).
type View struct {
	Room    string
	Epoch   string
	Seq     uint64 // the last event the state reflects, 0 in a new room
	State   calc.State
	History []Event
}

// Since returns the events after since when epoch is the room's and all of them are still
// in the history (oldest kept seq - 1 ≤ since ≤ seq): a client recovering (rooms.md §6).
// Otherwise recovered is false and the client starts over from the view.
func (v View) Since(epoch string, since uint64) (events []Event, recovered bool) {
	oldest := v.Seq + 1
	if len(v.History) > 0 {
		oldest = v.History[0].Seq
	}
	if epoch != v.Epoch || since+1 < oldest || since > v.Seq {
		return nil, false
	}
	return v.History[len(v.History)-int(v.Seq-since):], true
}

// Last returns the last n events of the history at most.
func (v View) Last(n int) []Event { return v.History[max(0, len(v.History)-n):] }

// Update is what a member receives from its room after the view it joined with: the next
// event, or, when the room's log was lost and created afresh, the new view.
type Update struct {
	Event *Event
	Reset *View
}

// RoomConfig sets up a Room.
type RoomConfig struct {
	// Limits are the calculator's limits of the replica (variables and memory): set them as
	// every instance does.
	Limits calc.Limits
	// SnapshotEvery is how many events apart snapshots are taken (100 when 0); below
	// HistoryEvents, so that a snapshot is always followed by all the events after it.
	SnapshotEvery uint64
	// Wait bounds waiting for the log when catching up (5 s when 0).
	Wait time.Duration
	// TurnPause caps how long an instance waits for the others' turns in a contended room
	// (see yield): 20 ms when 0, no turns when negative.
	TurnPause time.Duration
	// ExpiryQuiet is how long an expiry waits for presence before forgetting an empty room
	// when members are counted across a cluster (DefaultExpiryQuiet when 0, none when
	// negative: an instance that no other can join; registry.go).
	ExpiryQuiet time.Duration
}

// Room is this instance's replica of a room: the room's state at the last event it
// applied, and its history. Events are applied in seq order, each once, from the log;
// a member's line is evaluated against the replica and stored only if the room is still
// where the replica is.
type Room struct {
	name   string
	log    *Log
	cfg    RoomConfig
	writer string // Event.Writer of the events this replica stores

	evalMu     sync.Mutex    // one of this instance's lines at a time: they would only conflict
	lastStored time.Time     // when this replica last stored a line (evalMu held)
	appendTime time.Duration // a moving average of an append's round trip (evalMu held)

	mu        sync.Mutex
	pos       Position
	replica   *calc.Session
	state     calc.State // the replica's state as data, for snapshots
	history   []Event
	histBytes int
	logBytes  int // bytes of the events the log keeps for the room, as far as known
	listeners map[int]func(Update)
	nextID    int
	broken    error // why the replica cannot be used now, nil when it can
	// others are the other replicas writing lately, by Writer: the room is contended
	// (see yield).
	others  map[string]*writerTimes
	changed chan struct{} // closed when pos or broken changes
	ready   bool          // loaded: events offered before are read again by pull
	// startedAt is the log's sequence of the start mark this replica stored, if it
	// started the room's epoch (see touch).
	startedAt uint64

	ctx       context.Context // ended by Close: a reload in flight stops
	cancel    context.CancelFunc
	reloading bool // a reload runs in the background (mu held)
	again     bool // and another was asked meanwhile (mu held)
	wg        sync.WaitGroup
}

// OpenRoom loads the room from the log (creating its log afresh if it has none) and
// follows it until Close.
func OpenRoom(ctx context.Context, log *Log, name string, cfg RoomConfig) (*Room, error) {
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 100
	}
	if cfg.Wait == 0 {
		cfg.Wait = 5 * time.Second
	}
	if cfg.TurnPause == 0 {
		cfg.TurnPause = defaultTurnPause
	}
	r := &Room{name: name, log: log, cfg: cfg, writer: NewEpoch(), listeners: map[int]func(Update){},
		others: map[string]*writerTimes{}, changed: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	log.follow(r) // first: what the log delivers from now on reaches the room
	l, err := r.load(ctx)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.install(l)
	if err := r.pull(ctx); err != nil { // what came between the load and now
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close stops following the log.
func (r *Room) Close() {
	r.log.unfollow(r)
	r.cancel()
	r.wg.Wait()
}

// Name is the room's name.
func (r *Room) Name() string { return r.name }

// Position is where the replica stands.
func (r *Room) Position() Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos
}

// Subscribe returns the room's view and calls fn with every update after it, in order,
// until cancel. fn is called with the room locked: it must not block (queue and return)
// nor call the room. A member's own events come too, in their place: before Evaluate
// returns, so that is where its reply belongs in the member's queue (the reply carries
// the event's Display and Result); an own event that comes without a pending Evaluate
// (one that answered ErrUnavailable although the log stored it) is an event line.
func (r *Room) Subscribe(fn func(Update)) (View, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.nextID
	r.nextID++
	r.listeners[id] = fn
	return r.viewLocked(), func() {
		r.mu.Lock()
		delete(r.listeners, id)
		r.mu.Unlock()
	}
}

// View returns the room's view.
func (r *Room) View() View {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.viewLocked()
}

func (r *Room) viewLocked() View {
	return View{Room: r.name, Epoch: r.pos.Epoch, Seq: r.pos.Seq, State: r.state.Clone(),
		History: append([]Event(nil), r.history...)}
}

// Evaluate evaluates a member's line against the replica with eval, on s (the member's
// session for room lines: its state is replaced), and stores the outcome as the room's
// next event. When another event was stored first, it catches up and evaluates again, at
// most MaxAttempts times; then, or when the log cannot be used, ErrUnavailable. An error
// of eval is returned as it is: the line is not an event.
func (r *Room) Evaluate(ctx context.Context, member Member, line string, s *calc.Session, eval EvalFunc) (Event, error) {
	r.evalMu.Lock()
	defer r.evalMu.Unlock()
	r.yield()
	member.Transport = ""
	for range MaxAttempts {
		r.mu.Lock()
		if r.broken != nil {
			err := r.broken
			r.mu.Unlock()
			return Event{}, err
		}
		at := r.pos
		s.ShareState(r.replica)
		r.mu.Unlock()
		out, err := eval(ctx, s, line)
		if err != nil {
			return Event{}, err
		}
		ev := Event{Member: member, Input: line, Display: out.Display, Result: out.Result, Effect: out.Effect, Writer: r.writer}
		sent := time.Now()
		_, err = r.log.Append(ctx, r.name, at, &ev)
		r.timeAppend(time.Since(sent))
		if errors.Is(err, ErrConflict) {
			r.askTurn()
			if err := r.catchUp(ctx, at); err != nil {
				return Event{}, err
			}
			continue
		}
		if err != nil {
			return Event{}, err
		}
		r.stored(ctx, at, ev)
		r.lastStored = time.Now()
		return ev, nil
	}
	return Event{}, ErrUnavailable
}

// stored applies the event this instance just stored after at, unless the log already
// delivered it, and keeps the log's snapshots and size in check.
func (r *Room) stored(ctx context.Context, at Position, ev Event) {
	r.mu.Lock()
	if r.pos.streamSeq == at.streamSeq {
		r.applyLocked(ev)
	}
	var snap *Snapshot
	var purgeBelow uint64
	// The snapshot is of the replica as it is now, which the log's consumer may already
	// have taken past ev (another instance's events): waiting for the replica to be at ev
	// exactly skipped snapshots under contention, and a room whose snapshot fell behind
	// the events the log keeps was started afresh at its next load (a reset).
	if r.pos.Epoch == ev.Epoch && r.pos.Seq >= ev.Seq && r.broken == nil {
		if ev.Seq%r.cfg.SnapshotEvery == 0 || r.logBytes > 2*HistoryBytes {
			snap = &Snapshot{Epoch: r.pos.Epoch, Seq: r.pos.Seq, State: r.state.Clone()}
		}
		if r.logBytes > 2*HistoryBytes {
			purgeBelow = r.history[0].streamSeq
			r.logBytes = r.histBytes
		}
	}
	r.mu.Unlock()
	// Best effort: a failed snapshot only makes a later load replay more events, and the
	// log's size is checked again after the next event.
	if snap != nil && r.log.saveSnapshot(ctx, r.name, *snap) == nil && purgeBelow > 0 {
		_ = r.log.stream.Purge(ctx, jetstream.WithPurgeSubject(subject(r.name)), jetstream.WithPurgeSequence(purgeBelow))
	}
}

// catchUp brings the replica up to what the log holds beyond at, which it was refused at.
func (r *Room) catchUp(ctx context.Context, at Position) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Wait)
	defer cancel()
	if err := r.pull(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	moved, broken := r.pos.streamSeq != at.streamSeq, r.broken
	r.mu.Unlock()
	switch {
	case broken != nil:
		return broken
	case moved:
		return nil
	}
	// Nothing after at, yet the log refused it: the room's events were deleted (the room
	// forgotten, or its log lost) or a message is missing: load the room again.
	return r.reload(ctx)
}

// pull reads from the log the room's messages after the replica's position and offers
// them: events the log's consumer may not deliver (before the room followed the log, or
// not yet).
func (r *Room) pull(ctx context.Context) error {
	r.mu.Lock()
	after := r.pos.streamSeq
	r.mu.Unlock()
	evs, err := r.log.eventsAfter(ctx, r.name, after)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		r.offerLocked(ev)
	}
	return nil
}

// receive handles a message of the room's subject from the log's consumer.
func (r *Room) receive(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		return
	}
	ev, err := decodeEvent(msg.Data(), md.Sequence.Stream)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.requestReloadLocked()
		return
	}
	r.offerLocked(ev)
}

// offerLocked takes a message of the room's subject: the next event is applied, one
// already applied is ignored, a start mark begins the new epoch, and anything else (a
// gap) has the room loaded again.
func (r *Room) offerLocked(ev Event) {
	switch {
	case !r.ready || ev.streamSeq <= r.pos.streamSeq:
	case ev.Mark != "":
		r.markLocked(ev)
	case ev.Epoch == r.pos.Epoch && ev.Seq == r.pos.Seq+1:
		if ev.Writer != r.writer {
			r.writerLocked(ev.Writer).stored = time.Now()
		}
		r.applyLocked(ev)
	case ev.Seq == 0: // the room's log was created afresh
		r.resetLocked(fresh(Position{Epoch: ev.Epoch, streamSeq: ev.streamSeq}, nil, r.cfg.Limits))
	default:
		r.requestReloadLocked()
	}
}

// applyLocked applies the next event and hands it to the members.
func (r *Room) applyLocked(ev Event) {
	if err := r.replica.Apply(ev.Effect); err != nil {
		// Only an instance set with lower limits than the one that evaluated the line can
		// get here: the replica cannot follow the room.
		r.setBrokenLocked(unavailable(err))
		return
	}
	r.state.Apply(ev.Effect)
	r.pos = Position{Epoch: ev.Epoch, Seq: ev.Seq, streamSeq: ev.streamSeq}
	r.logBytes += ev.size
	r.history, r.histBytes = trimHistory(append(r.history, ev), r.histBytes+ev.size)
	ev.message = new(encodedMessage) // one encoding for all the listeners, not the history's copy
	for _, fn := range r.listeners {
		fn(Update{Event: &ev})
	}
	r.signalLocked()
}

// trimHistory drops the oldest events until at most HistoryEvents and HistoryBytes are
// left (but the last event, whatever its size).
func trimHistory(h []Event, bytes int) ([]Event, int) {
	drop := 0
	for len(h)-drop > 1 && (len(h)-drop > HistoryEvents || bytes > HistoryBytes) {
		bytes -= h[drop].size
		drop++
	}
	if drop > 0 {
		h = append([]Event(nil), h[drop:]...)
	}
	return h, bytes
}

func (r *Room) setBrokenLocked(err error) {
	r.broken = err
	r.signalLocked()
}

func (r *Room) signalLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// reload loads the room again, installs it, and pulls what came meanwhile.
func (r *Room) reload(ctx context.Context) error {
	l, err := r.load(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.reloaded(l)
	r.mu.Unlock()
	return r.pull(ctx)
}

// requestReloadLocked has the room loaded again in the background, once at a time.
func (r *Room) requestReloadLocked() {
	if r.reloading {
		r.again = true
		return
	}
	r.reloading = true
	r.wg.Add(1)
	go r.reloadInBackground()
}

// reloadInBackground reloads until a reload succeeds with none asked meanwhile, retrying
// every second while the log fails (the replica is broken meanwhile), or the room closes.
func (r *Room) reloadInBackground() {
	defer r.wg.Done()
	for {
		ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Wait)
		err := r.reload(ctx)
		cancel()
		r.mu.Lock()
		if err != nil && r.ctx.Err() == nil {
			r.setBrokenLocked(err)
			r.again = true
		}
		if !r.again || r.ctx.Err() != nil {
			r.reloading = false
			r.mu.Unlock()
			return
		}
		r.again = false
		r.mu.Unlock()
		if err != nil {
			select {
			case <-r.ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// reloaded installs a fresh load unless the replica is as far already: the members get
// the events they missed, or the new view when the epoch changed.
func (r *Room) reloaded(l loaded) {
	sameEpoch := l.pos.Epoch == r.pos.Epoch
	if sameEpoch && l.pos.Seq <= r.pos.Seq && r.broken == nil {
		return
	}
	var missed []Event
	if sameEpoch {
		for _, ev := range l.history {
			if ev.Seq > r.pos.Seq {
				missed = append(missed, ev)
			}
		}
	}
	if !sameEpoch {
		r.resetLocked(l)
		return
	}
	r.installLocked(l)
	for _, ev := range missed {
		ev.message = new(encodedMessage)
		for _, fn := range r.listeners {
			fn(Update{Event: &ev})
		}
	}
}

// resetLocked installs the replica of a new epoch, and gives the members its view.
func (r *Room) resetLocked(l loaded) {
	r.installLocked(l)
	v := r.viewLocked()
	for _, fn := range r.listeners {
		fn(Update{Reset: &v})
	}
}

func (r *Room) install(l loaded) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.installLocked(l)
}

func (r *Room) installLocked(l loaded) {
	r.pos, r.replica, r.state = l.pos, l.replica, l.state
	r.history, r.histBytes, r.logBytes = l.history, l.histBytes, l.logBytes
	r.broken, r.ready = nil, true
	if l.started {
		r.startedAt = l.pos.streamSeq
	}
	r.signalLocked()
}
