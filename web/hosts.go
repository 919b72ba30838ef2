package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"wscalc/calc"
	"wscalc/presence"
	"wscalc/wire"
)

// DNS rebinding: a page on evil.example can make its own name resolve to 127.0.0.1 after
// it has loaded, and then talk to a server on the visitor's loopback interface as
// "same-origin" (the browser sees evil.example in both places), past the WebSocket origin
// check. What gives it away is the Host header, which still says evil.example. So when
// the HTTP server listens on a loopback address, /ws and /api/eval answer only requests
// whose Host is a loopback name, as development servers do: localhost, or a loopback IP
// address literal (127.0.0.1, [::1], any 127.x.y.z; an IP literal cannot be rebound),
// with any port, plus the names the operator allows (-allow-host). The static files,
// probes and metrics carry nothing to steal and stay reachable under any name.

// msgHostNotAllowed is the message of the 403 for a refused Host.
const msgHostNotAllowed = "this server answers /ws and /api/eval only under a localhost name " +
	"(DNS rebinding protection); start it with -allow-host to serve another host name"

// hostPolicy says which Host names may use /ws and /api/eval.
type hostPolicy struct {
	exact    map[string]bool // "name" (any port) or "name:port", lower case
	suffixes []string        // ".example.com" for "*.example.com"
}

// newHostPolicy returns the policy for a server listening on listen, or nil (every Host is
// answered) when listen is not a loopback address.
func newHostPolicy(listen net.Addr, allow []string) *hostPolicy {
	if listen == nil {
		return nil
	}
	ap, err := netip.ParseAddrPort(listen.String())
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return nil
	}
	p := &hostPolicy{exact: make(map[string]bool)}
	for _, h := range allow {
		h = strings.ToLower(strings.TrimSpace(h))
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			p.suffixes = append(p.suffixes, "."+rest)
			continue
		}
		p.exact[h] = true
	}
	return p
}

// allows reports whether host (a request's Host: name, name:port, [v6]:port) is answered.
func (p *hostPolicy) allows(host string) bool {
	if p == nil {
		return true
	}
	h := strings.ToLower(host)
	if h == "" {
		return false
	}
	if p.exact[h] {
		return true // an allowed name:port
	}
	name := h
	if n, _, err := net.SplitHostPort(h); err == nil {
		name = n
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if name == "localhost" || p.exact[name] || p.exact["["+name+"]"] {
		return true
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		return ip.Unmap().IsLoopback()
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// checkHost answers 403 with the API's error object to a request whose Host the policy
// does not allow, and counts the refusal for t as reason "host".
func checkHost(p *hostPolicy, pr *presence.Presence, t presence.Transport) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if p == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p.allows(r.Host) {
				next.ServeHTTP(w, r)
				return
			}
			pr.Reject(t, "host")
			writeJSON(w, http.StatusForbidden, wire.NewError(nil, "", &calc.Error{Msg: msgHostNotAllowed}))
		})
	}
}

// CheckHostPattern reports whether s can be given to -allow-host (Config.AllowHosts): a
// host name or IP address, with or without a port (example.com, example.com:8080,
// [2001:db8::1]:8080), or *.example.com for every name under example.com.
func CheckHostPattern(s string) error {
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@ ") {
		return fmt.Errorf("%q: want a host name, optionally with :port (example.com, example.com:8080), not a URL", s)
	}
	name := s
	if n, port, err := net.SplitHostPort(s); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("%q: bad port", s)
		}
		name = n
	} else if strings.HasPrefix(s, "[") {
		name = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return nil
	}
	name = strings.TrimPrefix(name, "*.")
	if name == "" || strings.Contains(name, "*") {
		return fmt.Errorf("%q would allow every host; name the hosts to allow (example.com, *.example.com)", s)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || strings.Trim(strings.ToLower(label), "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return fmt.Errorf("%q: not a host name", s)
		}
	}
	return nil
}
