package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"
)

// The room of the e2e test, and how much each phase sends.
const (
	clusterRoom    = "e2e-lab"
	linesEach      = 6  // phase 1: lines per member (one of them an error)
	gapLinesEach   = 3  // lines per member on a survivor while the killed tab is away
	incrementsEach = 10 // x = x + 1 per member, all at once
	textHistory    = 20 // a text join's history (rooms.md §2)
	jsonHistory    = 100
)

// Two nc clients and two browser tabs share one room across three instances behind nginx
// (rooms.md Part 1, §10, §11): every line is seen by every member, in one order (each
// member's view is checked event by event against the others': same seq, nick, input and
// result); a late nc joiner gets the last 20 events as # lines and a late JSON joiner the
// history; after a kill -9 of the instance holding a tab, the tab reconnects through nginx
// to a survivor with epoch and since and recovers exactly the events it missed
// (recovered: true), while the others go on; an nc client of the killed instance, if any,
// joins again and its history covers the gap; then every member sends increments at once
// and none is lost.
//
// What a tab received is read from the WebSocket frames Chromium reports (the page drops a
// repeated seq itself, so its display alone could hide one); what it shows is checked too.
func TestRoomAcrossClusterBehindNginx(t *testing.T) {
	ncPath := requireTool(t, "nc")
	b := startBrowser(t)
	t.Run("Room", func(t *testing.T) { testRoomAcrossCluster(t, b, ncPath) })
	b.shutdown(t)
}

