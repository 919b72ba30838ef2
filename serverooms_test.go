package main

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"wscalc/rooms"
)

// Rooms in the server: two nc clients in one room, GET /api/rooms/NAME and the rooms'
// metrics.
func TestRunServesRooms(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	r := startRun(t, 2, "-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0")
	type nc struct {
		c net.Conn
		r *bufio.Reader
	}
	dial := func() nc {
		c, err := net.Dial("tcp", r.tcpAddr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
		return nc{c, bufio.NewReader(c)}
	}
	send := func(n nc, line string) {
		_, err := n.c.Write([]byte(line + "\n"))
		require.NoError(t, err)
	}
	read := func(n nc) string {
		l, err := n.r.ReadString('\n')
		require.NoError(t, err)
		return strings.TrimSuffix(l, "\n")
	}
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	// /readyz says 200 only once rooms work (§8): the first join after it succeeds.
	require.Eventually(t, func() bool { return httpStatus(t, client, "http://"+r.httpAddr+"/readyz") == http.StatusOK },
		20*time.Second, 5*time.Millisecond)
	alice, bob := dial(), dial()
	send(alice, "join lab")
	assert.Regexp(t, `^joined lab as guest-[0-9a-f]{4} \(1 member, seq 0\)$`, read(alice))
	send(alice, "nick alice")
	assert.Regexp(t, `is now alice$`, read(alice))
	send(alice, "x = 5")
	assert.Equal(t, "x = 5", read(alice))
	send(bob, "join lab")
	assert.Regexp(t, `^joined lab as guest-[0-9a-f]{4} \(2 members, seq 1\)$`, read(bob))
	assert.Equal(t, "# 1 alice: x = 5 → x = 5", read(bob))

	info := scrape(t, client, "http://"+r.httpAddr+"/api/rooms/lab")
	assert.Contains(t, info, `"seq":1,"members":{"total":2},"vars":[{"name":"x","display":"5","kind":"integer","value":"5"}]`)
	m := scrape(t, client, "http://"+r.httpAddr+"/metrics")
	assert.Contains(t, m, "\nwscalc_rooms 1\n")
	assert.Contains(t, m, "\nwscalc_room_members 2\n")
	assert.Contains(t, m, "\nwscalc_room_events_total 1\n")
	assert.Contains(t, m, "\nwscalc_room_retries_total 0\n")

	alice.c.Close()
	assert.Equal(t, "# alice left lab (1 member)", read(bob))
	bob.c.Close()
	client.CloseIdleConnections()
	require.NoError(t, r.stop(t))
}

// A lone instance (no route, no NATS port: nobody else can join its rooms) forgets an
// empty room as soon as its TTL ends: with -room-ttl 0, at once, without the wait for
// other instances' presence that a cluster needs (rooms.DefaultExpiryQuiet, 10 s).
func TestLoneInstanceForgetsAnEmptyRoomAtOnce(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	captureStderr(t)
	r := startRun(t, 2, "-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-room-ttl", "0")
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	require.Eventually(t, func() bool { return httpStatus(t, client, "http://"+r.httpAddr+"/readyz") == http.StatusOK },
		20*time.Second, 5*time.Millisecond)
	c, err := net.Dial("tcp", r.tcpAddr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	in := bufio.NewReader(c)
	for _, line := range []string{"join lab", "x = 5", "leave"} {
		_, err := c.Write([]byte(line + "\n"))
		require.NoError(t, err)
		_, err = in.ReadString('\n')
		require.NoError(t, err)
	}
	url := "http://" + r.httpAddr + "/api/rooms/lab"
	require.Eventually(t, func() bool { return httpStatus(t, client, url) == http.StatusNotFound },
		rooms.DefaultExpiryQuiet/2, 10*time.Millisecond, "the empty room was kept")
	c.Close()
	client.CloseIdleConnections()
	require.NoError(t, r.stop(t))
}
