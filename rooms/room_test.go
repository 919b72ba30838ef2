package rooms

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"wscalc/calc"
)

// evalLine is the evaluation a transport does, without the scheduler: every line that
// reaches the calculator is an event.
func evalLine(ctx context.Context, s *calc.Session, line string) (Outcome, error) {
	res, err := s.EvalContext(ctx, line)
	display := res.Display
	if err != nil {
		display = err.Error()
	}
	return Outcome{Display: display, Effect: s.EffectOf(res, err)}, nil
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openRoom(t *testing.T, log *Log, name string, cfg RoomConfig) *Room {
	t.Helper()
	r, err := OpenRoom(testContext(t), log, name, cfg)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return r
}

// member is one member's side of a room: its session and what it received.
type member struct {
	Member
	session calc.Session
	mu      sync.Mutex
	events  []Event
	resets  []View
	view    View
}

func join(t *testing.T, r *Room, id, nick string) *member {
	m := &member{Member: Member{ID: id, Nick: nick}}
	var cancel func()
	m.view, cancel = r.Subscribe(func(u Update) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if u.Event != nil {
			m.events = append(m.events, *u.Event)
		} else {
			m.resets = append(m.resets, *u.Reset)
		}
	})
	t.Cleanup(cancel)
	return m
}

func (m *member) say(t *testing.T, r *Room, line string) Event {
	t.Helper()
	ev, err := r.Evaluate(testContext(t), m.Member, line, &m.session, evalLine)
	require.NoError(t, err, line)
	return ev
}

func (m *member) received() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

func vars(t *testing.T, st calc.State) string {
	var s calc.Session
	require.NoError(t, s.Restore(st))
	res, err := s.Eval("vars")
	require.NoError(t, err)
	return res.Display
}

func TestRoomEvents(t *testing.T) {
	ts := startServer(t)
	r := openRoom(t, ts.instance(), "lab", RoomConfig{})
	view := r.View()
	assert.True(t, ValidEpoch(view.Epoch), view.Epoch)
	assert.Zero(t, view.Seq)
	alice := join(t, r, "3fa2c81d09b7e654", "alice")
	bob := join(t, r, "81c07a3e5d2f9b10", "bob")

	ev := alice.say(t, r, "x = 1/3")
	assert.Equal(t, uint64(1), ev.Seq)
	assert.Equal(t, view.Epoch, ev.Epoch)
	assert.Equal(t, "x = 1/3 ≈ 0.33333333333333333333", ev.Display)
	assert.Equal(t, Member{ID: "3fa2c81d09b7e654", Nick: "alice"}, ev.Member)
	assert.Equal(t, "1", bob.say(t, r, "x * 3").Display)
	assert.Equal(t, "2", alice.say(t, r, "* 2").Display, "continues the room's last result, whoever produced it")
	ev = bob.say(t, r, "y = x / 0")
	assert.Equal(t, "Error at column 7: division by zero", ev.Display)
	assert.Equal(t, uint64(4), ev.Seq, "an error is an event")

	for _, m := range []*member{alice, bob} {
		got := m.received()
		require.Len(t, got, 4)
		for i, ev := range got {
			assert.Equal(t, uint64(i+1), ev.Seq)
		}
	}
	view = r.View()
	assert.Equal(t, uint64(4), view.Seq)
	assert.Equal(t, "x = 1/3 ≈ 0.33333333333333333333", vars(t, view.State))
	require.NotNil(t, view.State.Ans)
	assert.Equal(t, "2", view.State.Ans.Value)
	assert.Len(t, view.History, 4)
	assert.Equal(t, "# 2 bob: x * 3 → 1", EventLine(view.History[1].Seq, view.History[1].Member.Nick, view.History[1].Input, view.History[1].Display))
}

// A line refused before evaluation is not an event: nothing is stored.
func TestRoomRefusalIsNotAnEvent(t *testing.T) {
	ts := startServer(t)
	r := openRoom(t, ts.instance(), "lab", RoomConfig{})
	var s calc.Session
	refused := &Error{Msg: "session budget exhausted, try again in 3 s"}
	_, err := r.Evaluate(testContext(t), Member{ID: "1", Nick: "a"}, "2+2", &s,
		func(context.Context, *calc.Session, string) (Outcome, error) { return Outcome{}, refused })
	assert.Equal(t, refused, err)
	assert.Zero(t, r.View().Seq)
}