func testRoomAcrossCluster(t *testing.T, b *browser, ncPath string) {
	began := time.Now()
	servers := startCluster(t, 3)
	var httpUp, tcpUp []string
	for _, s := range servers {
		httpUp, tcpUp = append(httpUp, s.HTTPAddr), append(tcpUp, s.TCPAddr)
	}
	lb := startNginx(t, httpUp, tcpUp)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginx output:\n%s", lb.Output())
		}
	})
	roomURL := lb.URL() + "/?room=" + clusterRoom

	// The members join one by one, so that each one's instance is the one whose count grew,
	// once the session of startNginx's check that it listens has ended.
	waitNoSessions(t, servers)
	var members []roomMember
	home := map[roomMember]int{}
	join := func(open func() roomMember) {
		before := localSessions(t, servers)
		m := open()
		m.join(t)
		home[m] = newSession(t, servers, before)
		members = append(members, m)
	}
	var tabA, tabB *roomTab
	var ncA, ncB *ncMember
	join(func() roomMember { tabA = openRoomTab(t, b, "tab-a", roomURL); return tabA })
	join(func() roomMember { ncA = startNCMember(t, ncPath, lb.TCPAddr, "nc-a"); return ncA })
	join(func() roomMember { ncB = startNCMember(t, ncPath, lb.TCPAddr, "nc-b"); return ncB })
	join(func() roomMember { tabB = openRoomTab(t, b, "tab-b", roomURL); return tabB })
	t.Logf("%v: instances of tab-a, nc-a, nc-b, tab-b: %d %d %d %d", elapsed(began), home[tabA], home[ncA], home[ncB], home[tabB])

	// Phase 1: every member sends its lines at once.
	sendAll(t, members, func(m roomMember) []string {
		var lines []string
		for i := 1; i < linesEach; i++ {
			lines = append(lines, fmt.Sprintf("%s_%d = %d", strings.ReplaceAll(m.nick(), "-", "_"), i, i*i))
		}
		return append(lines, strconv.Itoa(linesEach)+" / 0")
	})
	n := len(members) * linesEach
	log := waitViews(t, members, n)
	t.Logf("%v: phase 1: %d events seen by all %d members in one order", elapsed(began), n, len(members))

	// Late joiners: nc gets the last 20 events as # lines, JSON the last 100 as history.
	late := startNCMember(t, ncPath, lb.TCPAddr, "nc-late")
	late.join(t)
	checkView(t, late.view(), log, n)
	if v := late.view(); v.joinSeq != n || len(v.history) != textHistory || v.history[0] != n-textHistory+1 {
		t.Errorf("nc-late joined at seq %d with history %v, want seq %d and the last %d events", v.joinSeq, v.history, n, textHistory)
	}
	late.quit(t)
	lateJSON := jsonJoin(t, "ws://"+lb.HTTPAddr+"/ws?room="+clusterRoom+"&nick=ws-late")
	checkView(t, lateJSON, log, n)
	if lateJSON.joinSeq != n || len(lateJSON.history) != n || lateJSON.history[0] != 1 {
		t.Errorf("JSON late joiner: seq %d, history %v; want seq %d and all %d events", lateJSON.joinSeq, lateJSON.history, n, n)
	}

	// kill -9 of an instance holding a tab (preferably one without an nc client).
	victim, target := pickVictim(home, tabA, tabB)
	t.Logf("%v: killing instance %d, which holds %s", elapsed(began), target, victim.name)
	since := victim.view().last
	// Offline, the page keeps its open connection but, once that drops, waits for the
	// browser to be online again: it stays away while the others make a gap.
	ok(t, victim.setOffline(true))
	servers[target].kill(t)
	must(victim.waitStatusFor(reconnectWait, "offline", ""))(t)
	var alive []roomMember
	for _, m := range members {
		if home[m] != target {
			alive = append(alive, m)
		}
	}
	lb.probeRoom(t)
	sendAll(t, alive, func(m roomMember) []string {
		var lines []string
		for i := 1; i <= gapLinesEach; i++ {
			lines = append(lines, fmt.Sprintf("gap_%s_%d = %d", strings.ReplaceAll(m.nick(), "-", "_"), i, i))
		}
		return lines
	})
	n = waitSettled(t, alive)
	// The killed instance's nc clients join again: their history covers the gap.
	for _, m := range members {
		if nc, isNC := m.(*ncMember); isNC && home[m] == target {
			nc.reconnect(t, ncPath, lb.TCPAddr)
			v := nc.view()
			if v.joinSeq < n || len(v.history) == 0 || v.history[0] > v.rejoinedAfter+1 {
				t.Errorf("%s joined again at seq %d with history %v after seq %d: a gap", nc.name, v.joinSeq, v.history, v.rejoinedAfter)
			}
			t.Logf("kill -9: %s joined again at seq %d after seq %d", nc.name, v.joinSeq, v.rejoinedAfter)
		}
	}
	ok(t, victim.setOffline(false))
	must(victim.waitStatusFor(reconnectWait, "connected", ""))(t)
	waitViews(t, members, n)
	victim.checkRecovered(t, since, n)
	if ws := localWS(t, servers); ws != 2 {
		t.Errorf("the survivors hold %d WebSocket sessions, want both tabs'", ws)
	}

	// Concurrent increments from every member: none is lost, all agree on the order.
	ncA.send(t, true, "x = 0")
	n = waitSettled(t, members)
	start := n
	sendAll(t, members, func(roomMember) []string { return slices.Repeat([]string{"x = x + 1"}, incrementsEach) })
	total := len(members) * incrementsEach
	n = waitSettled(t, members)
	log = waitViews(t, members, n)
	k := 0
	for s := start + 1; s <= n; s++ {
		if log[s].Input != "x = x + 1" {
			continue // a line refused during the kill that the log stored after all (§12)
		}
		if k++; log[s].Display != fmt.Sprintf("x = %d", k) {
			t.Errorf("event %d: %+v, want x = x + 1 → x = %d", s, log[s], k)
		}
	}
	if k != total {
		t.Errorf("%d increments stored, want %d", k, total)
	}
	for i, s := range servers {
		if i != target {
			checkRoomVar(t, s, n, "x", strconv.Itoa(total))
		}
	}
	t.Logf("%v: %d increments from %d members, none lost", elapsed(began), total, len(members))
	for _, tb := range []*roomTab{tabA, tabB} {
		tb.checkShown(t, n)
	}
}

// ---- what a member received ----

// roomEvent is an event as a member received it.
type roomEvent struct{ Nick, Input, Display string }

// roomView is what one member received of the room, in order, and what was wrong with it.
// Events are delivered (live, or recovered after a reconnect) each with the seq after the
// last one, never twice; a history (after a join) ends at the join's seq.
type roomView struct {
	last          int   // the last seq processed
	joinSeq       int   // the seq of the last join (text) or room message (JSON)
	history       []int // the seqs of the last join's history
	rejoinedAfter int   // the last seq processed before the last join
	events        map[int]roomEvent
	replies       int // replies received (to commands and events)
	problems      []string
}

func newRoomView() *roomView { return &roomView{events: map[int]roomEvent{}, joinSeq: -1} }

