package ws

import (
	"bytes"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// patience bounds the waits of these tests; it is a guard, not a speed assertion.
const patience = 10 * time.Second

// fakeConn records the writes that reach the "socket"; its reads wait for input.
type fakeConn struct {
	net.Conn // nil: only the methods below are used
	input    chan []byte

	mu        sync.Mutex
	writes    []string
	deadlines []time.Time // the write deadline in force at each write
	deadline  time.Time
	fail      error // returned by every write once set
	closed    bool
}

func newFakeConn() *fakeConn { return &fakeConn{input: make(chan []byte, 1)} }

func (f *fakeConn) Read(p []byte) (int, error) {
	b, ok := <-f.input
	if !ok {
		return 0, net.ErrClosed
	}
	return copy(p, b), nil
}

func (f *fakeConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return 0, f.fail
	}
	f.writes = append(f.writes, string(p))
	f.deadlines = append(f.deadlines, f.deadline)
	return len(p), nil
}

func (f *fakeConn) SetWriteDeadline(t time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deadline = t
	return nil
}

func (f *fakeConn) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeConn) written() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

func write(t *testing.T, c *batchConn, s string) {
	t.Helper()
	n, err := c.Write([]byte(s))
	require.NoError(t, err)
	require.Equal(t, len(s), n)
}

func TestBatchHoldsWritesUntilTheSessionReads(t *testing.T) {
	f := newFakeConn()
	c := newBatchConn(f, time.Minute)
	write(t, c, "one")
	write(t, c, "two")
	require.Empty(t, f.written(), "written while the session was busy")

	f.input <- []byte("next")
	p := make([]byte, 16)
	n, err := c.Read(p)
	require.NoError(t, err)
	require.Equal(t, "next", string(p[:n]))
	require.Equal(t, []string{"onetwo"}, f.written(), "one write, in order, before the read")

	// Every write to the socket has the write timeout as its deadline.
	require.Len(t, f.deadlines, 1)
	require.WithinDuration(t, time.Now().Add(time.Minute), f.deadlines[0], 10*time.Second)
}

func TestBatchWritesAtOnceWhileTheSessionWaitsForInput(t *testing.T) {
	f := newFakeConn()
	c := newBatchConn(f, time.Minute)
	done := make(chan string)
	go func() {
		p := make([]byte, 16)
		n, _ := c.Read(p)
		done <- string(p[:n])
	}()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.reading
	}, patience, time.Millisecond)
	write(t, c, "ping")
	require.Equal(t, []string{"ping"}, f.written())
	f.input <- []byte("pong")
	require.Equal(t, "pong", <-done)
}

func TestBatchIsNotHeldLong(t *testing.T) {
	f := newFakeConn()
	c := newBatchConn(f, time.Minute)
	write(t, c, "reply")
	// The session stays busy (no Read): the batch still goes out, after maxHold.
	require.Eventually(t, func() bool { return len(f.written()) == 1 }, patience, time.Millisecond)
	require.Equal(t, []string{"reply"}, f.written())

	// The timer works for every batch, not only the first.
	write(t, c, "again")
	require.Eventually(t, func() bool { return len(f.written()) == 2 }, patience, time.Millisecond)
	require.Equal(t, "again", f.written()[1])
}

func TestBatchFullIsWrittenAtOnce(t *testing.T) {
	f := newFakeConn()
	c := newBatchConn(f, time.Minute)
	write(t, c, "a")
	big := string(bytes.Repeat([]byte{'x'}, batchBytes))
	write(t, c, big)
	require.Equal(t, []string{"a" + big}, f.written())
}

func TestBatchCloseWritesTheBatchFirst(t *testing.T) {
	f := newFakeConn()
	c := newBatchConn(f, time.Minute)
	write(t, c, "last reply")
	write(t, c, "close frame")
	require.NoError(t, c.Close())
	require.Equal(t, []string{"last replyclose frame"}, f.written())
	require.True(t, f.closed)
}

func TestBatchWriteFailureEndsTheConnection(t *testing.T) {
	f := newFakeConn()
	c := newBatchConn(f, time.Minute)
	f.fail = os.ErrDeadlineExceeded
	write(t, c, "held") // held, so not failed yet

	// The session's next read fails with the write's error, so that the session ends
	// (and logs why) instead of reading more requests it cannot answer.
	f.input <- []byte("more")
	_, err := c.Read(make([]byte, 16))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.ErrorIs(t, c.writeErr(), os.ErrDeadlineExceeded)
	_, err = c.Write([]byte("after"))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, c.Close())
	require.True(t, f.closed, "Close still closes")
}
