package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wscalc/presence"
	"wscalc/rooms"
	"wscalc/rooms/roomstest"
	"wscalc/sched"
	"wscalc/session"
)

// discard is a member's connection that drops what it is sent, counting it.
type discard struct{ delivered *atomic.Int64 }

func (k discard) Deliver(msgs []session.RoomMsg) error {
	k.delivered.Add(int64(len(msgs)))
	return nil
}
func (discard) TooFarBehind()   {}
func (discard) MembersChanged() {}

// liveHeap is the heap's live bytes and the goroutines after a collection.
func liveHeap() (heap uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}

// inParallel runs fn(i) for i in [0, n) on a few goroutines.
func inParallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// writeHeapProfile writes the heap's profile to $ROOMS_HEAP_PROFILE, if set: what the
// rooms hold (go tool pprof -sample_index=inuse_space).
func writeHeapProfile(b *testing.B) {
	path := os.Getenv("ROOMS_HEAP_PROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// Memory of rooms of two members on one instance (issue 12: 10 000 rooms of 2 members),
// with the real room engine on an in-process JetStream server (its share included, as an
// instance embedding it holds it) and the members as sessions whose connection discards
// what it is sent (the sockets' share is measured apart, see BENCHMARKS.md). Live heap
// after a collection and goroutines: per session before any room, per room (its replica,
// its log, its first member's room side less a member's), per member (the room side of a
// session: its membership, queue, subscription).
func BenchmarkRoomPairsMemory(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				roomPairsMemory(b, n)
			}
		})
	}
}

func roomPairsMemory(b *testing.B, n int) {
	limits := rooms.DefaultLimits()
	limits.MaxRooms = n
	d := session.NewRooms(roomstest.Start(b).Log(), rooms.RoomConfig{}, limits)
	defer d.Close()
	cfg := &session.Config{Presence: presence.New(nil), Sched: sched.New(sched.Options{MaxMemory: -1}),
		Logger: slog.New(slog.DiscardHandler), Rooms: d}
	if err := cfg.Prepare(presence.TCP); err != nil {
		b.Fatal(err)
	}
	if os.Getenv("ROOMS_HEAP_PROFILE") != "" {
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1 // every allocation: a profile of what one room holds
	}
	var delivered atomic.Int64
	heap0, g0 := liveHeap()
	members := make([]*session.Session, 2*n)
	for i := range members {
		s := new(session.Session)
		s.Init(context.Background(), cfg, "192.0.2.1:1")
		s.SetRoomSink(discard{&delivered})
		members[i] = s
	}
	defer func() {
		for _, s := range members {
			s.EndRoom()
			s.Cancel()
		}
	}()
	heapSessions, _ := liveHeap()
	line := func(s *session.Session, l string) {
		if handled, _ := s.RoomLine(l, nil); !handled {
			b.Fatalf("%q not handled", l)
		}
	}
	settle := func(want int64) {
		for deadline := time.Now().Add(time.Minute); delivered.Load() < want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d messages delivered", delivered.Load(), want)
			}
		}
	}
	start := time.Now()
	inParallel(n, func(i int) { // each room: its first member joins and stores an event
		line(members[2*i], fmt.Sprint("join r", i))
		line(members[2*i], "x = 1")
	})
	firstJoins := time.Since(start)
	settle(int64(3 * n)) // the joined reply, the room's state, x's reply
	heapRooms, g1 := liveHeap()
	inParallel(n, func(i int) { line(members[2*i+1], fmt.Sprint("join r", i)) })
	settle(int64(6 * n)) // and the second one's reply and state, and the first one's notice
	heapPairs, g2 := liveHeap()
	writeHeapProfile(b)
	if got, rooms := d.LocalMembers(); got != 2*n || rooms != n {
		b.Fatalf("%d members in %d rooms", got, rooms)
	}

	perMember := float64(heapPairs-heapRooms) / float64(n)
	b.ReportMetric(float64(heapSessions-heap0)/float64(2*n), "session-B")
	b.ReportMetric(float64(heapRooms-heapSessions)/float64(n)-perMember, "room-B")
	b.ReportMetric(perMember, "member-B")
	b.ReportMetric(float64(heapPairs-heapSessions)/float64(n), "pair-B")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/room")
	b.ReportMetric(float64(g2-g1)/float64(n), "goroutines/member")
	b.ReportMetric(float64(firstJoins.Microseconds())/float64(n), "µs/room-opened")
}