func TestAppendConflict(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	ctx := testContext(t)
	at, err := log.start(ctx, "lab", 0)
	require.NoError(t, err)
	_, err = log.start(ctx, "lab", 0)
	require.ErrorIs(t, err, ErrConflict, "one instance creates the room's log")
	next, err := log.Append(ctx, "lab", at, &Event{Input: "1"})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), next.Seq)
	_, err = log.Append(ctx, "lab", at, &Event{Input: "2"})
	require.ErrorIs(t, err, ErrConflict, "the room moved on")
	assert.Equal(t, uint64(1), log.Conflicts(), "an append refused; the start's conflict is not a line's")
	// Another room's events do not move this one.
	_, err = log.Append(ctx, "other", Position{Epoch: "e"}, &Event{Input: "3"})
	require.NoError(t, err)
	next2, err := log.Append(ctx, "lab", next, &Event{Input: "4"})
	require.NoError(t, err)
	assert.Equal(t, uint64(2), next2.Seq)
}

// Three instances' replicas of one room, ten members writing at once: every member of
// each sees every event once, in seq order, and no increment is lost: x ends equal to the
// increments stored (a line refused with rooms unavailable was not stored: Evaluate
// returns once the log answered).
func TestConcurrentWritersThreeReplicas(t *testing.T) {
	ts := startServer(t)
	var rooms []*Room
	var watchers []*member
	for i := range 3 {
		r := openRoom(t, ts.instance(), "lab", RoomConfig{})
		rooms = append(rooms, r)
		watchers = append(watchers, join(t, r, fmt.Sprint("w", i), fmt.Sprint("w", i)))
	}
	first := &member{Member: Member{ID: "init", Nick: "init"}}
	first.say(t, rooms[0], "x = 0")

	const writers, increments = 10, 20
	var attempts, stored, refused atomic.Int64
	counting := func(ctx context.Context, s *calc.Session, line string) (Outcome, error) {
		attempts.Add(1)
		out, err := evalLine(ctx, s, line)
		out.Result = []byte(`{"type":"result","display":"` + out.Display + `"}`)
		return out, err
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &member{Member: Member{ID: fmt.Sprint(w), Nick: fmt.Sprint("n", w)}}
			for range increments {
				_, err := rooms[w%3].Evaluate(testContext(t), m.Member, "x = x + 1", &m.session, counting)
				if err != nil {
					assert.True(t, IsUnavailable(err), "%v", err)
					refused.Add(1)
					continue
				}
				stored.Add(1)
			}
		}()
	}
	wg.Wait()
	total := uint64(1 + stored.Load())
	for i, r := range rooms {
		require.Eventually(t, func() bool { return r.Position().Seq == total }, 10*time.Second, 5*time.Millisecond, "replica %d", i)
		assert.Equal(t, fmt.Sprintf("x = %d", stored.Load()), vars(t, r.View().State), "replica %d lost an increment", i)
	}
	for i, w := range watchers {
		require.Eventually(t, func() bool { return len(w.received()) == int(total) }, 10*time.Second, 5*time.Millisecond)
		for j, ev := range w.received() {
			require.Equal(t, uint64(j+1), ev.Seq, "watcher %d: a gap or a repeat", i)
			if j > 0 {
				assert.JSONEq(t, `{"type":"result","display":"`+ev.Display+`"}`, string(ev.Result), "the sender's JSON reply travels with the event")
			}
		}
	}
	assert.Less(t, refused.Load(), int64(writers*increments/10), "most lines get through")
	t.Logf("%d lines: %d stored, %d refused; %d evaluations (%d retries)", writers*increments,
		stored.Load(), refused.Load(), attempts.Load(), attempts.Load()-writers*increments)
}

// A line that loses the race is evaluated again against the state after the winner.
func TestConflictRetry(t *testing.T) {
	ts := startServer(t)
	a := openRoom(t, ts.instance(), "lab", RoomConfig{})
	b := openRoom(t, ts.instance(), "lab", RoomConfig{})
	alice, bob := join(t, a, "a", "alice"), join(t, b, "b", "bob")
	alice.say(t, a, "x = 1")
	require.Eventually(t, func() bool { return b.Position().Seq == 1 }, 5*time.Second, time.Millisecond)

	var calls []string
	sneaky := func(ctx context.Context, s *calc.Session, line string) (Outcome, error) {
		res, _ := s.Eval("x")
		calls = append(calls, res.Display)
		if len(calls) == 1 { // alice stores an event while bob's line is being evaluated
			alice.say(t, a, "x = 10")
		}
		return evalLine(ctx, s, line)
	}
	ev, err := b.Evaluate(testContext(t), bob.Member, "x * 2", &bob.session, sneaky)
	require.NoError(t, err)
	assert.Equal(t, []string{"1", "10"}, calls, "evaluated again after catching up")
	assert.Equal(t, "20", ev.Display)
	assert.Equal(t, uint64(3), ev.Seq)
}

