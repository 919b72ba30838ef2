package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"wscalc/client"
)

// wsTransport is a minimal RFC 6455 client for the load generator. A general library
// (coder/websocket, which wscalc's own client uses) writes and flushes every message on
// its own; here a pipeline of requests is framed into one buffer and sent with one write,
// so that the load generator spends far less per request than the server it measures and
// the numbers are the server's. Text frames only, no extensions, no compression.
type wsTransport struct {
	c net.Conn
	r *bufio.Reader

	wmu sync.Mutex // the sender's frames and the reader's pongs and close share w
	w   *bufio.Writer

	msg  []byte // the message being read, reused
	mask uint32 // the last frame's mask; see frame
}

// wsGUID is the fixed key suffix of the opening handshake (RFC 6455 §1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func dialWS(ctx context.Context, addr string) (*wsTransport, error) {
	raw, err := client.WSURL(addr)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("the load generator speaks ws:// only, not %s://", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	t := &wsTransport{c: c, r: bufio.NewReaderSize(c, 4096), w: bufio.NewWriterSize(c, 4096)}
	if err := t.handshake(u); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	t.mask = binary.LittleEndian.Uint32(nonce(4))
	return t, nil
}

func (t *wsTransport) handshake(u *url.URL) error {
	key := base64.StdEncoding.EncodeToString(nonce(16))
	fmt.Fprintf(t.w, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, key)
	if err := t.w.Flush(); err != nil {
		return err
	}
	resp, err := http.ReadResponse(t.r, &http.Request{Method: http.MethodGet})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("WebSocket handshake: %s", resp.Status)
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) ||
		!strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return errors.New("WebSocket handshake: bad upgrade response")
	}
	return nil
}

// nonce returns n random bytes.
func nonce(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return b
}

const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// frame appends one masked client frame to w. The mask is required by the protocol to
// foil cache poisoning through proxies, not for secrecy, so a cheap per-connection
// sequence (a linear congruential step from a random start) stands in for fresh randomness.
func (t *wsTransport) frame(op byte, p []byte) {
	t.mask = t.mask*1664525 + 1013904223
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], t.mask)
	b := t.w.AvailableBuffer()
	b = append(b, 0x80|op)
	switch l := len(p); {
	case l < 126:
		b = append(b, 0x80|byte(l))
	case l <= 0xFFFF:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(l))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(l))
	}
	b = append(b, mask[:]...)
	for i, c := range p {
		b = append(b, c^mask[i&3])
	}
	t.w.Write(b)
}

func (t *wsTransport) write(line []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.frame(opText, line)
	return nil // a failed write shows at flush
}

func (t *wsTransport) flush() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	return t.w.Flush()
}

// control sends a control frame at once (pong, close).
func (t *wsTransport) control(op byte, p []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.frame(op, p)
	return t.w.Flush()
}

// read returns the next text message, answering pings on the way.
func (t *wsTransport) read() ([]byte, error) {
	t.msg = t.msg[:0]
	for {
		fin, op, payload, err := t.readFrame()
		if err != nil {
			return nil, err
		}
		switch op {
		case opPing:
			if err := t.control(opPong, payload); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			code, reason := 1005, ""
			if len(payload) >= 2 {
				code, reason = int(binary.BigEndian.Uint16(payload)), string(payload[2:])
			}
			t.control(opClose, payload[:min(len(payload), 2)])
			return nil, fmt.Errorf("%w (%d %s)", errClosedByServer, code, reason)
		case opBin:
			return nil, errors.New("server sent a binary message")
		}
		t.msg = append(t.msg, payload...)
		if fin {
			return t.msg, nil
		}
	}
}

func (t *wsTransport) buffered() int { return t.r.Buffered() }

// readFrame reads one unmasked server frame; its payload is valid until the next call.
func (t *wsTransport) readFrame() (fin bool, op byte, payload []byte, err error) {
	var hdr [2]byte
	if _, err = io.ReadFull(t.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = errClosedByServer
		}
		return
	}
	fin, op = hdr[0]&0x80 != 0, hdr[0]&0x0F
	if hdr[1]&0x80 != 0 {
		return false, 0, nil, errors.New("server sent a masked frame")
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err = io.ReadFull(t.r, ext[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err = io.ReadFull(t.r, ext[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > client.MaxReply {
		return false, 0, nil, fmt.Errorf("frame of %d bytes is over the limit", n)
	}
	if n <= uint64(t.r.Size()) {
		// Usual case: the payload fits in the read buffer; peek it without copying.
		if payload, err = t.r.Peek(int(n)); err != nil {
			return
		}
		t.r.Discard(int(n))
		return fin, op, payload, nil
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(t.r, payload)
	return fin, op, payload, err
}

// close sends a close frame (1000) if no write is in progress, then closes the
// connection, which also ends a write blocked on a server that does not read.
func (t *wsTransport) close() error {
	if t.wmu.TryLock() {
		t.c.SetWriteDeadline(time.Now().Add(time.Second))
		t.frame(opClose, []byte{0x03, 0xE8})
		t.w.Flush()
		t.wmu.Unlock()
	}
	return t.c.Close()
}
