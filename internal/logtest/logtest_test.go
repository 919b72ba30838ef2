package logtest_test

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"wscalc/internal/logtest"
)

func TestBufferCollectsConcurrentRecords(t *testing.T) {
	var b logtest.Buffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { log.Info("hello", "i", i) })
	}
	wg.Wait()
	log.Info("bye")
	assert.Len(t, b.Records(t, "hello"), 10)
	assert.Len(t, b.Records(t, "bye"), 1)
	assert.Len(t, b.Records(t, ""), 11)
}
