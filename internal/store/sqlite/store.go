// Package sqlite is AgCom's embedded store: one SQLite file in WAL mode, one
// write connection and a pool of readers. It persists what the use cases of
// internal/agcom write (its tx is their agcom.Tx) and answers the reads;
// every read is one transaction, with visibility enforced in its queries.
// It is the only package that imports the SQLite driver.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/hub"
	"github.com/agcom/agcom/internal/store/stamp"
)

// Store is the SQLite implementation of AgCom's store.
type Store struct {
	path   string
	params string  // connection parameters, for extra connections
	write  *sql.DB // exactly one connection: SQLite has one writer
	read   *sql.DB

	writeStmts, readStmts *stmtCache
	versions              *versions // what each commit changed, for a cache of answers

	// clock gives transactions their time (each reads it once, so one
	// change has one timestamp) and ids; SetClock replaces its source.
	clock *stamp.Clock
	// Observe, when set, is told the kind ("read" or "write"), duration
	// and outcome of every transaction.
	Observe func(kind string, d time.Duration, err error)

	hub hub.Hub // wakes event subscribers after commits

	log    *slog.Logger
	limits agcom.Limits // what one caller can make the store hold or do
	files  *files       // attachments' bytes

	jobs       chan *writeJob // to the writer goroutine
	closing    chan struct{}
	writerDone chan struct{}
	// commitNo is the commit count of the writer's latest commit
	// (writer_commits; writer goroutine only).
	commitNo int64
	// checkpointDone is closed when the checkpointer has stopped.
	checkpointDone chan struct{}
	// walLong asks the writer to checkpoint between two batches.
	walLong   atomic.Bool
	closeOnce sync.Once
}

// Option adjusts how Open opens the database.
type Option func(*options)

type options struct {
	busyTimeout    time.Duration
	log            *slog.Logger
	limits         agcom.Limits
	attachmentsDir string
}

// WithLogger sets where the store reports how it was built when that makes
// it slower (see stablePlans); the default discards it.
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

// WithLimits sets the limits the store enforces; a field left at zero
// takes its default.
func WithLimits(l agcom.Limits) Option {
	return func(o *options) { o.limits = l }
}

// WithBusyTimeout sets how long a statement waits for a lock held by
// another connection before failing with DatabaseBusy (default BusyTimeout).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// Open opens (creating if needed) the database at path and applies any
// pending migrations. A database created here, its -wal and -shm files,
// and the directories made for it are for the server's user only; an
// existing one that is open to others is logged as a warning.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: BusyTimeout, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, fmt.Errorf("store: create directory: %w", err)
		}
	}
	if err := create(ctx, path); err != nil {
		return nil, err
	}
	if o.attachmentsDir == "" {
		o.attachmentsDir = filepath.Join(filepath.Dir(path), "attachments")
	}
	files, err := openFiles(o.attachmentsDir)
	if err != nil {
		return nil, err
	}
	// busy_timeout comes first so that the PRAGMAs after it wait for locks too.
	params := "_busy_timeout=" + strconv.Itoa(int(o.busyTimeout/time.Millisecond)) +
		"&_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=on"
	write, err := sql.Open(driverName, "file:"+path+"?"+params+"&_txlock=immediate&_cache_size=-"+strconv.Itoa(writeCacheKiB))
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	s := &Store{
		path:   path,
		params: params,
		write:  write,
		clock:  stamp.New(),
		log:    o.log,
		limits: o.limits.WithDefaults(),
		files:  files,
	}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	// The write connection has read the database: the -wal and -shm
	// files are there.
	warnIfOpen(o.log, path, path+"-wal", path+"-shm")
	if stable, err := stablePlans(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: read SQLite's build options: %w", err)
	} else if !stable {
		o.log.Warn("SQLite was built without SQLITE_ENABLE_QPSG: statements are planned again on most uses; build with make, or set CGO_CFLAGS as the Makefile does")
	}
	var last sql.NullInt64
	if err := write.QueryRowContext(ctx, sqlLatestWrite).Scan(&last); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: read the latest timestamp: %w", err)
	}
	s.clock.NotBefore(fromMicros(last.Int64))

	read, err := sql.Open(driverName, "file:"+path+"?"+params+"&_query_only=true")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	n := max(4, runtime.NumCPU()*2)
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(0)
	read.SetConnMaxLifetime(0)
	s.read = read
	if s.versions, err = newVersions("file:" + path + "?" + params + "&_query_only=true"); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s.writeStmts, s.readStmts = newStmtCache(write), newStmtCache(read)
	s.jobs = make(chan *writeJob, maxBatch)
	s.closing = make(chan struct{})
	s.writerDone = make(chan struct{})
	if err := s.startCheckpointer(); err != nil {
		s.versions.close()
		read.Close()
		write.Close()
		return nil, fmt.Errorf("store: start the checkpointer: %w", err)
	}
	go s.writer()
	return s, nil
}

// Close closes the database, checkpointing the WAL.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	<-s.writerDone
	<-s.checkpointDone
	s.writeStmts.close()
	s.readStmts.close()
	var errs []error
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.versions != nil {
		errs = append(errs, s.versions.close())
	}
	errs = append(errs, s.write.Close())
	return errors.Join(errs...)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers and returns its schema version.
func (s *Store) Ping(ctx context.Context) (int, error) {
	var v int
	if err := s.read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, translate(err)
	}
	return v, nil
}

// SetObserver sets Observe; call it before the store is in use.
func (s *Store) SetObserver(observe func(kind string, d time.Duration, err error)) {
	s.Observe = observe
}

// SetClock replaces the store's clock (for tests that control time).
func (s *Store) SetClock(clock func() time.Time) { s.clock.Set(clock) }
