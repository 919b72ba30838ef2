package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Shutdown pipelines Messages lines on each of Clients sessions per mode (WebSocket text,
// WebSocket JSON, TCP), calls Signal (SIGTERM to the server) as soon as every line has been
// written, and counts the replies each session got before the server ended it.
//
// Line HeavyAt of each pipeline is a heavy line (GCDInline), the others are light: the heavy
// line makes sure that lines are still waiting in the server when the signal comes, so
// that what the server does with them is what is measured. Its reply may be a result or
// any error; the light lines must get their exact results.
type Shutdown struct {
	Clients  int           // per mode (default 1)
	Messages int           // per session (default 250)
	HeavyAt  int           // index of the heavy line (default 10; negative: none)
	Signal   func() error  // ends the server (required)
	Timeout  time.Duration // bound on the whole scenario (default 30 s)
	Readyz   bool          // poll /readyz after the signal until the listener is gone
}

// The session modes of the shutdown scenario.
const (
	ModeWSText = "ws-text"
	ModeWSJSON = "ws-json"
	ModeTCP    = "tcp"
)

// ShutdownTally is what the sessions of one mode got.
type ShutdownTally struct {
	Clients  int            `json:"clients"`
	Sent     int            `json:"sent"`     // lines written before the signal
	Answered int            `json:"answered"` // right replies, in order, before the end
	Wrong    int            `json:"wrong"`    // other replies
	Ends     map[string]int `json:"ends"`     // how sessions ended: "close 1001 server shutting down", "Error: server shutting down, then EOF", …
	Problems []string       `json:"problems,omitempty"`
}

// ShutdownResult is the tally per mode, and the /readyz answers after the signal.
type ShutdownResult struct {
	Modes     map[string]*ShutdownTally `json:"modes"`
	Readyz    map[string]int            `json:"readyz,omitempty"` // "200", "503", "refused" (the poll stops at the first refusal)
	SignalErr string                    `json:"signal_error,omitempty"`
	Elapsed   time.Duration             `json:"elapsed_ns"` // from the signal to the last session's end
}

// shutdownCase is line j of client i and its reply: distinct for every (i, j); "" (any
// reply) for the heavy line.
func shutdownCase(i, j, heavyAt int) (line, want string) {
	if j == heavyAt {
		return GCDInline(i), ""
	}
	return fmt.Sprintf("%d + %d", i*1000, j), strconv.Itoa(i*1000 + j)
}

// Run connects, pipelines, signals and counts. It returns within Timeout.
func (s Shutdown) Run(ctx context.Context, t Target) *ShutdownResult {
	if s.Clients <= 0 {
		s.Clients = 1
	}
	if s.Messages <= 0 {
		s.Messages = 250
	}
	if s.Timeout <= 0 {
		s.Timeout = 30 * time.Second
	}
	if s.HeavyAt == 0 {
		s.HeavyAt = 10
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	res := &ShutdownResult{Modes: map[string]*ShutdownTally{}}
	modes := []string{ModeWSText, ModeWSJSON, ModeTCP}
	for _, m := range modes {
		res.Modes[m] = &ShutdownTally{Ends: map[string]int{}}
	}
	var mu sync.Mutex
	var written, done sync.WaitGroup
	for mi, mode := range modes {
		for c := range s.Clients {
			i := mi*s.Clients + c
			written.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				tally := shutdownClient(ctx, t, mode, i, s.Messages, s.HeavyAt, written.Done)
				mu.Lock()
				defer mu.Unlock()
				m := res.Modes[mode]
				m.Clients++
				m.Sent += tally.Sent
				m.Answered += tally.Answered
				m.Wrong += tally.Wrong
				for k, v := range tally.Ends {
					m.Ends[k] += v
				}
				for _, p := range tally.Problems {
					if len(m.Problems) < 5 {
						m.Problems = append(m.Problems, p)
					}
				}
			}()
		}
	}
	written.Wait()
	signalled := time.Now()
	if err := s.Signal(); err != nil {
		res.SignalErr = err.Error()
	}
	if s.Readyz {
		res.Readyz = pollReadyz(ctx, t.HTTP)
	}
	done.Wait()
	res.Elapsed = time.Since(signalled)
	return res
}

// shutdownClient runs client i of one mode: connect, write every line (then call written),
// and read replies until the server ends the session.
func shutdownClient(ctx context.Context, t Target, mode string, i, n, heavyAt int, written func()) *ShutdownTally {
	tally := &ShutdownTally{Clients: 1, Ends: map[string]int{}}
	writtenOnce := sync.OnceFunc(written)
	defer writtenOnce()
	var mu sync.Mutex // the WebSocket writer and reader both report problems
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(tally.Problems) < 5 {
			tally.Problems = append(tally.Problems, fmt.Sprintf(format, args...))
		}
	}
	check := func(j int, got string) {
		if _, want := shutdownCase(i, j, heavyAt); got == want || want == "" {
			tally.Answered++
		} else {
			tally.Wrong++
			problem("line %d: got %q, want %q", j, got, want)
		}
	}
	if mode == ModeTCP {
		c, err := DialTCP(ctx, t.TCP, "")
		if err != nil {
			tally.Ends["dial: "+errShape(err)]++
			return tally
		}
		defer c.Close()
		lines := make([]string, n)
		for j := range n {
			lines[j], _ = shutdownCase(i, j, heavyAt)
		}
		if err := c.Send(ctx, lines...); err != nil {
			tally.Ends["write: "+errShape(err)]++
			return tally
		}
		tally.Sent = n
		writtenOnce()
		for j := 0; ; j++ {
			line, err := c.Recv(ctx)
			if err != nil {
				end := "EOF"
				if !errors.Is(err, io.EOF) {
					end = errShape(err)
				}
				if line != "" {
					end = line + ", then " + end
				}
				tally.Ends[end]++
				return tally
			}
			if j < n && line != "Error: server shutting down" {
				check(j, line)
				continue
			}
			// The last line before EOF is the goodbye: read on to see it is the last.
			_, err = c.Recv(ctx)
			end := "EOF"
			if err == nil {
				end = "more lines"
			} else if !errors.Is(err, io.EOF) {
				end = errShape(err)
			}
			tally.Ends[line+", then "+end]++
			return tally
		}
	}

	jsonMode := mode == ModeWSJSON
	c, err := DialWS(ctx, t.HTTP, "", jsonMode)
	if err != nil {
		tally.Ends["dial: "+errShape(err)]++
		return tally
	}
	defer c.Close()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for j := 0; ; j++ {
			var got string
			var err error
			if jsonMode {
				var m JSONReply
				m, err = c.RecvJSON(ctx)
				if err == nil && (m.Type != "result" || string(m.ID) != strconv.Itoa(j)) {
					problem("reply %d: type %s id %s (%q)", j, m.Type, m.ID, m.Display)
				}
				got = m.Display
			} else {
				got, err = c.Recv(ctx)
			}
			if err != nil {
				if code, reason := CloseStatus(err); code >= 0 {
					tally.Ends[fmt.Sprintf("close %d %s", code, reason)]++
				} else {
					tally.Ends[errShape(err)]++
				}
				return
			}
			check(j, got)
		}
	}()
	for j := range n {
		line, _ := shutdownCase(i, j, heavyAt)
		msg := line
		if jsonMode {
			b, _ := json.Marshal(map[string]any{"id": j, "expr": line})
			msg = string(b)
		}
		if err := c.Send(ctx, msg); err != nil {
			problem("write %d: %v", j, err)
			break
		}
		tally.Sent++
	}
	writtenOnce()
	<-readDone
	return tally
}

// pollReadyz asks GET /readyz on a new connection every 5 ms until the listener refuses
// connections (or ctx ends), counting the answers.
func pollReadyz(ctx context.Context, httpAddr string) map[string]int {
	out := map[string]int{}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/readyz", nil)
		if err != nil {
			return out
		}
		resp, err := c.Do(req)
		if err != nil {
			out["refused"]++
			return out
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out[strconv.Itoa(resp.StatusCode)]++
		sleep(ctx, 5*time.Millisecond)
	}
	return out
}
