package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DisconnectedPrompt is the prompt while the connection is lost: the next line reconnects.
const DisconnectedPrompt = "wscalc (disconnected)> "

// QuitWait bounds how long Interactive waits for outstanding replies after Ctrl-D or Ctrl-C.
const QuitWait = 2 * time.Second

// Redial opens a new session with the same server; Interactive calls it to reconnect.
type Redial func(ctx context.Context) (Conn, error)

// Interactive runs a session on a terminal: each line is sent as it is entered and the
// replies are printed as they arrive, above the line being typed. Replies to help are
// wrapped to the terminal's width, and the variables the session assigns are offered on
// Tab.
//
// When the server ends the session (a restart, an idle timeout), Interactive says so and
// carries on: the next line reconnects with redial, in a new session, as redis-cli does;
// if that fails it says why and the line after tries again.
//
// It returns nil after quit, Ctrl-D or Ctrl-C; an *HTTPError when the server answered in
// HTTP (the caller tells the user); ctx.Err() when ctx ends. It does not close t.
func Interactive(ctx context.Context, c Conn, redial Redial, t *Terminal) error {
	s := &interactive{t: t, redial: redial}
	fmt.Fprintf(t, "connected to %s; type an expression, help, help NAME, or quit (Ctrl-D) to leave\n", c)
	s.attach(c)
	defer s.detach()
	stop := context.AfterFunc(ctx, func() { t.Close() }) // ends a ReadLine in progress
	defer stop()
	for {
		line, err := t.ReadLine()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.fatalErr(); err != nil {
			return err
		}
		if err != nil { // Ctrl-D, Ctrl-C: readline has ended the line
			s.drain(ctx)
			return nil
		}
		if !NeedsReply(line) && !IsQuit(line) {
			continue // blank or a comment: nothing to send
		}
		l := s.live()
		if l == nil {
			if IsQuit(line) {
				return nil
			}
			if l = s.reconnect(ctx); l == nil {
				continue
			}
		}
		quit := IsQuit(line)
		if quit {
			l.quitting.Store(true) // the close that follows is expected: nothing to say
		}
		if NeedsReply(line) {
			l.r.sent.push(line)
		}
		err = l.c.Send(line)
		if err == nil {
			err = l.c.Flush()
		}
		if quit {
			if err != nil {
				return nil // already gone: that is what quit asks for
			}
			select {
			case <-l.r.end:
				var ce *ClosedError
				if errors.As(l.r.err, &ce) {
					return nil // closed, which is what quit asks for
				}
				return l.r.err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// A failed write means the connection is gone: its reply stream ends a moment later
		// and says so, and the next line reconnects.
	}
}

// interactive is the state of an Interactive session.
type interactive struct {
	t      *Terminal
	redial Redial

	mu    sync.Mutex
	cur   *link // the current connection; nil after detach
	fatal error // set when the server answered in HTTP
}

// link is one connection of the session and the goroutine that prints its replies.
type link struct {
	c        Conn
	r        *replies
	watched  chan struct{} // closed once the end of r has been dealt with
	quitting atomic.Bool   // the end of r is expected: say nothing
	lost     atomic.Bool   // r has ended
}

// attach makes c the session's connection and starts printing its replies.
func (s *interactive) attach(c Conn) *link {
	l := &link{c: c, watched: make(chan struct{})}
	l.r = startReplies(c, s.handle)
	s.mu.Lock()
	s.cur = l
	s.mu.Unlock()
	go s.watch(l)
	return l
}

// handle prints one reply: help wrapped to the terminal's width; an assignment's variable
// goes to the completer, another room member's too (its variables are the room's).
func (s *interactive) handle(line, reply string) error {
	if input, display, ok := NoticeEvent(reply); ok {
		if name, ok := AssignedName(input, display); ok {
			s.t.Completer().AddVar(name)
		}
	} else if name, ok := AssignedName(line, reply); ok {
		s.t.Completer().AddVar(name)
	}
	if IsHelpLine(line) && !IsError(reply) {
		reply = Wrap(reply, s.t.Width()-1)
	}
	_, err := fmt.Fprintln(s.t, reply)
	return err
}

// watch waits for the end of l's replies and tells the user, unless it was expected.
func (s *interactive) watch(l *link) {
	defer close(l.watched)
	<-l.r.end
	l.lost.Store(true)
	if l.quitting.Load() {
		return
	}
	var he *HTTPError
	if errors.As(l.r.err, &he) {
		s.mu.Lock()
		s.fatal = he
		s.mu.Unlock()
		s.t.Close() // ends the ReadLine in progress; Interactive returns the error
		return
	}
	msg := l.r.err.Error()
	if n := l.r.sent.count(); n > 0 {
		msg += fmt.Sprintf(" (%d line%s not answered)", n, plural(n))
	}
	fmt.Fprintf(s.t, "wscalc: %s; the next line reconnects\n", msg)
	s.t.SetPrompt(DisconnectedPrompt)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (s *interactive) fatalErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

// live returns the current connection, or nil if it is lost.
func (s *interactive) live() *link {
	s.mu.Lock()
	l := s.cur
	s.mu.Unlock()
	if l == nil || l.lost.Load() {
		return nil
	}
	return l
}

// reconnect opens a new session for the line just entered, or says why it cannot.
func (s *interactive) reconnect(ctx context.Context) *link {
	s.detach()
	c, err := s.redial(ctx)
	if err != nil {
		fmt.Fprintf(s.t, "wscalc: cannot reconnect: %v; the line was not sent (↑ brings it back)\n", err)
		return nil
	}
	s.t.Completer().ResetVars()
	if room, ok := RoomOf(c); ok {
		fmt.Fprintf(s.t, "wscalc: reconnected to %s and joined %s again: a new session in the room\n", c, room)
	} else {
		fmt.Fprintf(s.t, "wscalc: reconnected to %s: a new session, so variables and ans start afresh\n", c)
	}
	s.t.SetPrompt(Prompt)
	return s.attach(c)
}

// detach closes the current connection, if any, and waits for its replies to end.
func (s *interactive) detach() {
	s.mu.Lock()
	l := s.cur
	s.cur = nil
	s.mu.Unlock()
	if l == nil {
		return
	}
	l.quitting.Store(true)
	l.c.Close()
	<-l.watched
}

// drain waits (at most QuitWait) for the replies to the lines already sent.
func (s *interactive) drain(ctx context.Context) {
	l := s.live()
	if l == nil {
		return
	}
	timer := time.NewTimer(QuitWait)
	defer timer.Stop()
	for l.r.sent.count() > 0 {
		select {
		case <-l.r.tick:
		case <-l.r.end:
			return
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
