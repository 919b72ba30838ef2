package web

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHostPolicy(t *testing.T) {
	loopback := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}
	p := newHostPolicy(loopback, []string{"calc.example", "Other.Example:8443", "*.dev.example", "[2001:db8::1]"})
	for host, want := range map[string]bool{
		"localhost":           true,
		"LOCALHOST:8080":      true,
		"localhost:1":         true,
		"127.0.0.1":           true,
		"127.0.0.1:8080":      true,
		"127.8.9.10:8080":     true, // an IP literal cannot be rebound
		"[::1]":               true,
		"[::1]:8080":          true,
		"calc.example":        true,
		"calc.example:9999":   true,
		"other.example:8443":  true,
		"other.example:8080":  false,
		"other.example":       false,
		"a.dev.example:80":    true,
		"dev.example":         false,
		"[2001:db8::1]:80":    true,
		"evil.example":        false,
		"evil.example:8080":   false,
		"localhost.evil.test": false,
		"10.0.0.1:8080":       false,
		"":                    false,
		"localhost.":          false,
	} {
		assert.Equal(t, want, p.allows(host), "%q", host)
	}

	// Not on loopback: no policy, every Host is answered.
	assert.Nil(t, newHostPolicy(&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, nil))
	assert.Nil(t, newHostPolicy(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 8080}, nil))
	assert.Nil(t, newHostPolicy(nil, nil))
	assert.True(t, (*hostPolicy)(nil).allows("evil.example"))
	assert.NotNil(t, newHostPolicy(&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, nil))
}

func TestCheckHostPattern(t *testing.T) {
	for _, ok := range []string{"example.com", "example.com:8080", "*.example.com", "calc",
		"192.0.2.1", "[2001:db8::1]:8080", "[2001:db8::1]", "2001:db8::1", "my-host.example"} {
		assert.NoError(t, CheckHostPattern(ok), ok)
	}
	for bad, mention := range map[string]string{
		"*":                  "every host",
		"*.":                 "every host",
		"*.*.example":        "every host",
		"http://example.com": "not a URL",
		"example.com/path":   "not a URL",
		"example.com:port":   "bad port",
		"exa mple.com":       "not a URL",
		"example..com":       "not a host name",
		"ex!ample.com":       "not a host name",
	} {
		err := CheckHostPattern(bad)
		if assert.Error(t, err, bad) {
			assert.Contains(t, err.Error(), mention, bad)
		}
	}
}
