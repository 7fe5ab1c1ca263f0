package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// checkpointEvery is how often the checkpointer copies committed pages
// from the WAL into the database file. Each checkpoint syncs both files and
// commits made meanwhile wait, so fewer checkpoints keep the tail short
// (measured in docs/PERFORMANCE.md).
const checkpointEvery = 5 * time.Second

// walLimitFrames is the WAL length (in pages) past which the writer itself
// checkpoints between two batches, so that the WAL can start over.
const walLimitFrames = 16_384 // 32 MiB of 2 KiB pages

// The writer does not checkpoint after its commits: SQLite's automatic
// checkpoint runs in the committing connection, so every thousand pages a
// commit (and every request waiting on it) would also copy the WAL into
// the database and fsync it. A connection of its own does that in the
// background instead, with PASSIVE checkpoints that never wait for the
// writer or readers.
//
// The WAL starts over only when a checkpoint has copied all of it, which
// a background checkpoint may never do while batches keep committing; when
// the WAL passes walLimitFrames the checkpointer asks the writer to
// checkpoint between two batches, when nothing else commits.
func (s *Store) startCheckpointer() error {
	if _, err := s.write.Exec("PRAGMA wal_autocheckpoint = 0"); err != nil {
		return err
	}
	db, err := sql.Open(driverName, "file:"+s.path+"?"+s.params)
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	s.checkpointDone = make(chan struct{})
	go func() {
		defer close(s.checkpointDone)
		defer db.Close()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-s.closing:
				return
			case <-t.C:
			}
			// A failed checkpoint is tried again at the next tick; the WAL
			// only grows meanwhile.
			var busy, frames, copied int
			err := db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
			if err == nil && frames > walLimitFrames {
				s.walLong.Store(true)
			}
		}
	}()
	return nil
}

// checkpointIfLong checkpoints on the write connection, outside any
// transaction, when the checkpointer found the WAL too long.
func (s *Store) checkpointIfLong() {
	if s.walLong.CompareAndSwap(true, false) {
		s.write.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
	}
}
