package session

import (
	"context"
	"sync"
)

// Member is what a Group asks of a live session when the server stops. Both methods are
// called from any goroutine, perhaps more than once, and must not block.
type Member interface {
	// Drain asks the session to answer what the client has sent already, then end with its
	// goodbye (ReasonShutdown).
	Drain()
	// Force ends the session at once, without goodbyes (the connection is dropped, an
	// evaluation in progress stops).
	Force()
}

// Group is the live sessions of one server on one transport, and the one place that decides
// when they end because the server stops. Shutdown means what http.Server.Shutdown means:
// admit nothing more, ask every session to finish (Drain), wait until they have all ended,
// or return ctx.Err() if ctx ends first and leave the rest running; Close forces (Force)
// and waits. The zero Group is ready to use.
//
// A session is counted from Enter (when its connection is accepted, before its handshake)
// to Leave, so that Shutdown also waits for a session still starting; it is reachable by
// Drain and Force from Track on.
type Group struct {
	mu       sync.Mutex
	shutting bool // Shutdown or Close was called: Enter refuses
	closed   bool // Close was called: Track refuses, sessions end without goodbyes
	n        int  // sessions between Enter and Leave
	members  map[Member]struct{}
	empty    chan struct{} // closed when shutting and n is 0; nil before shutting
}

// Enter counts in a session that is starting, unless the server is shutting down. A
// session that entered must Leave.
func (g *Group) Enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shutting {
		return false
	}
	g.n++
	return true
}

// Track makes an entered session reachable by Shutdown and Close. It reports false after
// Close (the session must end at once); after Shutdown it drains m at once, so that a
// session whose start crossed the shutdown still answers and says goodbye.
func (g *Group) Track(m Member) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	if g.members == nil {
		g.members = make(map[Member]struct{})
	}
	g.members[m] = struct{}{}
	if g.shutting {
		m.Drain()
	}
	return true
}

// Leave counts out a session that entered (m: what it tracked, or nil).
func (g *Group) Leave(m Member) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m != nil {
		delete(g.members, m)
	}
	g.n--
	if g.n == 0 && g.empty != nil {
		close(g.empty)
		g.empty = nil
	}
}

// Closed reports whether Close was called: a session that ends now ends without goodbye,
// for the reason ReasonClosed.
func (g *Group) Closed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Shutdown admits no more sessions, drains every live one and waits until all have left. It
// returns nil then, or ctx.Err() if ctx ends first; the sessions left are still running
// (call Close to force them).
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.shutting = true
	for m := range g.members {
		m.Drain()
	}
	empty := g.emptyLocked()
	g.mu.Unlock()
	select {
	case <-empty:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close admits no more sessions, forces every live one to end and waits until all have
// left, which is as soon as their reads, writes and evaluations have failed.
func (g *Group) Close() {
	g.mu.Lock()
	g.shutting, g.closed = true, true
	for m := range g.members {
		m.Force()
	}
	empty := g.emptyLocked()
	g.mu.Unlock()
	<-empty
}

// emptyLocked returns a channel closed once no session is left.
func (g *Group) emptyLocked() <-chan struct{} {
	if g.n == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	if g.empty == nil {
		g.empty = make(chan struct{})
	}
	return g.empty
}
