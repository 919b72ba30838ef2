package admission

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":            "127.0.0.1/32",
		"::ffff:10.1.2.3":      "10.1.2.3/32",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":   "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"::1":                  "::/64",
	} {
		assert.Equal(t, want, key(netip.MustParseAddr(in)).String(), in)
	}
}

// dialFrom connects to addr from the loopback address local (any port).
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func accept(t *testing.T, l net.Listener) *Conn {
	t.Helper()
	rw, err := l.Accept()
	require.NoError(t, err)
	c := Of(rw)
	require.NotNil(t, c, "%T", rw)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListenerCountsPerAddress(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer raw.Close()
	counter := New(2)
	l := counter.Listener(raw, nil)
	addr := raw.Addr().String()
	one := netip.MustParseAddr("127.0.0.1")

	dialFrom(t, "127.0.0.1", addr)
	a := accept(t, l)
	dialFrom(t, "127.0.0.1", addr)
	b := accept(t, l)
	assert.False(t, a.Refused())
	assert.False(t, b.Refused())
	assert.Equal(t, 2, counter.Open(one))

	dialFrom(t, "127.0.0.1", addr)
	over := accept(t, l)
	assert.True(t, over.Refused(), "the third connection from 127.0.0.1 is over the limit")
	assert.Equal(t, 2, over.Limit())
	assert.Equal(t, 2, counter.Open(one), "a refused connection takes no place")

	// Another address is never locked out.
	dialFrom(t, "127.0.0.2", addr)
	other := accept(t, l)
	assert.False(t, other.Refused())

	// Closing gives the place back, once.
	require.NoError(t, a.Close())
	a.Close()
	over.Close()
	assert.Equal(t, 1, counter.Open(one))
	dialFrom(t, "127.0.0.1", addr)
	assert.False(t, accept(t, l).Refused())

	b.Close()
	other.Close()
	assert.Equal(t, 1, counter.Addresses())
}

func TestTooManyRefusalsAreDroppedAtOnce(t *testing.T) {
	counter := New(1)
	k := key(netip.MustParseAddr("192.0.2.1"))
	require.Equal(t, admitted, counter.acquire(k))
	for range counter.refusingLimit() {
		require.Equal(t, refused, counter.acquire(k))
	}
	assert.Equal(t, dropped, counter.acquire(k))
	counter.release(k, refused)
	assert.Equal(t, refused, counter.acquire(k), "a refusal that ended makes room for the next")
	assert.Equal(t, admitted, counter.acquire(key(netip.MustParseAddr("192.0.2.2"))))

	// Through the listener: a dropped connection is closed at once and reported.
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer raw.Close()
	counter = New(1)
	var drops atomic.Int32
	l := counter.Listener(raw, func() { drops.Add(1) })
	dialFrom(t, "127.0.0.1", raw.Addr().String())
	accept(t, l)
	lk := key(netip.MustParseAddr("127.0.0.1"))
	for range counter.refusingLimit() {
		counter.acquire(lk) // refusals in progress, as if answered slowly
	}
	dropme := dialFrom(t, "127.0.0.1", raw.Addr().String())
	dialFrom(t, "127.0.0.2", raw.Addr().String())
	next := accept(t, l) // the dropped one is skipped
	assert.False(t, next.Refused())
	assert.Equal(t, "127.0.0.2", netip.MustParseAddrPort(next.RemoteAddr().String()).Addr().String())
	assert.EqualValues(t, 1, drops.Load())
	dropme.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = dropme.Read(make([]byte, 1))
	assert.Error(t, err, "the dropped connection is closed")
}

func TestConnPassesTCPInterfacesThrough(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer raw.Close()
	l := New(0).Listener(raw, nil)
	assert.Equal(t, DefaultLimit, New(0).Limit())
	client := dialFrom(t, "127.0.0.1", raw.Addr().String())
	c := accept(t, l)

	var _ syscall.Conn = c
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	require.NotNil(t, rc)
	_, err = io.WriteString(c, "hi")
	require.NoError(t, err)
	require.NoError(t, c.CloseWrite())
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(client)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(got))

	ctx := ConnContext(context.Background(), c)
	assert.Same(t, c, FromContext(ctx))
	assert.Nil(t, FromContext(context.Background()))
	assert.False(t, FromContext(context.Background()).Refused(), "nil-safe")
	assert.Nil(t, Of(client))
	assert.Equal(t, "too many connections from your address (limit 256)", Reason(256))
}
