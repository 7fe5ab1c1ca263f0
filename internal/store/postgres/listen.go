package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/store/hub"
)

// listener holds one connection that LISTENs for committed events, from
// this node and every other, and wakes this node's subscribers. If the
// connection is lost it reconnects, then wakes every subscriber, since
// notifications sent meanwhile are gone: subscribers read their logs from
// their cursors, so a spurious wake-up costs one query and loses nothing.
type listener struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// The wait between attempts to listen again doubles from the minimum to the
// maximum.
const (
	minReconnectDelay = 100 * time.Millisecond
	maxReconnectDelay = 5 * time.Second
)

func startListener(ctx context.Context, cfg *pgx.ConnConfig, h *hub.Hub, a *announcer, log *slog.Logger) (*listener, error) {
	conn, err := listen(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: listen for events: %w", redactErr(err))
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l := &listener{cancel: cancel, done: make(chan struct{})}
	go l.run(runCtx, cfg, conn, h, a, log)
	return l, nil
}

func listen(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

func (l *listener) run(ctx context.Context, cfg *pgx.ConnConfig, conn *pgx.Conn, h *hub.Hub, a *announcer, log *slog.Logger) {
	defer close(l.done)
	delay := minReconnectDelay
	for {
		for conn != nil {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				if ctx.Err() != nil {
					return
				}
				log.Warn("store: lost the connection that listens for events; reconnecting", "error", redactErr(err).Error())
				break
			}
			delay = minReconnectDelay
			if keys, ok := a.handlesOf(n.Payload); ok {
				h.Notify(keys)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		var err error
		if conn, err = listen(ctx, cfg); err != nil {
			if !errors.Is(err, context.Canceled) {
				log.Warn("store: cannot listen for events yet", "error", redactErr(err).Error())
			}
			delay = min(2*delay, maxReconnectDelay)
			continue
		}
		log.Info("store: listening for events again")
		h.NotifyAll()
	}
}

// stop ends listening and waits until the connection is closed; it may be
// called more than once.
func (l *listener) stop() {
	if l == nil {
		return
	}
	l.cancel()
	<-l.done
}