// A room too contended for a line to get through answers rooms unavailable.
func TestConflictRetriesAreBounded(t *testing.T) {
	ts := startServer(t)
	a := openRoom(t, ts.instance(), "lab", RoomConfig{})
	b := openRoom(t, ts.instance(), "lab", RoomConfig{})
	alice, bob := join(t, a, "a", "alice"), join(t, b, "b", "bob")
	calls := 0
	always := func(ctx context.Context, s *calc.Session, line string) (Outcome, error) {
		calls++
		alice.say(t, a, "1")
		return evalLine(ctx, s, line)
	}
	_, err := b.Evaluate(testContext(t), bob.Member, "2", &bob.session, always)
	require.Error(t, err)
	assert.Equal(t, "Error: rooms unavailable, try again", err.Error())
	assert.Equal(t, MaxAttempts, calls)
}

// A replica starting late loads the latest snapshot and the events after it, not the
// whole log: here the events before the snapshot are gone from the log.
func TestSnapshotAndCatchUp(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	a := openRoom(t, log, "lab", RoomConfig{SnapshotEvery: 5})
	alice := join(t, a, "a", "alice")
	alice.say(t, a, "x = 1")
	for range 11 {
		alice.say(t, a, "x = x * 2")
	}
	ctx := testContext(t)
	epoch := a.View().Epoch
	snap, ok, err := log.snapshot(ctx, "lab", epoch)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, uint64(10), snap.Seq)
	assert.Equal(t, "x = 512", vars(t, snap.State))
	// Drop its start and events 1-9 from the log: only the snapshot knows them.
	evs, err := log.events(ctx, "lab")
	require.NoError(t, err)
	require.NoError(t, purgeBelow(ctx, log, evs[10].streamSeq))

	b := openRoom(t, ts.instance(), "lab", RoomConfig{SnapshotEvery: 5})
	view := b.View()
	assert.Equal(t, epoch, view.Epoch)
	assert.Equal(t, uint64(12), view.Seq)
	assert.Equal(t, "x = 2048", vars(t, view.State))
	assert.Equal(t, uint64(10), view.History[0].Seq, "the history is what the log kept")
	bob := join(t, b, "b", "bob")
	assert.Equal(t, "x = 4096", bob.say(t, b, "x = x * 2").Display)
	assert.Equal(t, uint64(14), bob.say(t, b, "x").Seq)
}

// A load that reads a busy room's log can miss events at its start (the log drops the
// oldest while they are read one by one): a hole before the snapshot loses nothing, and
// the room is loaded, not started afresh; the history starts after the hole.
func TestHoleBeforeTheSnapshotIsNoReset(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	a := openRoom(t, log, "lab", RoomConfig{SnapshotEvery: 5})
	alice := join(t, a, "a", "alice")
	alice.say(t, a, "x = 1")
	for range 11 {
		alice.say(t, a, "x = x * 2")
	}
	epoch := a.View().Epoch
	ctx := testContext(t)
	evs, err := log.events(ctx, "lab")
	require.NoError(t, err)
	require.Equal(t, uint64(4), evs[4].Seq) // evs[0] is the start mark
	require.NoError(t, log.stream.DeleteMsg(ctx, evs[4].streamSeq))

	view := openRoom(t, ts.instance(), "lab", RoomConfig{SnapshotEvery: 5}).View()
	assert.Equal(t, epoch, view.Epoch, "the room was started afresh")
	assert.Equal(t, uint64(12), view.Seq)
	assert.Equal(t, "x = 2048", vars(t, view.State))
	require.NotEmpty(t, view.History)
	assert.Equal(t, uint64(5), view.History[0].Seq, "the history starts after the hole")
}

