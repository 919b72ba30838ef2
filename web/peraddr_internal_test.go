package web

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPerAddress(t *testing.T) {
	now := time.Unix(1000, 0)
	made := 0
	p := newPerAddress(3, time.Minute, func() *int { made++; n := made; return &n })
	p.now = func() time.Time { return now }
	a := netip.MustParseAddr("192.0.2.1")

	first := p.get(a)
	assert.Same(t, first, p.get(a), "one value per address")
	assert.Same(t, first, p.get(netip.MustParseAddr("::ffff:192.0.2.1")), "IPv4-mapped is the same address")
	v6 := p.get(netip.MustParseAddr("2001:db8::1"))
	assert.Same(t, v6, p.get(netip.MustParseAddr("2001:db8::2")), "one value per IPv6 /64")
	assert.Equal(t, 2, p.len())

	// Idle entries expire.
	now = now.Add(30 * time.Second)
	p.get(a)
	now = now.Add(40 * time.Second) // v6 unused for 70 s, a for 40 s
	p.get(netip.MustParseAddr("192.0.2.9"))
	assert.Equal(t, 2, p.len())
	assert.NotSame(t, v6, p.get(netip.MustParseAddr("2001:db8::1")), "expired: a fresh value")
	assert.Same(t, first, p.get(a))

	// At the bound, the least recently used goes.
	assert.Equal(t, 3, p.len())
	p.get(netip.MustParseAddr("192.0.2.10")) // drops 192.0.2.9, the least recently used
	assert.Equal(t, 3, p.len())
	assert.Same(t, first, p.get(a))
	before := made
	p.get(netip.MustParseAddr("192.0.2.9"))
	assert.Equal(t, before+1, made, "192.0.2.9 was dropped")
}
