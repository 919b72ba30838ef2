package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Bounds of the cluster tests (rooms.md §10–§12). Generous: three -race binaries on a
// busy machine. healLimit is where waiting for the 10 s heal of the contract gives up;
// the time it took is logged.
const (
	clusterReadyWait = 90 * time.Second // every instance up and the first JetStream leader elected
	healLimit        = 15 * time.Second
	clusterWait      = 30 * time.Second // a count to spread, a client to reconnect
)

// startCluster starts n wscalc processes forming an embedded cluster on free loopback
// route ports (each named calc-<i>, extra[i] added to its arguments, if given) and waits
// until every /readyz answers 200: a new cluster elects its first leader only once every
// peer is up.
func startCluster(t *testing.T, n int, extra ...[]string) []*server {
	t.Helper()
	routes := freeLoopbackAddrs(t, n)
	peers := strings.Join(routes, ",")
	servers := make([]*server, n)
	for i := range n {
		args := []string{"-instance", "calc-" + strconv.Itoa(i), "-cluster-listen", routes[i], "-cluster-peers", peers}
		if i < len(extra) {
			args = append(args, extra[i]...)
		}
		servers[i] = startServer(t, args...)
	}
	for _, s := range servers {
		waitReadyz(t, s, clusterReadyWait)
	}
	return servers
}

