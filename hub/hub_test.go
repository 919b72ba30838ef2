package hub_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"wscalc/hub"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestJoinCountsAndLimits(t *testing.T) {
	h := hub.New(hub.Options{})
	leave1, err := h.Join(hub.TCP, 2)
	require.NoError(t, err)
	leave2, err := h.Join(hub.TCP, 2)
	require.NoError(t, err)
	_, err = h.Join(hub.TCP, 2)
	assert.ErrorIs(t, err, hub.ErrBusy)
	leaveWS, err := h.Join(hub.WS, 2)
	require.NoError(t, err)
	assert.Equal(t, hub.Counts{Total: 3, WS: 1, TCP: 2}, h.Counts())

	leave1()
	leave1() // idempotent
	assert.Equal(t, hub.Counts{Total: 2, WS: 1, TCP: 1}, h.Counts())
	leave2()
	leaveWS()
	assert.Equal(t, hub.Counts{}, h.Counts())
}

func TestSubscribeCoalescesChanges(t *testing.T) {
	h := hub.New(hub.Options{})
	changes, cancel := h.Subscribe()
	defer cancel()
	var leaves []func()
	for range 10 {
		leave, err := h.Join(hub.WS, 0)
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
	h := hub.New(hub.Options{})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tr := hub.TCP
			if i%2 == 0 {
				tr = hub.WS
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
	assert.Equal(t, hub.Counts{}, h.Counts())
}
