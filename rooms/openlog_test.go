package rooms

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// Instances of one service may ask for different storage (an embedded server keeps the log
// in memory, a wscalc on another's NATS asks for a file): the later one binds to the log
// as the first made it instead of failing to update it.
func TestOpenLogBindsToTheLogAsTheFirstInstanceMadeIt(t *testing.T) {
	ts := startServer(t)
	ts.instance() // the first instance: memory storage, one replica
	js, err := jetstream.New(ts.Conn())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	second, err := OpenLog(ctx, js, LogConfig{Replicas: 1, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	defer second.Close()
	info, err := second.stream.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, jetstream.MemoryStorage, info.Config.Storage, "the first instance's storage kept")
}
