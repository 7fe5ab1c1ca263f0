package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockSampleEvery is how often pg_stat_activity is sampled during a
// scenario.
const lockSampleEvery = 10 * time.Millisecond

// sqlLockSample counts the database's active backends (the sampler's own
// excepted) and those of them waiting on a heavyweight lock.
const sqlLockSample = `SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock')
	FROM pg_stat_activity
	WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`

// lockSamples add up what the samples saw: over all samples, active
// backends and those waiting on a lock.
type lockSamples struct {
	samples, active, waiting int
}

// share is the fraction of active-backend samples that waited on a lock.
func (l *lockSamples) share() float64 {
	if l.active == 0 {
		return 0
	}
	return float64(l.waiting) / float64(l.active)
}

// lockSampler samples pg_stat_activity on its own connection until
// stopped.
type lockSampler struct {
	cancel context.CancelFunc
	done   chan *lockSamples
}

func startLockSampler(ctx context.Context, databaseURL string) (*lockSampler, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &lockSampler{cancel: cancel, done: make(chan *lockSamples, 1)}
	go func() {
		defer conn.Close(context.Background())
		var l lockSamples
		tick := time.NewTicker(lockSampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				s.done <- &l
				return
			case <-tick.C:
			}
			var active, waiting int
			if err := conn.QueryRow(ctx, sqlLockSample).Scan(&active, &waiting); err != nil {
				continue // the context ended mid-query
			}
			l.samples++
			l.active += active
			l.waiting += waiting
		}
	}()
	return s, nil
}

// stop ends sampling and returns what it saw.
func (s *lockSampler) stop() *lockSamples {
	s.cancel()
	return <-s.done
}

// postgresServer is the process id of the PostgreSQL server at
// databaseURL, when it runs on this machine (its backends are its
// children); 0 when it cannot be told.
func postgresServer(ctx context.Context, databaseURL string) int {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0
	}
	defer conn.Close(context.Background())
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return 0
	}
	return parentOf(backend)
}

// settle vacuums and analyses the freshly copied database, so that the
// first scenarios do not run beside autovacuum catching up on it.
func settle(ctx context.Context, databaseURL string) error {
	return execOnce(ctx, databaseURL, "VACUUM (ANALYZE)")
}

// checkpoint writes PostgreSQL's dirty pages out before a scenario, so
// that no scenario pays for the writes of those before it (it needs the
// pg_checkpoint role, which scripts/test-services grants).
func checkpoint(ctx context.Context, databaseURL string) error {
	return execOnce(ctx, databaseURL, "CHECKPOINT")
}

// execOnce runs one statement on a connection of its own.
func execOnce(ctx context.Context, databaseURL, sql string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
