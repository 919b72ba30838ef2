package web

import (
	"container/list"
	"net/netip"
	"sync"
	"time"

	"wscalc/admission"
)

// perAddress holds one value per client address (admission.Key: an IPv4 address or an
// IPv6 /64), made by newValue on first use: the HTTP API's work budgets, which must outlive
// the fresh session of each request. An entry unused for idle is dropped, and so is the
// least recently used one when max entries are held, so the memory is bounded whatever
// the number of addresses.
type perAddress[T any] struct {
	max      int
	idle     time.Duration
	newValue func() T
	now      func() time.Time

	mu    sync.Mutex
	byKey map[netip.Prefix]*list.Element // of *addrEntry[T]
	lru   list.List                      // front: most recently used
}

type addrEntry[T any] struct {
	key  netip.Prefix
	v    T
	used time.Time
}

func newPerAddress[T any](max int, idle time.Duration, newValue func() T) *perAddress[T] {
	return &perAddress[T]{max: max, idle: idle, newValue: newValue, now: time.Now,
		byKey: make(map[netip.Prefix]*list.Element)}
}

// get returns addr's value, making it if the address has none.
func (p *perAddress[T]) get(addr netip.Addr) T {
	k := admission.Key(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.expireLocked(now)
	if el, ok := p.byKey[k]; ok {
		e := el.Value.(*addrEntry[T])
		e.used = now
		p.lru.MoveToFront(el)
		return e.v
	}
	if len(p.byKey) >= p.max {
		p.dropLocked(p.lru.Back())
	}
	e := &addrEntry[T]{key: k, v: p.newValue(), used: now}
	p.byKey[k] = p.lru.PushFront(e)
	return e.v
}

// expireLocked drops the entries unused for idle: they are at the back.
func (p *perAddress[T]) expireLocked(now time.Time) {
	for el := p.lru.Back(); el != nil && now.Sub(el.Value.(*addrEntry[T]).used) >= p.idle; el = p.lru.Back() {
		p.dropLocked(el)
	}
}

func (p *perAddress[T]) dropLocked(el *list.Element) {
	delete(p.byKey, el.Value.(*addrEntry[T]).key)
	p.lru.Remove(el)
}

// len is the number of addresses held.
func (p *perAddress[T]) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byKey)
}
