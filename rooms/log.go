package rooms

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"wscalc/calc"
)

// Names on the NATS account: wscalc uses only subjects under wscalc.> and streams and
// buckets named wscalc… (rooms.md §9).
const (
	// streamName holds every room's events, on the subject subjectPrefix + room.
	streamName    = "wscalc_rooms"
	subjectPrefix = "wscalc.rooms.ev."
	// turnPrefix + room is where a room's replicas ask for a turn (turns.go): plain NATS.
	turnPrefix = "wscalc.rooms.turn."
	// snapBucket holds each room's latest snapshot, named room.epoch: an object store,
	// because a room's variables may take more than a message holds.
	snapBucket = "wscalc_rooms_snap"
)

// Event is one line of a member stored in a room's log: its outcome, stored with it, is
// applied by every replica and never evaluated again. In the log, an event of seq 0 marks
// the start of an epoch: the room's log created afresh.
type Event struct {
	Epoch  string `json:"epoch"`
	Seq    uint64 `json:"seq"`
	Member Member `json:"member"` // the sender, its nick when the event was stored
	Input  string `json:"input"`  // the line as received
	// Display is the sender's reply line; Result its JSON reply without id and seq, as the
	// event messages of the JSON protocol carry it (opaque here).
	Display string          `json:"display"`
	Result  json.RawMessage `json:"result,omitempty"`
	Effect  calc.Effect     `json:"effect"`
	// Writer tells the replica that stored the event (random, per Room): a replica knows
	// its own events from the others'.
	Writer string `json:"writer,omitempty"`
	// Mark is set on the messages that are not events: markTouch and markEnd (expiry.go),
	// which carry the epoch and seq of the last event before them.
	Mark string `json:"mark,omitempty"`

	streamSeq uint64 // where the log stored it
	size      int    // its bytes in the log, for the history's byte limit
	// message is the event's message to the members, encoded once (see EncodedOnce).
	message *encodedMessage
}

// encodedMessage is an event's message as its members' transport sends it.
type encodedMessage struct {
	once sync.Once
	b    []byte
	err  error
}

// EncodedOnce returns encode's result, calling it only for the first member the event is
// handed to and sharing those bytes (read-only) with the others. This is what keeps the
// fan-out of one event to n members at one encoding instead of n: with 1 000 members the
// JSON encoding per member was most of the server's work. An event not handed out by a
// Room (a history entry, a test's) is encoded on every call.
func (e *Event) EncodedOnce(encode func() ([]byte, error)) ([]byte, error) {
	if e.message == nil {
		return encode()
	}
	e.message.once.Do(func() { e.message.b, e.message.err = encode() })
	return e.message.b, e.message.err
}

// Position is where a room's log stands: the epoch and seq of its last event, and the
// log's own sequence of the last message on the room's subject (of whatever epoch), which
// an append must name to be stored.
type Position struct {
	Epoch     string
	Seq       uint64
	streamSeq uint64
}

// ErrConflict is returned by Append when the room's log has moved on since the position
// given: another event was stored first.
var ErrConflict = errors.New("rooms: the room's log moved on")

// LogConfig says how the room log is stored.
type LogConfig struct {
	// Replicas of the stream and buckets: 1, or 3 with three or more servers.
	Replicas int
	// Storage is jetstream.FileStorage (the zero value) or jetstream.MemoryStorage: the
	// cluster node's (memory unless it keeps a data directory).
	Storage jetstream.StorageType
}

// Log is the room log on JetStream: one stream for the events of all rooms (the last
// HistoryEvents of each), and an object store of their snapshots.
//
// A room's epoch is in its events: the last message on its subject, an event or the mark
// of an epoch's start, tells the room's epoch, and a room with none has no log. Creating a
// room's log afresh is appending a start mark, with the same optimistic concurrency as
// events: of instances racing to create it (first join, a lost log), one succeeds and the
// others find its epoch; a replica still in the old epoch cannot append after the mark.
// A lost stream loses the epochs with the events, so seqs are never reused in an epoch.
//
// The Log follows the stream for the replicas open on it: one consumer of every room's
// new events, handed to the room's Room if it has one here (a consumer per room would
// cost some 45 KB and 9 goroutines per room), and one subscription of the turn requests.
type Log struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	snaps  jetstream.ObjectStore

	conflicts atomic.Uint64 // appends refused: another event was stored first

	mu        sync.Mutex
	followers map[string]*Room
	consumer  jetstream.ConsumeContext
	turns     *nats.Subscription
}

