package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"wscalc/client"
	"wscalc/rooms"
	"wscalc/wire"
)

// RoomIncrement is the line every room writer sends (with a comment that names the line):
// as a fan-out load each is one event; as a contention load no increment may be lost, so
// the last value equals the number of increments.
const RoomIncrement = "x = x + 1"

// RoomConfig is a fan-out load on one room (wscalc bench -room NAME): Members WebSocket
// members in JSON mode, Writers of them sending RoomIncrement, every member checking that
// it saw every event exactly once, in seq order.
type RoomConfig struct {
	// Addrs are the WebSocket endpoints (ws://host:port/ws or host:port), one per server
	// of a cluster: member i joins through Addrs[i % len(Addrs)], so the members, and the
	// writers (the first Writers members), are spread round-robin.
	Addrs    []string
	Room     string        // the room's name (rooms.RoomName's rule)
	Members  int           // members, writers included
	Writers  int           // members that send lines
	Rate     float64       // lines/s over all writers; 0: each writer sends its next line on its reply
	Duration time.Duration // how long the writers send
	Settle   time.Duration // how long to wait after the load for the last events to arrive
	// OnLoad, if set, is called when every member has joined and the writers start, and
	// the function it returns when the last events have arrived: the window of Elapsed,
	// for a caller that measures the servers over the load alone (tools/roomfan: CPU).
	OnLoad func() (done func())
}

// Check reports a configuration RunRoom cannot run: an invalid room name (the rooms
// package's message), writers not from 1 to members, or no address.
func (cfg RoomConfig) Check() error {
	if _, err := rooms.RoomName(cfg.Room); err != nil {
		return err
	}
	if cfg.Writers < 1 || cfg.Writers > cfg.Members {
		return fmt.Errorf("writers must be 1 to members (%d), not %d", cfg.Members, cfg.Writers)
	}
	if len(cfg.Addrs) == 0 {
		return errors.New("no server address")
	}
	return nil
}