// Under contention the log's consumer may take a replica past the event it has just
// stored before it saves the snapshot due at that event. The snapshot is then of the
// replica as it is, never skipped: a room whose snapshots fall behind the events the log
// keeps is started afresh at its next load (its members see it reset).
func TestSnapshotAfterTheReplicaMovedOn(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	a := openRoom(t, log, "lab", RoomConfig{SnapshotEvery: 5})
	b := openRoom(t, ts.instance(), "lab", RoomConfig{SnapshotEvery: 1000})
	alice, bob := join(t, a, "a", "alice"), join(t, b, "b", "bob")
	for i := range 4 {
		alice.say(t, a, fmt.Sprintf("x = %d", i))
	}
	a.mu.Lock()
	at := a.pos // seq 4
	a.mu.Unlock()
	ev5 := bob.say(t, b, "x = x + 1")
	bob.say(t, b, "x = x + 1")
	require.Eventually(t, func() bool { return a.View().Seq == 6 }, 5*time.Second, time.Millisecond)

	ctx := testContext(t)
	a.stored(ctx, at, ev5) // as if a had stored event 5, its consumer first with 5 and 6
	snap, ok, err := log.snapshot(ctx, "lab", a.View().Epoch)
	require.NoError(t, err)
	require.True(t, ok, "the snapshot due at event 5 was skipped")
	assert.Equal(t, uint64(6), snap.Seq)
	assert.Equal(t, "x = 5", vars(t, snap.State))
}

// Without a snapshot covering the missing events, the room cannot be recovered: its log
// is created afresh, with a new epoch.
func TestUnrecoverableLogStartsAfresh(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	a := openRoom(t, log, "lab", RoomConfig{SnapshotEvery: 50})
	alice := join(t, a, "a", "alice")
	for i := range 4 {
		alice.say(t, a, fmt.Sprintf("x = %d", i))
	}
	old := a.View().Epoch
	ctx := testContext(t)
	evs, err := log.events(ctx, "lab")
	require.NoError(t, err)
	require.NoError(t, purgeBelow(ctx, log, evs[2].streamSeq))

	b := openRoom(t, ts.instance(), "lab", RoomConfig{})
	view := b.View()
	assert.NotEqual(t, old, view.Epoch)
	assert.Zero(t, view.Seq)
	assert.Empty(t, view.History)
	assert.Equal(t, "no variables", vars(t, view.State))
	// The first replica finds out at its next line, and its members get the new view.
	ev := alice.say(t, a, "y = 5")
	assert.Equal(t, view.Epoch, ev.Epoch)
	assert.Equal(t, uint64(1), ev.Seq)
	alice.mu.Lock()
	defer alice.mu.Unlock()
	require.Len(t, alice.resets, 1)
	assert.Equal(t, view.Epoch, alice.resets[0].Epoch)
}

// A lost log (here: every message of the room deleted) is created afresh with a new
// epoch, never reusing seqs within the old one; a replica still in the old epoch finds
// out at its next line, and its members get the new view.
func TestLostLogStartsAfresh(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	a := openRoom(t, log, "lab", RoomConfig{})
	alice := join(t, a, "a", "alice")
	alice.say(t, a, "x = 1")
	old := a.View().Epoch
	ctx := testContext(t)
	require.NoError(t, log.stream.Purge(ctx, jetstream.WithPurgeSubject(subject("lab"))))
	b := openRoom(t, ts.instance(), "lab", RoomConfig{})
	assert.NotEqual(t, old, b.View().Epoch)
	assert.Zero(t, b.View().Seq)
	ev := alice.say(t, a, "y = 2")
	assert.Equal(t, b.View().Epoch, ev.Epoch)
	assert.Equal(t, uint64(1), ev.Seq)
	alice.mu.Lock()
	defer alice.mu.Unlock()
	require.Len(t, alice.resets, 1)
	assert.Equal(t, "no variables", vars(t, alice.resets[0].State))
}

func TestForgetAndExists(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	ctx := testContext(t)
	_, ok, err := log.Exists(ctx, "lab")
	require.NoError(t, err)
	assert.False(t, ok, "reading a room does not create it")
	a := openRoom(t, log, "lab", RoomConfig{SnapshotEvery: 1})
	alice := join(t, a, "a", "alice")
	alice.say(t, a, "x = 1")
	at, ok, err := log.Exists(ctx, "lab")
	require.NoError(t, err)
	require.True(t, ok)
	epoch := at.Epoch
	assert.Equal(t, uint64(1), at.Seq)
	require.NoError(t, log.Forget(ctx, "lab", "another epoch"))
	_, ok, _ = log.Exists(ctx, "lab")
	assert.True(t, ok, "only the epoch named is forgotten")
	require.NoError(t, log.Forget(ctx, "lab", epoch))
	_, ok, err = log.Exists(ctx, "lab")
	require.NoError(t, err)
	assert.False(t, ok)
	evs, err := log.events(ctx, "lab")
	require.NoError(t, err)
	assert.Empty(t, evs)
	_, ok, err = log.snapshot(ctx, "lab", epoch)
	require.NoError(t, err)
	assert.False(t, ok)
	// A replica still open finds a new room at its next line.
	ev := alice.say(t, a, "x")
	assert.Equal(t, "Error at column 1: unknown name 'x'", ev.Display)
	assert.Equal(t, uint64(1), ev.Seq)
	assert.NotEqual(t, epoch, ev.Epoch)
}

