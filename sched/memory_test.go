package sched

import (
	"errors"
	"io/fs"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMachineMemory(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if s, ok := m[name]; ok {
				return []byte(s), nil
			}
			return nil, fs.ErrNotExist
		}
	}
	meminfo := "MemTotal:        8000000 kB\nMemFree:         1000 kB\n"
	assert.Equal(t, int64(8000000*1024), machineMemory(files(map[string]string{"/proc/meminfo": meminfo})))
	assert.Equal(t, int64(1<<30), machineMemory(files(map[string]string{
		"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "1073741824\n"})), "a lower cgroup v2 limit")
	assert.Equal(t, int64(8000000*1024), machineMemory(files(map[string]string{
		"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "max\n",
		"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"})), "no cgroup limit")
	assert.Equal(t, int64(fallbackMachineMemory), machineMemory(files(nil)))
	assert.Equal(t, int64(fallbackMachineMemory), machineMemory(files(map[string]string{"/proc/meminfo": "garbage"})))
}

func TestNewSetsTheSoftMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	h := New(Options{MaxMemory: 1000 << 20})
	assert.Equal(t, int64(1000<<20), h.MaxMemory())
	assert.Equal(t, int64(900<<20), debug.SetMemoryLimit(-1))

	h = New(Options{})
	assert.Equal(t, defaultMaxMemory(), h.MaxMemory())
	assert.Positive(t, h.MaxMemory())

	debug.SetMemoryLimit(123 << 20)
	h = New(Options{MaxMemory: -1})
	assert.Equal(t, int64(123<<20), debug.SetMemoryLimit(-1), "no cap: the runtime's limit is left alone")
	assert.False(t, h.memoryHigh())
}

func TestRetainedMemoryIsRead(t *testing.T) {
	assert.Positive(t, retainedMemory())
}

func TestHeavyLinesAreRefusedNearTheMemoryCap(t *testing.T) {
	var usage atomic.Int64
	h := New(Options{MaxConcurrentEvals: 2, MaxHeavyEvals: 1, MemoryUsage: usage.Load})
	usage.Store(h.MaxMemory() / 100 * 79)
	g := &sessionGate{h: h}
	var err error
	require.NoError(t, h.run(t.Context(), g, func() {
		var release func()
		release, err = g.heavy(t.Context(), time.Time{}, &g.own)
		if err == nil {
			release()
		}
	}))
	assert.NoError(t, err, "below 80 %")

	usage.Store(h.MaxMemory() / 100 * 80)
	ran := false
	require.NoError(t, h.run(t.Context(), g, func() {
		ran = true // light lines go on
		_, err = g.heavy(t.Context(), time.Time{}, &g.own)
	}))
	assert.True(t, ran)
	assert.ErrorIs(t, err, errServerMemory)
	assert.Equal(t, state{light: 0, heavyFree: 1}, h.slots.state())
}

func TestWaitersAreRefusedIfMemoryGrewWhileTheyWaited(t *testing.T) {
	var usage atomic.Int64
	h := New(Options{MaxConcurrentEvals: 2, MaxHeavyEvals: 1, MemoryUsage: usage.Load})
	var wg sync.WaitGroup
	proceed := make(chan struct{})
	require.NoError(t, <-heavyLine(h, &sessionGate{h: h}, t.Context(), time.Time{}, proceed, &wg))
	waiting := heavyLine(h, &sessionGate{h: h}, t.Context(), time.Time{}, proceed, &wg)
	eventually(t, "a line waiting", func() bool { return h.slots.state().waiting == 1 })
	usage.Store(h.MaxMemory())
	close(proceed)
	var err error
	within(t, "the waiter's answer", func() { err = <-waiting })
	assert.True(t, errors.Is(err, errServerMemory), "%v", err)
	wg.Wait()
	assert.Equal(t, state{light: 0, heavyFree: 1}, h.slots.state())
}
