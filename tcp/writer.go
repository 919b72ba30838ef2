package tcp

import (
	"net"
	"sync"
	"time"
)

// replyWriter queues reply lines and writes them to the connection in as few writes as it
// can: when the buffer is full and before the session waits for input (see more). Its
// buffer comes from a pool with the first reply queued and goes back once written, so an
// idle connection holds none. Every write has its own deadline, so that a client that
// does not read cannot hold its session (and the memory behind it) for ever.
type replyWriter struct {
	conn    net.Conn
	timeout time.Duration
	buf     *[]byte // nil when nothing is queued
	err     error   // the first failed write; every later one fails with it
}

// writeBufs holds the reply buffers of the connections that have replies queued.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeBufBytes); return &b }}

// line queues s and a newline.
func (w *replyWriter) line(s string) error { return queueLine(w, s) }

// lineBytes queues b and a newline; b is copied, the caller may reuse it.
func (w *replyWriter) lineBytes(b []byte) error { return queueLine(w, b) }

// queueLine is line and lineBytes: a reply is a string (errors, goodbyes) or bytes (what the
// calculator appended, see conn.answer).
func queueLine[L string | []byte](w *replyWriter, s L) error {
	if w.err != nil {
		return w.err
	}
	if w.buf == nil {
		w.buf = writeBufs.Get().(*[]byte)
	} else if len(*w.buf)+len(s)+1 > cap(*w.buf) {
		if err := w.flush(); err != nil {
			return err
		}
		w.buf = writeBufs.Get().(*[]byte)
	}
	*w.buf = append(append(*w.buf, s...), '\n')
	if len(*w.buf) >= writeBufBytes {
		return w.flush()
	}
	return nil
}

// buffered reports how many bytes are queued.
func (w *replyWriter) buffered() int {
	if w.buf == nil {
		return 0
	}
	return len(*w.buf)
}

// flush writes what is queued and gives the buffer back.
func (w *replyWriter) flush() error {
	if w.buf == nil {
		return w.err
	}
	if w.err == nil {
		if w.err = w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); w.err == nil {
			_, w.err = w.conn.Write(*w.buf)
		}
	}
	if cap(*w.buf) == writeBufBytes { // a buffer grown for one huge reply is not kept
		*w.buf = (*w.buf)[:0]
		writeBufs.Put(w.buf)
	}
	w.buf = nil
	return w.err
}