func (v *roomView) problem(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// record keeps ev as the member received it at seq; the same seq must not differ.
func (v *roomView) record(seq int, ev roomEvent) {
	if old, seen := v.events[seq]; seen && old != ev {
		v.problem("seq %d received as %+v and as %+v", seq, old, ev)
	}
	v.events[seq] = ev
}

// deliver takes a live (or recovered) event: it must be the next one.
func (v *roomView) deliver(seq int, ev roomEvent) {
	if seq != v.last+1 {
		v.problem("received seq %d after seq %d", seq, v.last)
	}
	v.record(seq, ev)
	v.last = max(v.last, seq)
}

// joined takes the history a (re)join brought: consecutive, ending at seq; what it holds
// after the last seq processed counts as delivered, and it must leave no gap.
func (v *roomView) joined(seq int, history []int) {
	for i, s := range history {
		if s != seq-len(history)+1+i {
			v.problem("join at seq %d: history seqs %v are not the last ones in order", seq, history)
			break
		}
	}
	if v.last > 0 && seq > v.last && (len(history) == 0 || history[0] > v.last+1) {
		v.problem("joined again at seq %d after seq %d, history %v: events lost", seq, v.last, history)
	}
	v.rejoinedAfter, v.joinSeq, v.history = v.last, seq, history
	v.last = max(v.last, seq)
}

// checkView fails the test for the view's problems, and for an event that differs from the
// room's log or a view that is not at seq n.
func checkView(t *testing.T, v *roomView, log map[int]roomEvent, n int) {
	t.Helper()
	for _, p := range v.problems {
		t.Error(p)
	}
	if v.last != n {
		t.Errorf("view at seq %d, want %d", v.last, n)
	}
	for s, ev := range v.events {
		if log[s] != ev {
			t.Errorf("seq %d received as %+v, the others received %+v", s, ev, log[s])
		}
	}
}

// roomMember is a member of the room the test drives: an nc client or a tab.
type roomMember interface {
	nick() string
	join(t *testing.T)                              // sets the nick, joins, and waits for it
	send(t *testing.T, event bool, lines ...string) // sends lines without waiting
	view() *roomView
}

// sendAll makes every member send its lines at once.
func sendAll(t *testing.T, members []roomMember, lines func(roomMember) []string) {
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Go(func() { m.send(t, true, lines(m)...) })
	}
	wg.Wait()
}