// OpenLog creates the room log's stream and buckets, or binds to them.
func OpenLog(ctx context.Context, js jetstream.JetStream, cfg LogConfig) (*Log, error) {
	if cfg.Replicas != 1 && cfg.Replicas != 3 {
		return nil, fmt.Errorf("rooms: %d replicas (use 1 or 3)", cfg.Replicas)
	}
	stream, err := bindOrCreateStream(ctx, js, jetstream.StreamConfig{
		Name:              streamName,
		Subjects:          []string{subjectPrefix + "*"},
		MaxMsgsPerSubject: HistoryEvents,
		Discard:           jetstream.DiscardOld,
		Storage:           cfg.Storage,
		Replicas:          cfg.Replicas,
		AllowDirect:       true,
	})
	if err != nil {
		return nil, fmt.Errorf("rooms: stream %s: %w", streamName, err)
	}
	snaps, err := bindOrCreateObjectStore(ctx, js, jetstream.ObjectStoreConfig{
		Bucket: snapBucket, Storage: cfg.Storage, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("rooms: bucket %s: %w", snapBucket, err)
	}
	l := &Log{js: js, stream: stream, snaps: snaps, followers: map[string]*Room{}}
	if err := l.startFollowing(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// bindOrCreateStream binds to the room log's stream if it exists, as the instance that
// created it made it, and creates it otherwise. Instances of one service may differ in
// storage (an embedded server keeps the log in memory, a wscalc on another's NATS asks for
// a file) or in their guess of the replicas; an update would be refused ("can not change
// storage type") and leave the later instance without rooms, so the first one decides.
func bindOrCreateStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	stream, err := js.Stream(ctx, cfg.Name)
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return stream, err
	}
	stream, err = js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another instance won the race
		return js.Stream(ctx, cfg.Name)
	}
	return stream, err
}

// bindOrCreateObjectStore is bindOrCreateStream for the snapshots' bucket.
func bindOrCreateObjectStore(ctx context.Context, js jetstream.JetStream, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	store, err := js.ObjectStore(ctx, cfg.Bucket)
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return store, err
	}
	store, err = js.CreateObjectStore(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return js.ObjectStore(ctx, cfg.Bucket)
	}
	return store, err
}

// startFollowing starts the consumer of every room's new events and the subscription of
// turn requests.
func (l *Log) startFollowing(ctx context.Context) error {
	cons, err := l.js.OrderedConsumer(ctx, streamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subjectPrefix + "*"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return unavailable(err)
	}
	l.turns, err = l.js.Conn().Subscribe(turnPrefix+"*", l.dispatchTurn)
	if err != nil {
		return unavailable(err)
	}
	l.consumer, err = cons.Consume(l.dispatch)
	if err != nil {
		_ = l.turns.Unsubscribe()
		return unavailable(err)
	}
	return nil
}

// Close stops following the stream (close the rooms first).
func (l *Log) Close() {
	_ = l.turns.Unsubscribe()
	l.consumer.Stop()
	<-l.consumer.Closed()
}

// follow hands the room's messages to r from now on (replacing a Room closing).
func (l *Log) follow(r *Room) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.followers[r.name] = r
}

func (l *Log) unfollow(r *Room) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.followers[r.name] == r {
		delete(l.followers, r.name)
	}
}

func (l *Log) follower(room string) *Room {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.followers[room]
}

func (l *Log) dispatch(msg jetstream.Msg) {
	if r := l.follower(strings.TrimPrefix(msg.Subject(), subjectPrefix)); r != nil {
		r.receive(msg)
	}
}

func (l *Log) dispatchTurn(msg *nats.Msg) {
	if r := l.follower(strings.TrimPrefix(msg.Subject, turnPrefix)); r != nil {
		r.turnAsked(msg)
	}
}

func subject(room string) string { return subjectPrefix + room }

// NewEpoch returns a fresh epoch: 16 random characters from [A-Za-z0-9_-].
func NewEpoch() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// start creates the room's log afresh, with a new epoch, if the last message on its
// subject is still the one at afterStreamSeq (0: none); else ErrConflict.
func (l *Log) start(ctx context.Context, room string, afterStreamSeq uint64) (Position, error) {
	return l.publish(ctx, room, afterStreamSeq, &Event{Epoch: NewEpoch()})
}

// Append stores ev as the event after at: it gets at's epoch and seq + 1, and is stored
// only if the room's log is still at at (else ErrConflict). It returns the new position.
func (l *Log) Append(ctx context.Context, room string, at Position, ev *Event) (Position, error) {
	ev.Epoch, ev.Seq = at.Epoch, at.Seq+1
	pos, err := l.publish(ctx, room, at.streamSeq, ev)
	if errors.Is(err, ErrConflict) {
		l.conflicts.Add(1)
	}
	return pos, err
}

// publish stores ev on the room's subject if the last message there is still the one at
// afterStreamSeq (0: none), else ErrConflict.
func (l *Log) publish(ctx context.Context, room string, afterStreamSeq uint64, ev *Event) (Position, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return Position{}, err // a Result that is not JSON
	}
	ack, err := l.js.Publish(ctx, subject(room), data, jetstream.WithExpectLastSequencePerSubject(afterStreamSeq))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return Position{}, ErrConflict
	}
	if err != nil {
		return Position{}, unavailable(err)
	}
	ev.streamSeq, ev.size = ack.Sequence, len(data)
	return Position{Epoch: ev.Epoch, Seq: ev.Seq, streamSeq: ack.Sequence}, nil
}

