package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/coder/websocket"
)

// nginx is a load balancer in front of several instances, as rooms.md §11 sets one up:
// HTTP and WebSocket through an http upstream, the line protocol through a stream one.
// Start it with startNginx.
type nginx struct {
	HTTPAddr string // the HTTP (and WebSocket) listener, 127.0.0.1:port
	TCPAddr  string // the line-protocol (stream) listener, 127.0.0.1:port
	Dir      string // its prefix: nginx.conf, temporary files

	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
}

// URL is the base URL of the HTTP listener.
func (n *nginx) URL() string { return "http://" + n.HTTPAddr }

// Output is what nginx wrote to stderr (its error log).
func (n *nginx) Output() string { return n.out.String() }

// nginxConf is the configuration startNginx writes: §11's, on loopback, with the prefix's
// own temporary directories so that nothing of the system's nginx is touched. Host is
// $http_host, not §11's $host: on a port other than 80 or 443 the WebSocket origin check
// compares the page's origin with the Host header, port included.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`# written by the wscalc e2e tests
{{with .StreamModule}}load_module {{.}};
{{end}}master_process off;
worker_processes 1;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    upstream wscalc { {{range .HTTP}}server {{.}}; {{end}}}
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    server {
        listen {{.HTTPListen}};
        location / {
            proxy_pass http://wscalc; proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 75s; proxy_send_timeout 75s;
        }
    }
}
stream {
    upstream wscalc_tcp { {{range .TCP}}server {{.}}; {{end}}}
    server { listen {{.TCPListen}}; proxy_pass wscalc_tcp; proxy_timeout 11m; }
}
`))

// startNginx starts nginx in front of the HTTP and TCP upstreams (host:port each) on free
// loopback ports, waits until both listen, and stops it when the test ends. It skips when
// nginx or its stream module is absent and CI is unset; under CI that fails the test.
func startNginx(t *testing.T, httpUpstreams, tcpUpstreams []string) *nginx {
	t.Helper()
	bin := nginxBinary(t)
	module, err := nginxStreamModule(bin)
	if err != nil {
		toolMissing(t, "%v", err) // the stream module is part of the tool
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	addrs := freeLoopbackAddrs(t, 2)
	var conf bytes.Buffer
	err = nginxConf.Execute(&conf, map[string]any{"StreamModule": module, "HTTP": httpUpstreams,
		"TCP": tcpUpstreams, "HTTPListen": addrs[0], "TCPListen": addrs[1]})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), conf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &nginx{HTTPAddr: addrs[0], TCPAddr: addrs[1], Dir: dir, out: &syncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(bin, "-p", dir, "-c", "nginx.conf",
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log stderr;")
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	configureChild(n.cmd)
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() { n.stop(t) })
	if err := n.waitListening(10 * time.Second); err != nil {
		t.Fatalf("nginx: %v\nconfig:\n%s\noutput:\n%s", err, conf.String(), n.Output())
	}
	return n
}

// nginxBinary is Debian's nginx: /usr/sbin is not in every user's PATH.
func nginxBinary(t *testing.T) string {
	if path, err := exec.LookPath("nginx"); err == nil {
		return path
	}
	return requireTool(t, "/usr/sbin/nginx")
}

// nginxStreamModule returns the load_module argument nginx needs for the stream block:
// "" when the module is built in, the module's path when it is a dynamic one (Debian's
// libnginx-mod-stream), and an error when nginx has none.
func nginxStreamModule(bin string) (string, error) {
	out, err := exec.Command(bin, "-V").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s -V: %v\n%s", bin, err, out)
	}
	v := string(out)
	switch {
	case strings.Contains(v, "--with-stream=dynamic"):
		dir := "/usr/lib/nginx/modules"
		if m := regexp.MustCompile(`--modules-path=(\S+)`).FindStringSubmatch(v); m != nil {
			dir = m[1]
		}
		path := filepath.Join(dir, "ngx_stream_module.so")
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("nginx has the stream module as %s, which is missing: install Debian's libnginx-mod-stream", path)
		}
		return path, nil
	case regexp.MustCompile(`--with-stream(\s|$)`).MatchString(v):
		return "", nil
	}
	return "", errors.New("this nginx has no stream module (the TCP proxy): install Debian's nginx and libnginx-mod-stream")
}

// waitListening waits until both listeners accept connections, or nginx exits.
func (n *nginx) waitListening(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, addr := range []string{n.HTTPAddr, n.TCPAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-n.done:
				return fmt.Errorf("exited before listening on %s (%v)", addr, n.cmd.ProcessState)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("not listening on %s after %s", addr, limit)
			}
		}
	}
	return nil
}

// stop ends nginx (SIGQUIT: it finishes the requests under way), killing it if it takes
// more than 10 s.
func (n *nginx) stop(t *testing.T) {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Errorf("nginx did not stop within 10 s of SIGQUIT; killing it\n%s", n.Output())
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// freeLoopbackAddrs returns n addresses 127.0.0.1:port whose ports were free a moment ago.
func freeLoopbackAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// syncBuffer is a bytes.Buffer safe for a process's output and a test's reads at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The harness works: HTTP requests are spread over both upstreams with the Host header
// kept, a WebSocket is upgraded through it, and lines reach a TCP upstream and come back.
func TestNginxHarness(t *testing.T) {
	var backends []*httptest.Server
	for i := range 2 {
		mux := http.NewServeMux()
		mux.HandleFunc("/who", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "backend %d, Host %s", i, r.Host)
		})
		mux.HandleFunc("/ws", wsEcho)
		s := httptest.NewServer(mux)
		t.Cleanup(s.Close)
		backends = append(backends, s)
	}
	echo := startTCPEcho(t)
	n := startNginx(t, []string{backends[0].Listener.Addr().String(), backends[1].Listener.Addr().String()},
		[]string{echo})

	seen := map[string]bool{}
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		body := httpGet(t, client, n.URL()+"/who")
		if !strings.HasSuffix(body, "Host "+n.HTTPAddr) {
			t.Fatalf("GET /who through nginx: %q, want the Host %s kept", body, n.HTTPAddr)
		}
		seen[strings.Split(body, ",")[0]] = true
	}
	if len(seen) != 2 {
		t.Errorf("4 requests reached %v, want both backends (round robin)", seen)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr+"/ws", nil)
	if err != nil {
		t.Fatalf("WebSocket through nginx: %v\n%s", err, n.Output())
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte("1 + 1")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.Read(ctx); err != nil || string(msg) != "1 + 1" {
		t.Fatalf("WebSocket echo through nginx: %q, %v", msg, err)
	}
	ws.Close(websocket.StatusNormalClosure, "")

	c, err := net.DialTimeout("tcp", n.TCPAddr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, "2 * 21\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "2 * 21\n" {
		t.Fatalf("TCP echo through nginx: %q, %v\n%s", line, err, n.Output())
	}
}

func httpGet(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %q %v", url, resp.StatusCode, body, err)
	}
	return string(body)
}

// wsEcho echoes a WebSocket's messages.
func wsEcho(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, msg); err != nil {
			return
		}
	}
}

// startTCPEcho starts a loopback TCP server that echoes what it reads, and returns its
// address; it stops when the test ends.
func startTCPEcho(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			})
		}
	})
	return l.Addr().String()
}