// waitViews waits until every member has processed seq n, then checks that their views
// agree, and returns the room's log they make (seq → event).
func waitViews(t *testing.T, members []roomMember, n int) map[int]roomEvent {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for _, m := range members {
		for m.view().last < n {
			if time.Now().After(deadline) {
				v := m.view()
				t.Fatalf("%s at seq %d after %v, want %d; problems: %v", m.nick(), v.last, clusterWait, n, v.problems)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	log := map[int]roomEvent{}
	for _, m := range members {
		for s, ev := range m.view().events {
			if _, seen := log[s]; !seen {
				log[s] = ev
			}
		}
	}
	for s := 1; s <= n; s++ {
		if _, seen := log[s]; !seen {
			t.Errorf("no member received seq %d", s)
		}
	}
	for _, m := range members {
		v := m.view()
		t.Run(m.nick(), func(t *testing.T) { checkView(t, v, log, n) })
	}
	return log
}

// waitSettled waits until the members have received the replies to everything they sent
// and agree on the last seq, and returns it.
func waitSettled(t *testing.T, members []roomMember) int {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for {
		last := map[int]bool{}
		done := true
		for _, m := range members {
			if s, isSettled := m.(interface{ settled() bool }); !isSettled || !s.settled() {
				done = false
			}
			last[m.view().last] = true
		}
		if done && len(last) == 1 {
			for s := range last {
				waitViews(t, members, s)
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("members did not settle on one seq within %v: %v", clusterWait, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- nc members ----

// ncMember is a member on Debian's nc through nginx's stream proxy: every line nc printed,
// per connection, and what was sent on it (replies come in request order).
type ncMember struct {
	name  string
	mu    sync.Mutex
	conns []*ncConn
}

type ncConn struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	sent  []ncLine
	lines []string
	done  chan struct{} // nc's output ended
}

type ncLine struct {
	text  string
	event bool // an event (a calculation), not a command
}

func startNCMember(t *testing.T, ncPath, addr, name string) *ncMember {
	t.Helper()
	m := &ncMember{name: name}
	m.dial(t, ncPath, addr)
	return m
}

// dial starts `nc -N HOST PORT` with its stdin and stdout piped to the test.
func (m *ncMember) dial(t *testing.T, ncPath, addr string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	c := &ncConn{cmd: exec.Command(ncPath, "-N", host, port), done: make(chan struct{})}
	stdin, err := c.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdin = stdin
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start nc: %v", err)
	}
	go func() {
		defer close(c.done)
		r := bufio.NewScanner(stdout)
		for r.Scan() {
			m.mu.Lock()
			c.lines = append(c.lines, r.Text())
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.end() })
	m.mu.Lock()
	m.conns = append(m.conns, c)
	m.mu.Unlock()
}

// end closes nc's stdin (-N then shuts the socket down and the server closes), and kills
// nc if it has not exited within 5 s (a connection whose server died: nc does not notice).
func (c *ncConn) end() {
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = c.cmd.Wait()
}

func (m *ncMember) nick() string { return m.name }

func (m *ncMember) send(t *testing.T, event bool, lines ...string) {
	m.mu.Lock()
	c := m.conns[len(m.conns)-1]
	for _, l := range lines {
		c.sent = append(c.sent, ncLine{text: l, event: event})
	}
	m.mu.Unlock()
	if _, err := io.WriteString(c.stdin, strings.Join(lines, "\n")+"\n"); err != nil {
		t.Errorf("%s: writing to nc: %v", m.name, err)
	}
}

func (m *ncMember) join(t *testing.T) {
	t.Helper()
	m.send(t, false, "nick "+m.name, "join "+clusterRoom)
	m.waitSettled(t)
	if v := m.view(); v.joinSeq < 0 || len(v.problems) > 0 {
		m.mu.Lock()
		defer m.mu.Unlock()
		t.Fatalf("%s did not join: %v; nc printed:\n%s", m.name, v.problems, strings.Join(m.conns[len(m.conns)-1].lines, "\n"))
	}
}

// reconnect replaces a connection whose instance died with a new one that joins again.
func (m *ncMember) reconnect(t *testing.T, ncPath, addr string) {
	t.Helper()
	m.mu.Lock()
	old := m.conns[len(m.conns)-1]
	m.mu.Unlock()
	old.end()
	m.dial(t, ncPath, addr)
	m.join(t)
}

func (m *ncMember) quit(t *testing.T) {
	m.mu.Lock()
	c := m.conns[len(m.conns)-1]
	m.mu.Unlock()
	c.end()
}

// settled reports whether every line sent has its reply.
func (m *ncMember) settled() bool {
	m.mu.Lock()
	sent := 0
	for _, c := range m.conns {
		sent += len(c.sent)
	}
	m.mu.Unlock()
	return m.view().replies == sent
}

func (m *ncMember) waitSettled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for !m.settled() {
		if time.Now().After(deadline) {
			m.mu.Lock()
			c := m.conns[len(m.conns)-1]
			t.Fatalf("%s: no reply to every line within %v; sent %v, received:\n%s", m.name, clusterWait, c.sent, strings.Join(c.lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	eventLineRE  = regexp.MustCompile(`^# (\d+) ([A-Za-z0-9_-]{1,24}): (.*) → (.*)$`)
	joinedLineRE = regexp.MustCompile(`^joined (\S+) as (\S+) \((\d+) members?, seq (\d+)\)$`)
)

// view reads what nc printed (rooms.md §4): a reply answers the next line sent, and an
// event's reply is the event after the last one received; a # line with a seq is another
// member's event, or, after a join's reply, one of its history.
func (m *ncMember) view() *roomView {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := newRoomView()
	for _, c := range m.conns {
		next := 0
		var history []int
		joinSeq := -1 // a join's history is still arriving
		endHistory := func() {
			if joinSeq >= 0 {
				v.joined(joinSeq, history)
				joinSeq, history = -1, nil
			}
		}
		for _, line := range c.lines {
			if ev := eventLineRE.FindStringSubmatch(line); ev != nil {
				seq, _ := strconv.Atoi(ev[1])
				e := roomEvent{Nick: ev[2], Input: ev[3], Display: ev[4]}
				if joinSeq >= 0 && seq <= joinSeq {
					history = append(history, seq)
					if seq > v.last {
						v.record(seq, e)
					}
					continue
				}
				endHistory()
				v.deliver(seq, e)
				continue
			}
			if strings.HasPrefix(line, "# ") {
				if strings.HasSuffix(line, " was reset") {
					v.problem("%s: %s", m.name, line)
				}
				continue // a notice
			}
			endHistory()
			v.replies++
			if next >= len(c.sent) {
				v.problem("%s: reply %q to no line", m.name, line)
				continue
			}
			sent := c.sent[next]
			next++
			switch j := joinedLineRE.FindStringSubmatch(line); {
			case j != nil:
				joinSeq, _ = strconv.Atoi(j[4])
			case sent.event && strings.HasSuffix(line, rooms503):
				v.problem("%s: %q refused: %s", m.name, sent.text, line)
			case sent.event:
				v.deliver(v.last+1, roomEvent{Nick: m.name, Input: sent.text, Display: line})
			}
		}
		endHistory()
	}
	return v
}

// rooms503 is the refusal of a line while the room log has no quorum (rooms.md §12).
const rooms503 = "rooms unavailable, try again"

// ---- tabs ----

// roomTab is a playground tab in the room, with every WebSocket frame it received.
type roomTab struct {
	*tab
	mu      sync.Mutex
	sockets []*tabSocket
	sent    int
}

type tabSocket struct {
	id     network.RequestID
	url    string
	frames [][]byte
}

// openRoomTab opens the room's address in a new tab that records its WebSocket frames.
func openRoomTab(t *testing.T, b *browser, name, url string) *roomTab {
	t.Helper()
	tb, err := b.newTab(t, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.close)
	rt := &roomTab{tab: tb}
	ok(t, chromedp.Listen(tb.ctx, rt.onEvent))
	ok(t, tb.do(pageWait, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
		return err
	})))
	ok(t, tb.load(url))
	return rt
}

// onEvent runs on the tab's event loop: it only appends.
func (rt *roomTab) onEvent(ev any) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventWebSocketCreated:
		rt.sockets = append(rt.sockets, &tabSocket{id: e.RequestID, url: e.URL})
	case *network.EventWebSocketFrameReceived:
		for _, s := range rt.sockets {
			if s.id == e.RequestID && e.Response != nil && e.Response.Opcode == 1 {
				s.frames = append(s.frames, e.Response.PayloadData)
			}
		}
	}
}

func (rt *roomTab) nick() string { return rt.name }

func (rt *roomTab) join(t *testing.T) {
	t.Helper()
	must(poll[bool](rt.tab, pageWait, `() => !document.querySelector('[data-testid=room-panel]').hidden`))(t)
	if e := must(rt.eval("nick " + rt.name))(t); e.Kind != "text" || !strings.HasSuffix(e.Result, " is now "+rt.name) {
		t.Fatalf("%s: nick gave %+v", rt.name, e)
	}
}

// send types the lines, each followed by Enter, without waiting for the replies.
func (rt *roomTab) send(t *testing.T, event bool, lines ...string) {
	if event {
		rt.mu.Lock()
		rt.sent += len(lines)
		rt.mu.Unlock()
	}
	keys := strings.Join(lines, kb.Enter) + kb.Enter
	if err := rt.do(pageWait, chromedp.SendKeys(chromedp.CSS(selExpr), keys)); err != nil {
		t.Errorf("%s: typing %q: %v", rt.name, lines, err)
	}
}

// wireMsg is the part of a JSON-mode message (rooms.md §5) the test reads.
type wireMsg struct {
	Type      string
	Room      string
	Epoch     string
	Seq       int
	Input     string
	Display   string
	Member    struct{ Nick string }
	Result    struct{ Display string }
	You       struct{ Nick string }
	History   []wireMsg
	Recovered bool
}

// roomMsg is a room message as a tab received it.
type roomMsg struct {
	socket    int
	url       string
	epoch     string
	seq       int
	recovered bool
	history   []int
}

func (rt *roomTab) view() *roomView {
	v, _, _ := rt.read()
	return v
}

// settled reports whether every event line typed has its reply.
func (rt *roomTab) settled() bool {
	v, own, _ := rt.read()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return own == rt.sent && v != nil
}

// read goes through the frames of every socket in order.
func (rt *roomTab) read() (v *roomView, own int, rooms []roomMsg) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	v = newRoomView()
	for i, s := range rt.sockets {
		for _, f := range s.frames {
			var m wireMsg
			if err := json.Unmarshal(f, &m); err != nil {
				v.problem("%s: frame %q: %v", rt.name, f, err)
				continue
			}
			if r := jsonMessage(v, m, rt.name); r != nil {
				r.socket, r.url = i, s.url
				rooms = append(rooms, *r)
			}
			if m.Seq > 0 && (m.Type == "result" || m.Type == "error") {
				own++
			}
		}
	}
	return v, own, rooms
}

// jsonMessage takes one JSON-mode message of member nick into v; for a room message it
// returns what it said.
func jsonMessage(v *roomView, m wireMsg, nick string) *roomMsg {
	switch m.Type {
	case "event":
		if m.Room == clusterRoom {
			v.deliver(m.Seq, roomEvent{Nick: m.Member.Nick, Input: m.Input, Display: m.Result.Display})
		}
	case "result", "error":
		if m.Seq > 0 {
			v.deliver(m.Seq, roomEvent{Nick: nick, Input: m.Input, Display: m.Display})
		}
	case "room":
		r := &roomMsg{epoch: m.Epoch, seq: m.Seq, recovered: m.Recovered}
		if m.Recovered {
			for _, h := range m.History {
				r.history = append(r.history, h.Seq)
				v.deliver(h.Seq, roomEvent{Nick: h.Member.Nick, Input: h.Input, Display: h.Result.Display})
			}
			if v.last != m.Seq {
				v.problem("recovered up to seq %d, the room message says %d", v.last, m.Seq)
			}
			return r
		}
		if v.last > 0 {
			v.problem("a room message without recovery after seq %d", v.last)
		}
		for _, h := range m.History {
			r.history = append(r.history, h.Seq)
			v.record(h.Seq, roomEvent{Nick: h.Member.Nick, Input: h.Input, Display: h.Result.Display})
		}
		if want := min(m.Seq, jsonHistory); len(r.history) != want {
			v.problem("snapshot at seq %d with %d events of history, want %d", m.Seq, len(r.history), want)
		}
		v.joined(m.Seq, r.history)
		return r
	}
	return nil
}

// checkRecovered asserts that the tab's last connection recovered the room with the epoch
// and seq since it had processed (the room then at seq n), and that the page says so.
func (rt *roomTab) checkRecovered(t *testing.T, since, n int) {
	t.Helper()
	_, _, rooms := rt.read()
	if len(rooms) < 2 {
		t.Fatalf("%s received %d room messages, want the join's and the reconnect's", rt.name, len(rooms))
	}
	first, last := rooms[0], rooms[len(rooms)-1]
	u, err := url.Parse(last.url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("epoch") != first.epoch || q.Get("since") != strconv.Itoa(since) || q.Get("nick") != rt.name {
		t.Errorf("%s reconnected to %s, want epoch %s, since %d and nick %s", rt.name, last.url, first.epoch, since, rt.name)
	}
	// The survivor's replica may not have applied the last events yet when the tab gets
	// in: those then come live, after the recovered ones (the view checks that).
	if !last.recovered || last.epoch != first.epoch || last.seq <= since || last.seq > n || len(last.history) != last.seq-since {
		t.Errorf("%s after the reconnect: %+v, want recovered events %d…%d in epoch %s", rt.name, last, since+1, n, first.epoch)
	}
	t.Logf("kill -9: %s recovered events %d…%d through nginx (the room at %d)", rt.name, since+1, last.seq, n)
	if rec := must(poll[string](rt.tab, pageWait, `() => document.querySelector('[data-testid=room-panel]').dataset.recovered`))(t); rec != "true" {
		t.Errorf("%s shows recovered %s, want true", rt.name, rec)
	}
}

// checkShown asserts that the page shows every event 1…n once, and the others' events in
// seq order (the page shows its own lines where they were typed).
func (rt *roomTab) checkShown(t *testing.T, n int) {
	t.Helper()
	lines := must(rt.roomLines(n))(t)
	var seqs, others []int
	for _, l := range lines {
		seqs = append(seqs, l.Seq)
		if l.Who != "" && l.Who != rt.name {
			others = append(others, l.Seq)
		}
	}
	sorted := slices.Sorted(slices.Values(seqs))
	for i, s := range sorted {
		if s != i+1 || len(sorted) != n {
			t.Errorf("%s shows seqs %v, want 1…%d once each", rt.name, seqs, n)
			break
		}
	}
	if !slices.IsSorted(others) {
		t.Errorf("%s shows the others' events out of order: %v", rt.name, others)
	}
}

// ---- the rest ----

// jsonJoin joins the room over a JSON-mode WebSocket, returns the view its room message
// gives and closes.
func jsonJoin(t *testing.T, url string) *roomView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"wscalc.v1.json"}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	v := newRoomView()
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("JSON late joiner: %v before the room message", err)
		}
		var m wireMsg
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("JSON late joiner: %q: %v", msg, err)
		}
		if r := jsonMessage(v, m, "ws-late"); r != nil {
			if r.recovered {
				t.Errorf("a join without epoch and since got recovered: true")
			}
			c.Close(websocket.StatusNormalClosure, "")
			return v
		}
	}
}

