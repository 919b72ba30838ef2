package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"wscalc/client"
)

// transport is one connection as the load generator drives it: one goroutine writes
// (write, flush), another reads replies in order.
type transport interface {
	// write queues one request line (without newline).
	write(line []byte) error
	// flush sends what write queued.
	flush() error
	// read returns the next reply, valid until the next read.
	read() ([]byte, error)
	// buffered is how many received bytes read has not consumed yet.
	buffered() int
	// close ends the connection; a blocked read returns.
	close() error
}

// errClosedByServer is a read that found the connection closed by the server.
var errClosedByServer = errors.New("connection closed by the server")

func dial(ctx context.Context, proto, addr string) (transport, error) {
	switch proto {
	case "tcp":
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		// Small buffers: thousands of connections may be open, and a pipeline of short
		// lines fits in 4 KB anyway.
		return &tcpTransport{c: c, r: bufio.NewReaderSize(c, 4096), w: bufio.NewWriterSize(c, 4096)}, nil
	case "ws":
		return dialWS(ctx, addr)
	}
	return nil, fmt.Errorf("unknown protocol %q (want tcp or ws)", proto)
}

type tcpTransport struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	big []byte // a reply longer than the read buffer is assembled here
}

func (t *tcpTransport) write(line []byte) error {
	t.w.Write(line)
	return t.w.WriteByte('\n')
}

func (t *tcpTransport) flush() error { return t.w.Flush() }

func (t *tcpTransport) read() ([]byte, error) {
	p, err := t.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		t.big = append(t.big[:0], p...)
		for errors.Is(err, bufio.ErrBufferFull) && len(t.big) <= client.MaxReply {
			p, err = t.r.ReadSlice('\n')
			t.big = append(t.big, p...)
		}
		p = t.big
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errClosedByServer
		}
		return nil, err
	}
	p = p[:len(p)-1]
	return bytes.TrimSuffix(p, []byte{'\r'}), nil
}

func (t *tcpTransport) buffered() int { return t.r.Buffered() }

func (t *tcpTransport) close() error { return t.c.Close() }