// Conflicts is how many Appends through this Log were refused because another event was
// stored first: each is a line evaluated again (Room.Evaluate retries), or refused after
// MaxAttempts.
func (l *Log) Conflicts() uint64 { return l.conflicts.Load() }

// decodeEvent reads an event stored at streamSeq.
func decodeEvent(data []byte, streamSeq uint64) (Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return Event{}, fmt.Errorf("rooms: event at %d: %w", streamSeq, err)
	}
	ev.streamSeq, ev.size = streamSeq, len(data)
	return ev, nil
}

// events reads every message kept on the room's subject, oldest first, of every epoch.
func (l *Log) events(ctx context.Context, room string) ([]Event, error) {
	return l.eventsAfter(ctx, room, 0)
}

// eventsAfter reads the messages on the room's subject after the stream sequence after.
func (l *Log) eventsAfter(ctx context.Context, room string, after uint64) ([]Event, error) {
	var evs []Event
	for seq := after + 1; ; {
		msg, err := l.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject(room)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return evs, nil
		}
		if err != nil {
			return nil, unavailable(err)
		}
		ev, err := decodeEvent(msg.Data, msg.Sequence)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
		seq = msg.Sequence + 1
	}
}

// lastStreamSeq is the log's sequence of the last message on the room's subject, 0 when
// there is none.
func (l *Log) lastStreamSeq(ctx context.Context, room string) (uint64, error) {
	last, err := l.stream.GetLastMsgForSubject(ctx, subject(room))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return last.Sequence, nil
}

// Snapshot is a room's state after its event Seq.
type Snapshot struct {
	Epoch string     `json:"epoch"`
	Seq   uint64     `json:"seq"`
	State calc.State `json:"state"`
}

func snapName(room, epoch string) string { return room + "." + epoch }

// saveSnapshot stores the room's state after its event s.Seq, for replicas to start from
// without replaying the events before.
func (l *Log) saveSnapshot(ctx context.Context, room string, s Snapshot) error {
	_, err := l.snaps.PutBytes(ctx, snapName(room, s.Epoch), mustJSON(s))
	return unavailable(err)
}

// snapshot returns the room's latest snapshot in epoch, ok false when it has none.
func (l *Log) snapshot(ctx context.Context, room, epoch string) (s Snapshot, ok bool, err error) {
	data, err := l.snaps.GetBytes(ctx, snapName(room, epoch))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, unavailable(err)
	}
	if err := json.Unmarshal(data, &s); err != nil || s.Epoch != epoch {
		return Snapshot{}, false, nil // unreadable: as if there were none
	}
	return s, true, nil
}

// Forget deletes the room's log if it is still in epoch: its events up to now and its
// snapshot. A room created afresh meanwhile keeps its own.
func (l *Log) Forget(ctx context.Context, room, epoch string) error {
	last, err := l.stream.GetLastMsgForSubject(ctx, subject(room))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return unavailable(err)
	}
	if ev, err := decodeEvent(last.Data, last.Sequence); err == nil && ev.Epoch != epoch {
		return nil
	}
	// Only what was there: a new epoch may start right after.
	err = l.stream.Purge(ctx, jetstream.WithPurgeSubject(subject(room)), jetstream.WithPurgeSequence(last.Sequence+1))
	if err != nil {
		return unavailable(err)
	}
	if err := l.snaps.Delete(ctx, snapName(room, epoch)); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return unavailable(err)
	}
	return nil
}

// Exists reports the room's epoch and its last seq, ok false when the room has no log.
// It neither creates nor keeps alive a room.
func (l *Log) Exists(ctx context.Context, room string) (at Position, ok bool, err error) {
	last, err := l.stream.GetLastMsgForSubject(ctx, subject(room))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Position{}, false, nil
	}
	if err != nil {
		return Position{}, false, unavailable(err)
	}
	ev, err := decodeEvent(last.Data, last.Sequence)
	if err != nil {
		return Position{}, false, err
	}
	if ev.Mark == markEnd {
		return Position{}, false, nil
	}
	return Position{Epoch: ev.Epoch, Seq: ev.Seq, streamSeq: ev.streamSeq}, true, nil
}

// unavailable wraps an error of the log as ErrUnavailable, keeping its cause for errors.Is
// and errors.As. Its text is ErrUnavailable's alone: it is what the member is answered
// with (rooms.md §12), and the cause ("nats: no response from stream") is no part of it.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return &unavailableError{cause: err}
}

type unavailableError struct{ cause error }

func (e *unavailableError) Error() string   { return ErrUnavailable.Error() }
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only for types of this package, which always marshal
	}
	return b
}