// probeRoom joins the room through nginx and sends a line until the room log takes it
// (after a kill -9 a new leader may have to be elected), then leaves.
func (n *nginx) probeRoom(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", n.TCPAddr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(clusterWait))
	r := bufio.NewReader(c)
	reply := func(line string) string { // the next line that is not a # line
		fmt.Fprintf(c, "%s\n", line)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("probe %q: %v", line, err)
			}
			if !strings.HasPrefix(l, "# ") {
				return strings.TrimSuffix(l, "\n")
			}
		}
	}
	for _, line := range []string{"nick probe", "join " + clusterRoom, "probe = 1"} {
		got := reply(line)
		for strings.HasSuffix(got, rooms503) {
			time.Sleep(200 * time.Millisecond)
			got = reply(line)
		}
		if strings.HasPrefix(got, "Error") {
			t.Fatalf("probe %q: %s", line, got)
		}
	}
	reply("leave")
}

// localSessions is each instance's count of its own sessions.
func localSessions(t *testing.T, servers []*server) []int {
	counts := make([]int, len(servers))
	for i, s := range servers {
		select {
		case <-s.Exited():
		default:
			f := figures(t, s)
			counts[i] = f.LocalWS + f.LocalTCP
		}
	}
	return counts
}

func elapsed(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

// localWS is the live instances' WebSocket sessions.
func localWS(t *testing.T, servers []*server) int {
	n := 0
	for _, s := range servers {
		select {
		case <-s.Exited():
		default:
			n += figures(t, s).LocalWS
		}
	}
	return n
}

// waitNoSessions waits until no instance has a session.
func waitNoSessions(t *testing.T, servers []*server) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for slices.Max(localSessions(t, servers)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sessions left on the instances: %v", localSessions(t, servers))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newSession waits until one instance holds one more session than before, and returns it.
func newSession(t *testing.T, servers []*server, before []int) int {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for {
		now := localSessions(t, servers)
		for i := range now {
			if now[i] == before[i]+1 {
				return i
			}
		}
		if time.Now().After(deadline) {
			var each []clusterFigures
			for _, s := range servers {
				each = append(each, figures(t, s))
			}
			t.Fatalf("no instance has a new session: %v, before %v (%+v)", now, before, each)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pickVictim is a tab and its instance, one without an nc client if there is one.
func pickVictim(home map[roomMember]int, tabs ...*roomTab) (*roomTab, int) {
	best, ncs := tabs[0], 1<<30
	for _, tb := range tabs {
		n := 0
		for m, i := range home {
			if _, isNC := m.(*ncMember); isNC && i == home[tb] {
				n++
			}
		}
		if n < ncs {
			best, ncs = tb, n
		}
	}
	return best, home[best]
}

// checkRoomVar waits until s's GET /api/rooms/NAME shows the room at seq n with name =
// value.
func checkRoomVar(t *testing.T, s *server, n int, name, value string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(clusterWait)
	for {
		code, body := getStatus(client, s.URL()+"/api/rooms/"+clusterRoom)
		var r struct {
			Seq  int
			Vars []struct{ Name, Value string }
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &r) != nil {
			t.Fatalf("%s GET /api/rooms/%s: %d %s", s.HTTPAddr, clusterRoom, code, body)
		}
		for _, v := range r.Vars {
			if v.Name == name && v.Value == value && r.Seq == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s GET /api/rooms/%s: %s, want seq %d and %s = %s", s.HTTPAddr, clusterRoom, body, n, name, value)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