// The history keeps at most HistoryBytes: the oldest go first, and recovery needs the
// events it dropped.
func TestHistoryBytes(t *testing.T) {
	ts := startServer(t)
	r := openRoom(t, ts.instance(), "lab", RoomConfig{})
	m := join(t, r, "a", "a")
	big := "x = 10 ** 40000" // a reply of about 40 KB of value
	var s calc.Session
	s.ExactValue = true
	exact := func(ctx context.Context, _ *calc.Session, line string) (Outcome, error) {
		return evalLine(ctx, &s, line)
	}
	for range 40 {
		_, err := r.Evaluate(testContext(t), m.Member, big, &m.session, exact)
		require.NoError(t, err)
	}
	v := r.View()
	size := 0
	for _, ev := range v.History {
		size += ev.size
	}
	assert.LessOrEqual(t, size, HistoryBytes)
	assert.Less(t, len(v.History), 40)
	assert.Equal(t, uint64(40), v.History[len(v.History)-1].Seq)
	_, ok := v.Since(v.Epoch, 0)
	assert.False(t, ok, "event 1 is no longer kept")
	evs, ok := v.Since(v.Epoch, v.History[0].Seq-1)
	assert.True(t, ok)
	assert.Len(t, evs, len(v.History))
}

func TestViewSince(t *testing.T) {
	v := View{Epoch: "E", Seq: 7, History: []Event{{Seq: 4}, {Seq: 5}, {Seq: 6}, {Seq: 7}}}
	for _, tc := range []struct {
		epoch     string
		since     uint64
		recovered bool
		first     uint64
		n         int
	}{
		{"E", 7, true, 0, 0},
		{"E", 6, true, 7, 1},
		{"E", 3, true, 4, 4}, // oldest kept seq - 1
		{"E", 2, false, 0, 0},
		{"E", 8, false, 0, 0}, // ahead
		{"F", 7, false, 0, 0}, // another epoch
		{"", 0, false, 0, 0},
	} {
		evs, ok := v.Since(tc.epoch, tc.since)
		assert.Equal(t, tc.recovered, ok, "%+v", tc)
		assert.Len(t, evs, tc.n, "%+v", tc)
		if tc.n > 0 {
			assert.Equal(t, tc.first, evs[0].Seq)
		}
	}
	fresh := View{Epoch: "E"}
	evs, ok := fresh.Since("E", 0)
	assert.True(t, ok)
	assert.Empty(t, evs)
	assert.Len(t, v.Last(2), 2)
	assert.Equal(t, uint64(6), v.Last(2)[0].Seq)
	assert.Len(t, v.Last(20), 4)
}

func purgeBelow(ctx context.Context, log *Log, streamSeq uint64) error {
	return log.stream.Purge(ctx, jetstream.WithPurgeSubject(subject("lab")), jetstream.WithPurgeSequence(streamSeq))
}

// The log keeps about twice HistoryBytes of a room: beyond, the instance storing an event
// takes a snapshot and deletes the events older than the history.
func TestLogBytesAreBounded(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	r := openRoom(t, log, "lab", RoomConfig{})
	m := join(t, r, "a", "a")
	for i := range 14 {
		ev := m.say(t, r, fmt.Sprintf("x = 10 ** 200000 + %d", i)) // 166 KB of value each
		require.Greater(t, ev.size, 150_000)
	}
	ctx := testContext(t)
	evs, err := log.events(ctx, "lab")
	require.NoError(t, err)
	size := 0
	for _, ev := range evs {
		size += ev.size
	}
	assert.LessOrEqual(t, size, 2*HistoryBytes+300_000)
	assert.Greater(t, evs[0].Seq, uint64(1), "the oldest events are gone from the log")
	b := openRoom(t, ts.instance(), "lab", RoomConfig{})
	assert.Equal(t, uint64(14), b.View().Seq)
	assert.Equal(t, r.View().State, b.View().State)
}

