package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"wscalc/presence"
	"wscalc/sched"
	"wscalc/session"
)

// A transport's loop over a session: read a line, hand it in, write what comes out
// through the outbox. Here the "connection" is a list of lines and the writer prints.
func Example() {
	cfg := &session.Config{
		Presence: presence.New(nil),
		Sched:    sched.New(sched.Options{MaxMemory: -1}),
		Logger:   slog.New(slog.DiscardHandler),
	}
	if err := cfg.Prepare(presence.TCP); err != nil {
		fmt.Println(err)
		return
	}
	var s session.Session
	s.Init(context.Background(), cfg, "192.0.2.1:4321")
	var out session.Outbox[string]
	out.Init(func(line string) error { fmt.Println(line); return nil }, session.Pushes[string]{})

	if err := s.Join(); err != nil {
		fmt.Println("server busy")
		return
	}
	defer s.Leave()
	for _, line := range []string{"x = 6 * 7", "# a comment", "x / 0", "x + 1", "quit", "2 + 2"} {
		r := s.Eval(line)
		switch r.Kind {
		case session.Answer:
			out.Send(r.Result.Display)
		case session.Failed:
			out.Send(r.Err.Error())
		case session.Quit, session.Gone:
			s.End(session.ReasonQuit)
			fmt.Println("end:", s.Reason())
			return
		}
	}
	// Output:
	// x = 42
	// Error at column 3: division by zero
	// 43
	// end: quit
}

// Pushes go through the same outbox as the replies, after them, coalesced: three changes
// in a row give one push carrying the latest state.
func ExampleOutbox_Changed() {
	var b strings.Builder
	state := 0
	done := make(chan struct{})
	var out session.Outbox[string]
	out.Init(func(m string) error { b.WriteString(m + "\n"); return nil }, session.Pushes[string]{
		Next: func() (string, bool) {
			defer close(done)
			return fmt.Sprint("state ", state), true
		},
	})
	out.Send("reply 1")
	out.Changed() // noted; pushed once the outbox is open
	state = 3
	out.Open()
	<-done
	out.Stop()
	out.Wait()
	fmt.Print(b.String())
	// Output:
	// reply 1
	// state 3
}