// RoomSummary is the outcome of a room load.
type RoomSummary struct {
	Members    int           `json:"members"`
	Writers    int           `json:"writers"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	Sent       int64         `json:"sent"`        // lines the writers sent
	Events     int64         `json:"events"`      // of those, stored as events (a reply with seq)
	Deliveries int64         `json:"deliveries"`  // events received, own replies included, over all members
	DeliveryPS float64       `json:"delivery_ps"` // Deliveries per second of Elapsed
	// Latency from a writer's send to the last member's receipt, of the events every
	// member received.
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
	// Errors: each counts against the run.
	Missing      int64    `json:"missing"`      // seqs a member skipped (a gap)
	OutOfOrder   int64    `json:"out_of_order"` // seqs a member got again or after a later one
	Incomplete   int64    `json:"incomplete"`   // events some member never received
	Resets       int64    `json:"resets"`       // room messages after the join: the room was reset
	ErrorReplies int64    `json:"error_replies"`
	FinalX       int64    `json:"final_x"`            // the last increment's value
	Increments   int64    `json:"increments"`         // successful increments; FinalX must equal it
	Failures     []string `json:"failures,omitempty"` // connections that failed
	// ErrorTexts are the first error replies' texts (at most maxErrorTexts, as the
	// summary of a plain load lists).
	ErrorTexts []string `json:"error_texts,omitempty"`
}

// OK reports whether every member saw every event once, in order, and no update was lost.
func (s *RoomSummary) OK() bool {
	return s.Missing == 0 && s.OutOfOrder == 0 && s.Incomplete == 0 && s.Resets == 0 && s.ErrorReplies == 0 &&
		s.FinalX == s.Increments && len(s.Failures) == 0
}

// WriteText prints the summary for people.
func (s *RoomSummary) WriteText(w io.Writer) {
	sec := s.Elapsed.Seconds()
	fmt.Fprintf(w, "room: %d members, %d writers, %.1f s\n", s.Members, s.Writers, sec)
	fmt.Fprintf(w, "lines sent %d, events %d (%.0f/s), deliveries %d (%.0f/s)\n",
		s.Sent, s.Events, float64(s.Events)/sec, s.Deliveries, s.DeliveryPS)
	fmt.Fprintf(w, "send → last member: p50 %v  p99 %v  max %v\n", s.P50, s.P99, s.Max)
	fmt.Fprintf(w, "missing %d, out of order or repeated %d, not received by all %d, resets %d, error replies %d\n",
		s.Missing, s.OutOfOrder, s.Incomplete, s.Resets, s.ErrorReplies)
	fmt.Fprintf(w, "increments %d, final x %d", s.Increments, s.FinalX)
	if s.FinalX != s.Increments {
		fmt.Fprint(w, " (lost updates!)")
	}
	fmt.Fprintln(w)
	for _, f := range s.Failures {
		fmt.Fprintf(w, "failed: %s\n", f)
	}
	for _, e := range s.ErrorTexts {
		fmt.Fprintf(w, "error reply: %s\n", e)
	}
}

// roomMsg is what a member reads: every field of the messages it checks.
type roomMsg struct {
	Type  string `json:"type"`
	Seq   uint64 `json:"seq"`
	Value string `json:"value"`
	// Display is an error reply's text.
	Display string `json:"display"`
}

// roomEvent is one event's receipts, by seq: members count it without a lock (100 000
// receipts a second at 1 000 members).
type roomEvent struct {
	got  atomic.Int64 // members that received it
	last atomic.Int64 // the last receipt, unix ns
	sent atomic.Int64 // when its writer sent it, unix ns; 0 for a line not a writer's
}

// roomRun is the shared state of a room load.
type roomRun struct {
	cfg RoomConfig

	events sync.Map // seq → *roomEvent

	mu         sync.Mutex
	errorTexts []string

	closing atomic.Bool // the load is over: RunRoom closes the connections

	sent, answered, stored, deliveries, missing, outOfOrder, errReplies, increments, finalX, resets atomic.Int64
	maxSeq                                                                                          atomic.Uint64
}

// event returns seq's receipts, made on first use.
func (r *roomRun) event(seq uint64) *roomEvent {
	if ev, ok := r.events.Load(seq); ok {
		return ev.(*roomEvent)
	}
	ev, _ := r.events.LoadOrStore(seq, &roomEvent{})
	return ev.(*roomEvent)
}

// roomMember is one member's connection and its view of the order.
type roomMember struct {
	run  *roomRun
	c    *websocket.Conn
	buf  bytes.Buffer  // the message being read, reused
	next uint64        // the seq expected next
	seen atomic.Uint64 // the last seq received
	own  chan roomMsg  // a writer's own replies
}

// RunRoom runs a fan-out load on one room.
func RunRoom(ctx context.Context, cfg RoomConfig) (*RoomSummary, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Settle == 0 {
		cfg.Settle = 5 * time.Second
	}
	r := &roomRun{cfg: cfg}
	sum := &RoomSummary{Members: cfg.Members, Writers: cfg.Writers}
	members, err := r.join(ctx)
	var readers sync.WaitGroup
	stop := func() { // ends every connection and waits for its reader
		r.closing.Store(true)
		for _, m := range members {
			m.c.CloseNow()
		}
		readers.Wait()
	}
	if err != nil {
		stop()
		return nil, err
	}
	failures := make(chan string, cfg.Members)
	for i, m := range members {
		readers.Add(1)
		go func() {
			defer readers.Done()
			if err := m.read(ctx); err != nil && ctx.Err() == nil {
				failures <- fmt.Sprintf("member %d: %v", i, err)
			}
		}()
	}
	// x starts at 0, as an event every member sees.
	if err := members[0].ask(ctx, r, "x = 0 # bench start"); err != nil {
		stop()
		return nil, err
	}
	done := func() {}
	if cfg.OnLoad != nil {
		done = cfg.OnLoad()
	}
	start := time.Now()
	r.write(ctx, members[:cfg.Writers])
	r.settle(ctx, members)
	sum.Elapsed = time.Since(start)
	done()
	stop()
	close(failures)
	for f := range failures {
		sum.Failures = append(sum.Failures, f)
	}
	r.summarize(sum)
	return sum, nil
}

// join connects the members, each joining by URL through its server, and reads up to its
// room message.
func (r *roomRun) join(ctx context.Context) ([]*roomMember, error) {
	urls := make([]string, len(r.cfg.Addrs))
	for i, a := range r.cfg.Addrs {
		u, err := client.WSURL(a)
		if err != nil {
			return nil, err
		}
		urls[i] = u
	}
	members := make([]*roomMember, 0, r.cfg.Members)
	for i := range r.cfg.Members {
		q := url.Values{"room": {r.cfg.Room}, "nick": {"bench-" + strconv.Itoa(i)}}
		c, _, err := websocket.Dial(ctx, urls[i%len(urls)]+"?"+q.Encode(), &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
		if err != nil {
			return members, fmt.Errorf("member %d: %w", i, err)
		}
		c.SetReadLimit(client.MaxReply)
		m := &roomMember{run: r, c: c, own: make(chan roomMsg, 1024)}
		members = append(members, m)
		if err := m.awaitRoom(ctx); err != nil {
			return members, fmt.Errorf("member %d: %w", i, err)
		}
	}
	return members, nil
}

func (m *roomMember) awaitRoom(ctx context.Context) error {
	for {
		p, err := m.readMsg(ctx)
		if err != nil {
			return err
		}
		if !isChecked(p) {
			continue
		}
		msg, err := decode(p)
		if err != nil {
			return err
		}
		if msg.Type == "room" {
			m.next = msg.Seq + 1
			m.seen.Store(msg.Seq)
			return nil
		}
	}
}

// readMsg reads the next message whole (into m.buf: valid until the next read).
func (m *roomMember) readMsg(ctx context.Context) ([]byte, error) {
	_, rd, err := m.c.Reader(ctx)
	if err != nil {
		return nil, err
	}
	m.buf.Reset()
	if _, err := m.buf.ReadFrom(rd); err != nil {
		return nil, err
	}
	return m.buf.Bytes(), nil
}

// decode decodes a message other than an event.
func decode(p []byte) (roomMsg, error) {
	var msg roomMsg
	if err := json.Unmarshal(p, &msg); err != nil {
		return roomMsg{}, fmt.Errorf("malformed message %q: %w", p, err)
	}
	return msg, nil
}

// checked are the message types a member decodes (replies and the room's state); it reads
// only the seq of an event (EventSeq), and skips the rest (presence).
var checked = [][]byte{[]byte(`{"type":"result"`), []byte(`{"type":"error"`), []byte(`{"type":"room"`)}

func isChecked(p []byte) bool {
	for _, prefix := range checked {
		if bytes.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// read checks the order of every event the member receives until its connection closes
// (RunRoom closes it at the end, or when ctx ends). Its reads have no deadline: with a
// context that can end, the library arms and disarms a callback on every message, an
// eighth of the load's CPU at 1 000 members.
func (m *roomMember) read(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	for {
		p, err := m.readMsg(ctx)
		if err != nil {
			if m.run.closing.Load() {
				return nil // closed by RunRoom at the end
			}
			return err
		}
		if seq, ok := EventSeq(p); ok {
			m.check(seq)
			continue
		}
		if !isChecked(p) {
			continue
		}
		msg, err := decode(p)
		if err != nil {
			return err
		}
		switch msg.Type {
		case "result", "error":
			if msg.Seq != 0 {
				m.check(msg.Seq)
			}
			m.own <- msg
		case "room": // a reset (rooms.md §6): the room's log was lost; it goes on from here
			m.run.resets.Add(1)
			m.next = msg.Seq + 1
			m.seen.Store(msg.Seq)
		}
	}
}

// check counts one event against the order: the next seq, once.
func (m *roomMember) check(seq uint64) {
	r := m.run
	switch {
	case seq == m.next:
	case seq > m.next:
		r.missing.Add(int64(seq - m.next))
	default:
		r.outOfOrder.Add(1)
		return
	}
	m.next = seq + 1
	m.seen.Store(seq)
	r.deliveries.Add(1)
	ev := r.event(seq)
	storeMax(&ev.last, time.Now().UnixNano())
	ev.got.Add(1)
}

// maxInFlight bounds a writer's unanswered lines with a rate, well under the server's
// limit of unsent messages per member.
const maxInFlight = 100

// ask sends one line and waits for its reply, which must be a result.
func (m *roomMember) ask(ctx context.Context, r *roomRun, line string) error {
	if err := m.c.Write(ctx, websocket.MessageText, request(line)); err != nil {
		return err
	}
	select {
	case msg := <-m.own:
		if msg.Type != "result" {
			return fmt.Errorf("%s: %s reply", line, msg.Type)
		}
		storeMax(&r.maxSeq, msg.Seq)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(r.cfg.Settle):
		return fmt.Errorf("%s: no reply within %v", line, r.cfg.Settle)
	}
}

func request(line string) []byte {
	b, _ := json.Marshal(wire.Request{Expr: &line})
	return b
}

// write runs the writers for the configured duration and waits (at most Settle) for the
// replies to their lines.
func (r *roomRun) write(ctx context.Context, writers []*roomMember) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for i, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.writer(ctx, i, w)
		}()
	}
	wg.Wait()
}

// writer sends RoomIncrement lines until ctx ends: on a fixed schedule with a rate, else
// each on the reply to the one before.
func (r *roomRun) writer(ctx context.Context, i int, w *roomMember) {
	inFlight := 1
	var tick <-chan time.Time
	if r.cfg.Rate > 0 {
		inFlight = maxInFlight
		t := time.NewTicker(time.Duration(float64(time.Second) * float64(r.cfg.Writers) / r.cfg.Rate))
		defer t.Stop()
		tick = t.C
	}
	// A line's send time, in the order of the lines: the replies come in that order.
	slots := make(chan time.Time, inFlight)
	var pending atomic.Int64
	stopped, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		r.writerReplies(w, &pending, slots, stopped)
	}()
	defer func() {
		close(stopped)
		<-done
	}()
	for n := 0; ; n++ {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return
			}
		}
		line := fmt.Sprintf("%s # w%d-%d", RoomIncrement, i, n)
		select {
		case slots <- time.Now():
		case <-ctx.Done():
			return
		}
		pending.Add(1)
		r.sent.Add(1)
		if err := w.c.Write(context.Background(), websocket.MessageText, request(line)); err != nil {
			pending.Add(-1)
			return
		}
	}
}

// writerReplies counts a writer's replies until the sender has stopped and every line
// has its reply, or none came for Settle (the rest count as incomplete).
func (r *roomRun) writerReplies(w *roomMember, pending *atomic.Int64, slots chan time.Time, stopped <-chan struct{}) {
	for {
		select {
		case msg := <-w.own:
			r.reply(msg, <-slots)
			pending.Add(-1)
		case <-stopped:
			stopped = nil // from now on, return once nothing is pending
		case <-time.After(r.cfg.Settle):
			if stopped == nil {
				return
			}
		}
		if stopped == nil && pending.Load() == 0 {
			return
		}
	}
}

// reply counts a writer's own reply to the line it sent at sent.
func (r *roomRun) reply(msg roomMsg, sent time.Time) {
	r.answered.Add(1)
	if msg.Seq != 0 { // else refused before evaluation: no event
		r.stored.Add(1)
		r.event(msg.Seq).sent.Store(sent.UnixNano())
		storeMax(&r.maxSeq, msg.Seq)
	}
	if msg.Type != "result" {
		r.errReplies.Add(1)
		r.mu.Lock()
		if len(r.errorTexts) < maxErrorTexts {
			r.errorTexts = append(r.errorTexts, msg.Display)
		}
		r.mu.Unlock()
		return
	}
	r.increments.Add(1)
	if v, err := strconv.ParseInt(msg.Value, 10, 64); err == nil {
		storeMax(&r.finalX, v)
	}
}

// settle waits (at most Settle) until every member has received the last stored event.
func (r *roomRun) settle(ctx context.Context, members []*roomMember) {
	deadline := time.Now().Add(r.cfg.Settle)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for _, m := range members {
			if m.seen.Load() < r.maxSeq.Load() {
				all = false
				break
			}
		}
		if all {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *roomRun) summarize(s *RoomSummary) {
	s.Sent, s.Events, s.Deliveries = r.sent.Load(), r.stored.Load(), r.deliveries.Load()
	s.DeliveryPS = float64(s.Deliveries) / s.Elapsed.Seconds()
	s.Missing, s.OutOfOrder, s.ErrorReplies = r.missing.Load(), r.outOfOrder.Load(), r.errReplies.Load()
	s.Resets = r.resets.Load()
	s.Increments, s.FinalX = r.increments.Load(), r.finalX.Load()
	r.mu.Lock()
	s.ErrorTexts = r.errorTexts
	r.mu.Unlock()
	// Incomplete: the writers' lines never answered, and their events some member missed.
	s.Incomplete = s.Sent - r.answered.Load()
	hist := NewHistogram()
	r.events.Range(func(_, v any) bool {
		ev := v.(*roomEvent)
		switch sent := ev.sent.Load(); {
		case sent == 0: // not a writer's line (the start)
		case ev.got.Load() == int64(r.cfg.Members):
			hist.Record(time.Duration(ev.last.Load() - sent))
		default:
			s.Incomplete++
		}
		return true
	})
	s.P50, s.P99, s.Max = hist.Quantile(0.5), hist.Quantile(0.99), hist.Max()
}

// storeMax raises a to v unless it is already higher: writers store concurrently.
func storeMax[T int64 | uint64](a interface {
	Load() T
	CompareAndSwap(old, new T) bool
}, v T) {
	for old := a.Load(); v > old && !a.CompareAndSwap(old, v); old = a.Load() {
	}
}
