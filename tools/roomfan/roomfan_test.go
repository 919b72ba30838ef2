package main

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/loadgen"
	"wscalc/wire"
)

// The NATS baseline's messages are event messages as members receive them: the load
// generator reads their seq, and they decode as wire.Event with the increment's result.
func TestEventPayloads(t *testing.T) {
	p := eventPayloads("roomfan-0", 3)
	require.Len(t, p, 4)
	for seq := uint64(1); seq <= 3; seq++ {
		got, ok := loadgen.EventSeq(p[seq])
		require.True(t, ok, "%s", p[seq])
		require.Equal(t, seq, got)
		var ev wire.Event
		require.NoError(t, json.Unmarshal(p[seq], &ev))
		var res wire.Result
		require.NoError(t, json.Unmarshal(ev.Result, &res))
		require.Equal(t, "x = "+string(rune('0'+seq)), res.Display)
	}
}

// A server's CPU is utime+stime (fields 14 and 15, in clock ticks) whatever its command's
// name holds, and its write calls syscw.
func TestParseUsage(t *testing.T) {
	stat := "4242 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 3 0 100 2000 30\n"
	io := "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 77\nread_bytes: 0\n"
	u, err := parseUsage(stat, io)
	require.NoError(t, err)
	require.Equal(t, usage{cpu: 1750 * time.Millisecond, writes: 77}, u)
	_, err = parseUsage("4242 (x) S 1 2", io)
	require.Error(t, err)
	_, err = parseUsage(stat, "rchar: 1\n")
	require.Error(t, err)
	_, err = processUsage(os.Getpid())
	require.NoError(t, err)
}

func TestConfigCheck(t *testing.T) {
	ok := config{members: 10, writers: 1, rate: 100, runs: 1}
	require.NoError(t, ok.check())
	for _, c := range []struct {
		change func(*config)
		want   string
	}{
		{func(c *config) { c.members = 0 }, "-members must be at least 1, not 0"},
		{func(c *config) { c.runs = 0 }, "-runs must be at least 1, not 0"},
		{func(c *config) { c.rate = -1 }, "-rate must not be negative, not -1"},
		{func(c *config) { c.rate = 0 }, "the NATS baseline needs a -rate (or use -no-nats)"},
		{func(c *config) { c.skipNATS, c.skipWscalc = true, true }, "-no-nats and -no-wscalc leave nothing to run"},
	} {
		cfg := ok
		c.change(&cfg)
		require.EqualError(t, cfg.check(), c.want)
	}
	contention := ok
	contention.rate, contention.skipNATS = 0, true
	require.NoError(t, contention.check())
}