// waitReadyz waits until s's /readyz answers 200.
func waitReadyz(t *testing.T, s *server, limit time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		code, body := getStatus(client, s.URL()+"/readyz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz still %d %q after %v\n%s", s.HTTPAddr, code, body, limit, s.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitOutput waits until s has written text (the start-up log line comes on stderr just
// after the addresses on stdout, which startServer waits for).
func waitOutput(t *testing.T, s *server, text string) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for !strings.Contains(s.Output(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not write %s:\n%s", s.HTTPAddr, text, s.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getStatus is a GET's status and body (0 and the error when it fails).
func getStatus(client *http.Client, url string) (int, string) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// clusterFigures are what an instance's /metrics says of the cluster, and of itself.
type clusterFigures struct {
	Instances         int
	WS, TCP           int // wscalc_cluster_clients: over the live instances
	LocalWS, LocalTCP int // wscalc_active_sessions: this instance's
}

var metricLineRE = regexp.MustCompile(`(?m)^(wscalc_cluster_instances|wscalc_cluster_clients|wscalc_active_sessions)(?:\{transport="(\w+)"\})? (\d+)$`)

// figures scrapes s's /metrics.
func figures(t *testing.T, s *server) clusterFigures {
	t.Helper()
	code, body := getStatus(&http.Client{Timeout: 5 * time.Second}, s.URL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("%s/metrics: %d %s", s.URL(), code, body)
	}
	var f clusterFigures
	for _, m := range metricLineRE.FindAllStringSubmatch(body, -1) {
		v, _ := strconv.Atoi(m[3])
		switch m[1] + "/" + m[2] {
		case "wscalc_cluster_instances/":
			f.Instances = v
		case "wscalc_cluster_clients/ws":
			f.WS = v
		case "wscalc_cluster_clients/tcp":
			f.TCP = v
		case "wscalc_active_sessions/ws":
			f.LocalWS = v
		case "wscalc_active_sessions/tcp":
			f.LocalTCP = v
		}
	}
	return f
}

// waitFigures polls the servers' /metrics until each shows instances live instances and
// ws and tcp clients over them, and returns how long that took.
func waitFigures(t *testing.T, limit time.Duration, servers []*server, instances, ws, tcp int) time.Duration {
	t.Helper()
	start := time.Now()
	for _, s := range servers {
		for {
			f := figures(t, s)
			if f.Instances == instances && f.WS == ws && f.TCP == tcp {
				break
			}
			if time.Since(start) > limit {
				t.Fatalf("%s after %v: /metrics shows %+v, want %d instances, %d ws and %d tcp clients",
					s.HTTPAddr, limit, f, instances, ws, tcp)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// wsClient is a JSON-mode WebSocket session whose messages a goroutine reads, keeping
// the last clients counts and whether the connection ended.
type wsClient struct {
	c *websocket.Conn

	mu      sync.Mutex
	total   int
	ws, tcp int
	ended   error
	replies chan string // the display of each result
	done    chan struct{}
}

func dialWSClient(ctx context.Context, t *testing.T, url string) *wsClient {
	t.Helper()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"wscalc.v1.json"}})
	if err != nil {
		t.Fatalf("WebSocket dial %s: %v", url, err)
	}
	w := &wsClient{c: c, total: -1, replies: make(chan string, 16), done: make(chan struct{})}
	go w.read()
	t.Cleanup(func() { c.CloseNow(); <-w.done })
	return w
}

func (w *wsClient) read() {
	defer close(w.done)
	for {
		_, msg, err := w.c.Read(context.Background())
		if err != nil {
			w.mu.Lock()
			w.ended = err
			w.mu.Unlock()
			return
		}
		var m struct {
			Type           string
			Total, WS, TCP int
			Display        string
		}
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		switch m.Type {
		case "clients":
			w.mu.Lock()
			w.total, w.ws, w.tcp = m.Total, m.WS, m.TCP
			w.mu.Unlock()
		case "result", "error":
			select {
			case w.replies <- m.Display:
			default:
			}
		}
	}
}

// state is the last counts seen and how the connection ended (nil: open).
func (w *wsClient) state() (total, ws, tcp int, ended error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total, w.ws, w.tcp, w.ended
}

// eval sends expr and waits for its reply.
func (w *wsClient) eval(ctx context.Context, expr string) (string, error) {
	msg, _ := json.Marshal(map[string]any{"id": 1, "expr": expr})
	if err := w.c.Write(ctx, websocket.MessageText, msg); err != nil {
		return "", err
	}
	select {
	case r := <-w.replies:
		return r, nil
	case <-w.done:
		return "", fmt.Errorf("connection ended: %v", w.ended)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// waitClientsTotal waits until every open client of clients was last shown total clients
// (ws of them WebSocket); closed ones are skipped.
func waitClientsTotal(t *testing.T, limit time.Duration, clients []*wsClient, total, ws int) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for i, w := range clients {
		for {
			got, gotWS, _, ended := w.state()
			if ended != nil || got == total && gotWS == ws {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("WebSocket client %d after %v: shown %d clients (%d ws), want %d (%d ws)", i, limit, got, gotWS, total, ws)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// tcpClient is a line-protocol session whose end a goroutine notices.
type tcpClient struct {
	c     net.Conn
	lines chan string
	done  chan struct{}
}

func dialTCPClient(t *testing.T, addr string) *tcpClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	tc := &tcpClient{c: c, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		defer close(tc.done)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			select {
			case tc.lines <- strings.TrimSuffix(line, "\n"):
			default:
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-tc.done })
	return tc
}

// eval sends a line and waits for its reply.
func (tc *tcpClient) eval(t *testing.T, line string) string {
	t.Helper()
	if _, err := fmt.Fprintf(tc.c, "%s\n", line); err != nil {
		t.Fatalf("TCP write: %v", err)
	}
	select {
	case r := <-tc.lines:
		return r
	case <-tc.done:
		t.Fatalf("TCP connection ended before the reply to %q", line)
	case <-time.After(clusterWait):
		t.Fatalf("no reply to %q within %v", line, clusterWait)
	}
	return ""
}

func (tc *tcpClient) ended() bool {
	select {
	case <-tc.done:
		return true
	default:
		return false
	}
}

// readyzWatch polls the servers' /readyz every 100 ms until stopped, and returns every
// answer that was not 200.
func readyzWatch(servers []*server) (stop func() []string) {
	quit := make(chan struct{})
	var bad []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	client := &http.Client{Timeout: 5 * time.Second}
	for _, s := range servers {
		wg.Go(func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-quit:
					return
				case <-t.C:
				}
				if code, body := getStatus(client, s.URL()+"/readyz"); code != http.StatusOK {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s %s: %d %q", time.Now().Format("15:04:05.000"), s.HTTPAddr, code, body))
					mu.Unlock()
				}
			}
		})
	}
	return func() []string {
		close(quit)
		wg.Wait()
		return bad
	}
}

// Three instances forming an embedded cluster behind nginx (HTTP and WebSocket through an
// http upstream, the line protocol through a stream one), as rooms.md §11 sets it up:
// clients through nginx land on every instance and all are shown the same global count;
// after a kill -9 of one instance the count heals on the survivors within the contract's
// 10 s, the survivors stay ready, and the killed one's clients reconnect through nginx;
// a fourth instance using a survivor's NATS (-nats-url to its -nats-listen) is counted
// and shown the same counts.
func TestClusterBehindNginx(t *testing.T) {
	natsAddr := freeLoopbackAddrs(t, 1)[0]
	servers := startCluster(t, 3, nil, nil, []string{"-nats-listen", natsAddr})
	var httpUp, tcpUp []string
	for _, s := range servers {
		httpUp, tcpUp = append(httpUp, s.HTTPAddr), append(tcpUp, s.TCPAddr)
	}
	lb := startNginx(t, httpUp, tcpUp)
	for _, s := range servers {
		waitOutput(t, s, `cluster="embedded cluster of 3`)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const nWS, nTCP = 6, 3
	var wss []*wsClient
	for range nWS {
		wss = append(wss, dialWSClient(ctx, t, "ws://"+lb.HTTPAddr+"/ws"))
	}
	var tcps []*tcpClient
	for i := range nTCP {
		tc := dialTCPClient(t, lb.TCPAddr)
		if got := tc.eval(t, fmt.Sprintf("%d * 7", i+1)); got != strconv.Itoa((i+1)*7) {
			t.Fatalf("TCP through nginx: %d * 7 → %q", i+1, got)
		}
		tcps = append(tcps, tc)
	}
	waitFigures(t, clusterWait, servers, 3, nWS, nTCP)
	waitClientsTotal(t, clusterWait, wss, nWS+nTCP, nWS)
	var perInstance []clusterFigures
	for i, s := range servers {
		f := figures(t, s)
		perInstance = append(perInstance, f)
		if f.LocalWS+f.LocalTCP == 0 {
			t.Errorf("instance %d has no client: nginx did not spread them (%+v)", i, f)
		}
	}
	t.Logf("clients per instance (ws, tcp): %d,%d  %d,%d  %d,%d", perInstance[0].LocalWS, perInstance[0].LocalTCP,
		perInstance[1].LocalWS, perInstance[1].LocalTCP, perInstance[2].LocalWS, perInstance[2].LocalTCP)

	// kill -9 of calc-0: no goodbye; the survivors drop it when its heartbeats stop.
	survivors := servers[1:]
	watch := readyzWatch(survivors)
	killed := perInstance[0]
	servers[0].kill(t)
	healed := waitFigures(t, healLimit, survivors, 2, nWS-killed.LocalWS, nTCP-killed.LocalTCP)
	t.Logf("heal after kill -9: the survivors' counts dropped the killed instance (%d ws, %d tcp) in %v (contract: 10 s)",
		killed.LocalWS, killed.LocalTCP, healed.Round(10*time.Millisecond))
	waitClientsTotal(t, clusterWait, wss, nWS+nTCP-killed.LocalWS-killed.LocalTCP, nWS-killed.LocalWS)

	// The killed instance's clients lost their connections; they reconnect through nginx.
	for i, w := range wss {
		if _, _, _, ended := w.state(); ended != nil {
			wss[i] = dialWSClient(ctx, t, "ws://"+lb.HTTPAddr+"/ws")
			if got, err := wss[i].eval(ctx, "2 ** 10"); err != nil || got != "1024" {
				t.Fatalf("reconnected WebSocket client: 2 ** 10 → %q, %v", got, err)
			}
		}
	}
	for i, tc := range tcps {
		if tc.ended() {
			tcps[i] = dialTCPClient(t, lb.TCPAddr)
			if got := tcps[i].eval(t, "2 ** 10"); got != "1024" {
				t.Fatalf("reconnected TCP client: 2 ** 10 → %q", got)
			}
		}
	}
	ended := 0
	for _, w := range wss {
		if _, _, _, e := w.state(); e != nil {
			ended++
		}
	}
	if ended != 0 {
		t.Errorf("%d WebSocket clients still closed after reconnecting", ended)
	}
	waitFigures(t, clusterWait, survivors, 2, nWS, nTCP)
	waitClientsTotal(t, clusterWait, wss, nWS+nTCP, nWS)
	if bad := watch(); len(bad) > 0 {
		t.Errorf("/readyz of the survivors was not 200 %d times after the kill:\n%s", len(bad), strings.Join(bad, "\n"))
	}

	// An instance on calc-2's NATS (-nats-url) is one more of the same service.
	ext := startServer(t, "-instance", "calc-ext", "-nats-url", "nats://"+natsAddr)
	waitReadyz(t, ext, clusterWait)
	waitOutput(t, ext, `cluster="external nats://`+natsAddr+`"`)
	extClient := dialWSClient(ctx, t, ext.WSURL())
	waitClientsTotal(t, clusterWait, []*wsClient{extClient}, nWS+nTCP+1, nWS+1)
	waitFigures(t, clusterWait, append(survivors, ext), 3, nWS+1, nTCP)
	waitClientsTotal(t, clusterWait, wss, nWS+nTCP+1, nWS+1)

	// A graceful stop says goodbye: the others drop it at once, not after 6 s.
	extClient.c.Close(websocket.StatusNormalClosure, "")
	if code := ext.Stop(t); code != 0 {
		t.Errorf("the -nats-url instance exited with status %d on SIGTERM", code)
	}
	waitFigures(t, 3*time.Second, survivors, 2, nWS, nTCP)
}

// Contradictory cluster flags exit 2 before anything listens, and say which (rooms.md §9).
func TestClusterFlagContradictions(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-cluster-listen", "127.0.0.1:6222"}, "-cluster-listen without -cluster-peers"},
		{[]string{"-cluster-peers", "127.0.0.1:6222"}, "-cluster-peers without -cluster-listen"},
		{[]string{"-nats-url", "nats://127.0.0.1:4222", "-data-dir", dir}, "-nats-url with -data-dir"},
		{[]string{"-nats-url", "nats://127.0.0.1:4222", "-nats-listen", "127.0.0.1:4223"}, "-nats-url with -nats-listen"},
		{[]string{"-nats-url", "nats://127.0.0.1:4222", "-cluster-listen", "127.0.0.1:6222", "-cluster-peers", "127.0.0.1:6222"},
			"-nats-url with -cluster-listen/-cluster-peers"},
		{[]string{"-instance", "calc 1"}, "-instance"},
	} {
		_, errOut, code := runBinary(t, "", append([]string{"-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("wscalc %s: exit %d, %q; want 2 and %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
		if strings.Contains(errOut, "playground") {
			t.Errorf("wscalc %s served before refusing: %q", strings.Join(c.args, " "), errOut)
		}
	}
}
