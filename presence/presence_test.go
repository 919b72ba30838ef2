package presence_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"wscalc/internal/metricstest"
	"wscalc/metrics"
	"wscalc/presence"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestJoinCountsAndLimits(t *testing.T) {
	h := presence.New(nil)
	leave1, err := h.Join(presence.TCP, 2)
	require.NoError(t, err)
	leave2, err := h.Join(presence.TCP, 2)
	require.NoError(t, err)
	_, err = h.Join(presence.TCP, 2)
	assert.ErrorIs(t, err, presence.ErrBusy)
	leaveWS, err := h.Join(presence.WS, 2)
	require.NoError(t, err)
	assert.Equal(t, presence.Counts{Total: 3, WS: 1, TCP: 2}, h.Counts())

	leave1()
	leave1() // idempotent
	assert.Equal(t, presence.Counts{Total: 2, WS: 1, TCP: 1}, h.Counts())
	leave2()
	leaveWS()
	assert.Equal(t, presence.Counts{}, h.Counts())
}

func TestSubscribeCoalescesChanges(t *testing.T) {
	h := presence.New(nil)
	changes, cancel := h.Subscribe()
	defer cancel()
	var leaves []func()
	for range 10 {
		leave, err := h.Join(presence.WS, 0)
		require.NoError(t, err)
		leaves = append(leaves, leave)
	}
	<-changes // ten changes, one pending notification
	select {
	case <-changes:
		t.Fatal("changes were not coalesced")
	default:
	}
	assert.Equal(t, 10, h.Counts().WS)
	for _, leave := range leaves {
		leave()
	}
	<-changes
	assert.Equal(t, 0, h.Counts().Total)
}

func TestConcurrentJoinsAreConsistent(t *testing.T) {
	h := presence.New(nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tr := presence.TCP
			if i%2 == 0 {
				tr = presence.WS
			}
			leave, err := h.Join(tr, 0)
			if err != nil {
				t.Error(err)
				return
			}
			c := h.Counts()
			if c.Total != c.WS+c.TCP {
				t.Errorf("inconsistent snapshot %+v", c)
			}
			leave()
		})
	}
	wg.Wait()
	assert.Equal(t, presence.Counts{}, h.Counts())
}

func TestSessionsAreCountedInTheMetrics(t *testing.T) {
	m := metrics.New()
	p := presence.New(m)
	leave, err := p.Join(presence.TCP, 1)
	require.NoError(t, err)
	_, err = p.Join(presence.TCP, 1)
	require.ErrorIs(t, err, presence.ErrBusy)
	p.Reject(presence.WS, "per_ip")
	leave()
	assert.Equal(t, 1.0, metricstest.Counter(t, m.Registry, "wscalc_rejected_sessions_total",
		map[string]string{"transport": "tcp", "reason": "busy"}))
	assert.Equal(t, 1.0, metricstest.Counter(t, m.Registry, "wscalc_refusals_total",
		map[string]string{"transport": "ws", "reason": "per_ip"}))
	assert.Equal(t, p.Local(), p.Counts(), "what clients see is this process's counts")
}

// With SetGlobal, Counts are the cluster's and Subscribe follows the cluster's changes (a
// remote change reaches the subscribers; a local one is told once, by the cluster's
// changes, not by Join too); SubscribeLocal still hears every local change. stop reverts
// to the local counts.
func TestSetGlobal(t *testing.T) {
	h := presence.New(nil)
	shown, cancelShown := h.Subscribe()
	defer cancelShown()
	local, cancelLocal := h.SubscribeLocal()
	defer cancelLocal()

	remote := presence.Counts{Total: 5, WS: 2, TCP: 3}
	var mu sync.Mutex
	global := func() presence.Counts {
		mu.Lock()
		defer mu.Unlock()
		l := h.Local()
		return presence.Counts{Total: l.Total + remote.Total, WS: l.WS + remote.WS, TCP: l.TCP + remote.TCP}
	}
	clusterChanges := make(chan struct{}, 1)
	stop := h.SetGlobal(global, clusterChanges)
	defer stop()
	assert.Equal(t, presence.Counts{Total: 5, WS: 2, TCP: 3}, h.Counts())

	leave, err := h.Join(presence.WS, 0)
	require.NoError(t, err)
	<-local
	select {
	case <-shown:
		t.Fatal("a local change was told to Subscribe directly while SetGlobal's changes tell of it")
	default:
	}
	assert.Equal(t, presence.Counts{Total: 6, WS: 3, TCP: 3}, h.Counts())
	assert.Equal(t, presence.Counts{Total: 1, WS: 1}, h.Local())

	mu.Lock()
	remote = presence.Counts{Total: 1, TCP: 1}
	mu.Unlock()
	clusterChanges <- struct{}{}
	<-shown
	assert.Equal(t, presence.Counts{Total: 2, WS: 1, TCP: 1}, h.Counts())

	stop()
	stop() // idempotent
	<-shown
	assert.Equal(t, presence.Counts{Total: 1, WS: 1}, h.Counts())
	leave()
	<-shown // standalone again: Join tells Subscribe
	<-local
	assert.Equal(t, presence.Counts{}, h.Counts())
}
