package scenario

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Summary describes a set of latencies.
type Summary struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// Summarize computes the summary of ds (nearest-rank percentiles).
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Summary{N: len(s), P50: rank(0.50), P99: rank(0.99), Max: s[len(s)-1]}
}

func (s Summary) String() string {
	if s.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p99 %s, max %s (n=%d)", Dur(s.P50), Dur(s.P99), Dur(s.Max), s.N)
}

// Dur prints a duration with three significant figures.
func Dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%d µs", d.Microseconds())
}

// Counts is a goroutine-safe tally of outcomes by name.
type Counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *Counts) Add(key string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[key] += n
}

// Map returns a copy of the tally.
func (c *Counts) Map() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// FormatCounts prints a tally as "a 3, b 1", largest first.
func FormatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// The reasons a reply may give for refusing a line, as /metrics names them (issue 8).
const (
	Answered      = "answered"       // a result (or any reply that is not a refusal below)
	RefusedTime   = "time"           // Error: evaluation took too long (limit 1 s)
	RefusedBudget = "budget"         // Error: session budget exhausted, try again in N s
	RefusedCost   = "cost"           // ... too costly for the session budget ...
	RefusedSess   = "session_memory" // ... session memory limit reached ...
	RefusedServer = "server_memory"  // Error: server busy (memory), try again later
	RefusedBusy   = "busy"           // Error: server busy ...
	RefusedPerIP  = "per_ip"         // Error: too many connections from your address ...
	OtherError    = "other_error"    // another error reply (its text is kept separately)
	NoReply       = "no_reply"       // no reply within the bound (or the connection failed)
)

// Classify names the outcome of one reply text.
func Classify(reply string) string {
	r := strings.TrimPrefix(reply, "HTTP ")
	switch {
	case strings.Contains(r, "evaluation took too long"):
		return RefusedTime
	case strings.Contains(r, "session budget exhausted"):
		return RefusedBudget
	case strings.Contains(r, "too costly"):
		return RefusedCost
	case strings.Contains(r, "session memory limit"):
		return RefusedSess
	case strings.Contains(r, "server busy (memory)"):
		return RefusedServer
	case strings.Contains(r, "server busy"):
		return RefusedBusy
	case strings.Contains(r, "too many connections from your address"):
		return RefusedPerIP
	case strings.HasPrefix(reply, "Error") || strings.HasPrefix(reply, "HTTP "):
		return OtherError
	}
	return Answered
}

var digitsRE = regexp.MustCompile(`\d+`)

// Shape is a reply with its numbers replaced by N, to count texts like
// "session budget exhausted, try again in N s" together.
func Shape(reply string) string {
	if len(reply) > 120 {
		reply = reply[:120] + "…"
	}
	return digitsRE.ReplaceAllString(reply, "N")
}

// RSS returns the resident set size of process pid and its high-water mark, in bytes, from
// /proc/PID/status.
func RSS(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

// MiB prints a byte count in MiB.
func MiB(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// LoadAvg returns the one-minute load average ("?" if unknown).
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
