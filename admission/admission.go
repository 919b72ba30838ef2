// Package admission counts the connections each client address holds open, across every
// listener of the server (the line protocol, and HTTP with its keep-alive and WebSocket
// connections), so that one address cannot take the sockets, file descriptors and sessions
// that everybody else needs.
//
// A Counter is the one home of the counts. Its Listener wraps a net.Listener: every
// accepted connection is counted against its client address until it is closed. A
// connection over the address's limit is still returned by Accept, marked refused (Of,
// FromContext), so that the server can say why in its own protocol (a line, a WebSocket
// close, an HTTP 429) before it closes it; a refused connection does not count against the
// limit. Refused connections still being answered are bounded per address too (see
// refusingLimit): beyond that, Accept closes them at once, without an answer.
//
// Addresses are counted by IPv4 address, and by /64 prefix for IPv6: a single IPv6 host is
// usually given a whole /64 and can pick any address in it, so counting single IPv6
// addresses would bound nothing. IPv4-mapped IPv6 addresses count as their IPv4 address.
package admission

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// DefaultLimit is the default of -max-conns-per-ip.
const DefaultLimit = 256

// minRefusing is the fewest refused connections per address that are answered at once
// (see refusingLimit).
const minRefusing = 256

// Counter counts open connections per client address. It is safe for concurrent use.
type Counter struct {
	limit    int
	mu       sync.Mutex
	open     map[netip.Prefix]int // admitted connections still open
	refusing map[netip.Prefix]int // refused connections still open (being answered)
}

// New returns a Counter that admits at most limit connections per address; limit < 1
// means DefaultLimit.
func New(limit int) *Counter {
	if limit < 1 {
		limit = DefaultLimit
	}
	return &Counter{
		limit:    limit,
		open:     make(map[netip.Prefix]int),
		refusing: make(map[netip.Prefix]int),
	}
}

// Limit returns the most connections an address may hold open.
func (c *Counter) Limit() int { return c.limit }

// Reason is the text of a refusal, in every protocol: TCP sends it after "Error: ", the
// WebSocket close carries it as its reason (within the 123 bytes a close reason may have),
// and the HTTP 429 error object as its message.
func Reason(limit int) string {
	return fmt.Sprintf("too many connections from your address (limit %d)", limit)
}

// refusingLimit bounds the refused connections of one address that are open at once,
// being answered: each costs a file descriptor for up to a second or so (the answer, then
// a short linger; an HTTP client that sends no request holds it for the header timeout).
// With it, an address never holds more than limit + refusingLimit sockets, however fast
// it connects; the connections beyond are closed without an answer.
func (c *Counter) refusingLimit() int { return refusingLimit(c.limit) }

func refusingLimit(limit int) int { return max(limit, minRefusing) }

// MaxOpenPerAddress is the most sockets one address can hold open under limit: its
// admitted connections and the refusals being answered. The server's open-file budget
// keeps room for it (see serve.go).
func MaxOpenPerAddress(limit int) int {
	if limit < 1 {
		limit = DefaultLimit
	}
	return limit + refusingLimit(limit)
}

// Open returns the address's count of open admitted connections (for tests and logs).
func (c *Counter) Open(addr netip.Addr) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open[key(addr)]
}

// Addresses returns how many addresses hold connections (admitted or being refused).
func (c *Counter) Addresses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.open)
	for k := range c.refusing {
		if _, ok := c.open[k]; !ok {
			n++
		}
	}
	return n
}

// Key is what a client address is counted by: the IPv4 address, or the IPv6 /64. Other
// per-address state (the HTTP API's budgets) is keyed the same way.
func Key(a netip.Addr) netip.Prefix { return key(a) }

func key(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// verdict of acquire.
type verdict int

const (
	admitted verdict = iota
	refused          // over the limit: answer, then close
	dropped          // over the limit, and too many refusals in progress: close at once
)

func (c *Counter) acquire(k netip.Prefix) verdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[k] < c.limit {
		c.open[k]++
		return admitted
	}
	if c.refusing[k] < c.refusingLimit() {
		c.refusing[k]++
		return refused
	}
	return dropped
}

func (c *Counter) release(k netip.Prefix, v verdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.open
	if v == refused {
		m = c.refusing
	}
	if m[k] <= 1 {
		delete(m, k) // the maps hold only the addresses with connections open
	} else {
		m[k]--
	}
}

// Listener wraps l so that the connections it accepts are counted: Accept returns each as
// a *Conn, refused (Conn.Refused) if its address is over the limit. dropped, if not nil,
// is called for each connection closed at once because its address has too many refusals
// in progress already (so the server can count the refusal). A connection whose remote
// address is not an IP address (a Unix socket) is returned as it is, uncounted.
func (c *Counter) Listener(l net.Listener, dropped func()) net.Listener {
	return &listener{Listener: l, c: c, dropped: dropped}
}

type listener struct {
	net.Listener
	c       *Counter
	dropped func()
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		rw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(rw.RemoteAddr().String())
		if err != nil {
			return rw, nil
		}
		k := key(ap.Addr())
		v := l.c.acquire(k)
		if v == dropped {
			rw.Close()
			if l.dropped != nil {
				l.dropped()
			}
			continue
		}
		return &Conn{Conn: rw, c: l.c, key: k, verdict: v}, nil
	}
}

// Conn is a counted connection; closing it gives its place back. It passes the optional
// interfaces of a *net.TCPConn through (syscall.Conn, CloseWrite, ReadFrom), so that the
// servers can still read and poll the socket directly and half-close it.
type Conn struct {
	net.Conn
	c       *Counter
	key     netip.Prefix
	verdict verdict
	once    sync.Once
}

// Close closes the connection and, the first time, gives its place back.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.c.release(c.key, c.verdict) })
	return err
}

// Refused reports whether the connection's address was over the limit when it was
// accepted: the server answers with Reason(Limit()) and closes it. Nil-safe (false).
func (c *Conn) Refused() bool { return c != nil && c.verdict == refused }

// Limit is the per-address limit the connection was accepted under.
func (c *Conn) Limit() int {
	if c == nil {
		return 0
	}
	return c.c.limit
}

// SyscallConn passes the raw connection through (see syscall.Conn).
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("admission: %T has no raw connection", c.Conn)
	}
	return sc.SyscallConn()
}

// CloseWrite half-closes the connection, if it can be.
func (c *Conn) CloseWrite() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("admission: %T cannot half-close", c.Conn)
	}
	return cw.CloseWrite()
}

// ReadFrom lets io.Copy use the connection's own ReadFrom (sendfile, splice).
func (c *Conn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }

// Of returns rw as a counted connection, or nil if it is not one.
func Of(rw net.Conn) *Conn {
	c, _ := rw.(*Conn)
	return c
}

type ctxKey struct{}

// ConnContext is for http.Server.ConnContext: it puts the connection in the context of
// its requests, where FromContext finds it.
func ConnContext(ctx context.Context, rw net.Conn) context.Context {
	if c := Of(rw); c != nil {
		return context.WithValue(ctx, ctxKey{}, c)
	}
	return ctx
}

// FromContext returns the counted connection a request arrived on, or nil.
func FromContext(ctx context.Context) *Conn {
	c, _ := ctx.Value(ctxKey{}).(*Conn)
	return c
}
