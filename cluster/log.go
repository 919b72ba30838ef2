package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// natsLog routes the embedded server's log to slog (component=nats). NATS "notices" are
// chatty (a banner at start, every route and leader change), so they go to debug. Its
// errors are warnings here: they are about its network (a peer not up yet, a route lost),
// which wscalc rides out and /readyz reports. A "fatal" one (a port in use) is an error:
// the server stops, and Start returns it.
// natsDebugLevel is the level of NATS's debug log, below slog's debug.
const natsDebugLevel = slog.LevelDebug - 4

type natsLog struct {
	log *slog.Logger

	mu        sync.Mutex
	lastFatal string
}

func newNATSLog(l *slog.Logger) *natsLog {
	return &natsLog{log: l.With("component", "nats")}
}

func (n *natsLog) Noticef(format string, v ...any) { n.emit(slog.LevelDebug, format, v) }
func (n *natsLog) Warnf(format string, v ...any)   { n.emit(slog.LevelWarn, format, v) }
func (n *natsLog) Errorf(format string, v ...any)  { n.emit(slog.LevelWarn, format, v) }
func (n *natsLog) Debugf(format string, v ...any)  { n.emit(natsDebugLevel, format, v) }
func (n *natsLog) Tracef(format string, v ...any)  { n.emit(natsDebugLevel-4, format, v) }

func (n *natsLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	n.mu.Lock()
	n.lastFatal = msg
	n.mu.Unlock()
	n.log.Error(msg)
}

func (n *natsLog) emit(level slog.Level, format string, v []any) {
	if n.log.Enabled(context.Background(), level) {
		n.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
	}
}

// fatal is the last fatal message, or "".
func (n *natsLog) fatal() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lastFatal
}
