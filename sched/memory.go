package sched

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
)

// The memory governor. Options.MaxMemory caps the whole server; New derives two figures
// from it:
//
//   - The Go runtime's soft memory limit, at softLimitPercent (90 %) of MaxMemory. The
//     runtime counts only the memory it manages, while the kernel counts the process's
//     resident pages: the binary, pages freed by the GC but not yet returned to the OS, and
//     the limit being soft (the GC may overshoot it rather than spend more than about half
//     the CPU). The 10 % margin keeps the resident size near MaxMemory, not above it.
//   - The refusal threshold, at refusePercent (80 %) of MaxMemory: when the memory the GC
//     cannot reclaim (live heap and goroutine stacks) reaches it, new heavy lines are refused
//     with "server busy (memory)" (light lines go on: their values are small by definition).
//     It sits below the soft limit so that the GC keeps a useful headroom (10 % of the cap)
//     for garbage; closer to the limit every cycle would free little and the GC would run
//     nearly continuously, slowing the light lines that must keep their latency. Heavy lines
//     are the only ones that build big values, so refusing them stops the growth; what is
//     stored already stays, bounded per session by calc's session memory limit.
const (
	softLimitPercent = 90
	refusePercent    = 80
)

// errServerMemory is returned by the gate when the server is near its memory cap; the scheduler
// turns it into calc's server-memory refusal.
var errServerMemory = errors.New("sched: server memory near its cap")

// fallbackMachineMemory is assumed when the machine's memory cannot be read (not Linux, no
// /proc): the default cap is then a quarter of it, 1 GiB.
const fallbackMachineMemory = 4 << 30

// defaultMaxMemory is a quarter of the machine's memory: the physical memory or, in a
// container with a lower cgroup memory limit, that limit.
func defaultMaxMemory() int64 {
	return machineMemory(os.ReadFile) / 4
}

// machineMemory reads MemTotal from /proc/meminfo and lowers it to the cgroup (v2 or v1)
// memory limit if that is lower; read is os.ReadFile, replaced in tests.
func machineMemory(read func(string) ([]byte, error)) int64 {
	total := int64(0)
	if b, err := read("/proc/meminfo"); err == nil {
		total = memTotal(b)
	}
	if total <= 0 {
		total = fallbackMachineMemory
	}
	for _, name := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := read(name)
		if err != nil {
			continue
		}
		// "max" (v2) or a huge number (v1) when there is no limit: both ignored.
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < total {
			total = n
		}
	}
	return total
}

// memTotal parses the MemTotal line of /proc/meminfo ("MemTotal:  16318480 kB"), or 0.
func memTotal(meminfo []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "MemTotal:" {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n <= 0 {
			return 0
		}
		if len(f) >= 3 && strings.EqualFold(f[2], "kB") {
			n *= 1024
		}
		return n
	}
	return 0
}

// setSoftLimit sets the Go runtime's soft memory limit for a server capped at maxMemory.
// It replaces any limit set before (GOMEMLIMIT included): -max-memory is the operator's
// word for this server.
func setSoftLimit(maxMemory int64) {
	debug.SetMemoryLimit(maxMemory / 100 * softLimitPercent)
}

// retainedMemory is the memory the GC cannot reclaim: the heap objects found live by the
// last GC and the goroutine stacks, in bytes. Reading it costs about a microsecond and
// stops nothing; it is read only when a line goes heavy, which is rare. The live heap
// is as of the last GC, which runs the more often the closer the heap is to the soft limit,
// so it is fresh when it matters.
func retainedMemory() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	var n int64
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			n += int64(x.Value.Uint64())
		}
	}
	return n
}