// Reading a room (GET /api/rooms/NAME) neither creates it nor moves it.
func TestPeek(t *testing.T) {
	ts := startServer(t)
	log := ts.instance()
	ctx := testContext(t)
	_, ok, err := log.Peek(ctx, "lab", calc.Limits{})
	require.NoError(t, err)
	assert.False(t, ok)
	_, ok, err = log.Exists(ctx, "lab")
	require.NoError(t, err)
	assert.False(t, ok, "peeking created nothing")
	r := openRoom(t, log, "lab", RoomConfig{})
	m := join(t, r, "a", "alice")
	m.say(t, r, "x = 1/3")
	m.say(t, r, "* 3")
	v, ok, err := log.Peek(ctx, "lab", calc.Limits{})
	require.NoError(t, err)
	require.True(t, ok)
	want := r.View()
	assert.Equal(t, want.Epoch, v.Epoch)
	assert.Equal(t, uint64(2), v.Seq)
	assert.Equal(t, want.State, v.State)
	assert.Len(t, v.History, 2)
}

// A member's own event reaches its listener in its place, before Evaluate returns: the
// session layer queues the reply there, merged in seq order with the others' events.
func TestOwnEventBeforeEvaluateReturns(t *testing.T) {
	ts := startServer(t)
	r := openRoom(t, ts.instance(), "lab", RoomConfig{})
	alice := join(t, r, "a", "alice")
	for i := range 20 {
		ev := alice.say(t, r, fmt.Sprintf("x = %d", i))
		got := alice.received()
		require.Len(t, got, i+1)
		assert.Equal(t, ev.Seq, got[i].Seq)
		assert.Equal(t, "a", got[i].Member.ID)
	}
}

// A member joining while others write gets a view and then every later event once, in
// order: no gap between the view and the updates.
func TestSubscribeWhileWriting(t *testing.T) {
	ts := startServer(t)
	a := openRoom(t, ts.instance(), "lab", RoomConfig{})
	b := openRoom(t, ts.instance(), "lab", RoomConfig{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range []*Room{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &member{Member: Member{ID: fmt.Sprint(i)}}
			for {
				select {
				case <-done:
					return
				default:
				}
				_, err := r.Evaluate(testContext(t), m.Member, "1", &m.session, evalLine)
				assert.NoError(t, err)
			}
		}()
	}
	var joiners []*member
	for i := range 10 {
		time.Sleep(5 * time.Millisecond)
		joiners = append(joiners, join(t, []*Room{a, b}[i%2], fmt.Sprint("j", i), "j"))
	}
	time.Sleep(20 * time.Millisecond)
	close(done)
	wg.Wait()
	final := lastSeq(t, a.log)
	for _, r := range []*Room{a, b} {
		require.Eventually(t, func() bool { return r.Position().Seq == final }, 5*time.Second, time.Millisecond)
	}
	for i, j := range joiners {
		require.Eventually(t, func() bool {
			got := j.received()
			return len(got) > 0 && got[len(got)-1].Seq == final
		}, 5*time.Second, time.Millisecond)
		next := j.view.Seq + 1
		for _, ev := range j.received() {
			require.Equal(t, next, ev.Seq, "joiner %d", i)
			next++
		}
	}
}

// lastSeq is the seq of the room lab's last event in the log.
func lastSeq(t *testing.T, log *Log) uint64 {
	at, ok, err := log.Exists(testContext(t), "lab")
	require.NoError(t, err)
	require.True(t, ok)
	return at.Seq
}

// A line the log cannot take is refused in the contract's words alone (rooms.md §12): the
// log's own error ("nats: connection closed") stays the cause, not part of the reply.
func TestUnavailableLogRefusesInTheContractsWords(t *testing.T) {
	ts := startServer(t)
	nc := ts.Conn()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	log, err := OpenLog(testContext(t), js, LogConfig{Replicas: 1, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(log.Close)
	r := openRoom(t, log, "lab", RoomConfig{Wait: time.Second})
	nc.Close()
	var s calc.Session
	_, err = r.Evaluate(testContext(t), Member{ID: "1", Nick: "a"}, "1 + 1", &s, evalLine)
	require.Error(t, err)
	assert.True(t, IsUnavailable(err), "%v", err)
	assert.ErrorIs(t, err, nats.ErrConnectionClosed)
	assert.Equal(t, "Error: rooms unavailable, try again", err.Error())
	var refusal *Error
	require.ErrorAs(t, err, &refusal)
	assert.Equal(t, ErrUnavailable, refusal) // its close reason and code for a URL join
}
