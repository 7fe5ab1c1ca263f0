// Package sqlite is AgCom's embedded store: one SQLite file in WAL mode, one
// write connection and a pool of readers. Every exported method is one use
// case in one transaction, and visibility is enforced inside its queries.
// It is the only package that imports the SQLite driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/hub"
	"github.com/agcom/agcom/internal/store/stamp"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// driverName is the SQLite driver with the settings every connection of
// the store needs and a connection string cannot carry.
const driverName = "agcom-sqlite3"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// Statement and savepoint journals and temporary b-trees stay in
		// memory. On disk, a statement that changes more than a few pages
		// inside a transaction would first copy each of them to a
		// temporary file, one write call per page.
		_, err := c.Exec("PRAGMA temp_store = MEMORY", nil)
		return err
	}})
}

// writeCacheKiB is the write connection's page cache: a message touches a
// page in each of a dozen indexes, and pages kept between batches are not
// read again (docs/PERFORMANCE.md weighs sizes against memory).
const writeCacheKiB = 16 << 10

// pageSize is the page size of the databases the store creates: a send
// dirties a page in each of a dozen index ranges, and every dirty page is
// written whole into the WAL, so smaller pages write less (measured in
// docs/PERFORMANCE.md). A database keeps the page size it was created with.
const pageSize = 2048

// The database, its -wal and -shm files and backups hold secret hashes and
// every message: only the server's user may read them. SQLite gives the
// -wal and -shm files the mode of the database file.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// BusyTimeout is how long a connection waits for a lock held by another
// connection before giving up with DatabaseBusy.
const BusyTimeout = 5 * time.Second

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
	busyTimeout time.Duration
	log         *slog.Logger
	limits      agcom.Limits
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

// create makes a new, empty database at path with pageSize pages, unless a
// database is there already. SQLite sets the page size when it first
// writes the file, which switching to WAL does, so this comes before the
// store's connections (whose parameters switch to WAL) open the file.
func create(ctx context.Context, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	// SQLite would create the file with the umask's mode (often 0644), and
	// the -wal and -shm files after it.
	if err := createPrivate(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: create: %w", err)
	}
	db, err := sql.Open(driverName, "file:"+path)
	if err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	defer db.Close()
	// PRAGMA takes no parameters; the value is our own constant.
	if _, err := db.ExecContext(ctx, "PRAGMA page_size = "+strconv.Itoa(pageSize)); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	return db.Close()
}

// createPrivate creates the empty file path with fileMode; it fails with
// fs.ErrExist when path exists.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return err
	}
	return f.Close()
}

// warnIfOpen logs one warning for each of paths that exists with
// permissions for its group or others.
func warnIfOpen(log *slog.Logger, paths ...string) {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		log.Warn("store: file is open to other users, and holds secret hashes and messages: chmod 600 it",
			"file", p, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
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

// stablePlans reports whether SQLite was built with its query planner
// stability guarantee (SQLITE_ENABLE_QPSG: the Makefile and the Dockerfile
// set it), under which a prepared statement keeps its plan whatever values
// are bound to it. Without it, binding a new value to a LIMIT, a LIKE
// pattern or a term compared with a partial index's condition makes SQLite
// parse and plan the statement again at its next step: nearly every list
// would be prepared anew on every use. The store's plans do not depend on
// those values (TestQueryPlans checks them), so it only loses speed.
func stablePlans(ctx context.Context, db *sql.DB) (bool, error) {
	var used bool
	err := db.QueryRowContext(ctx, "SELECT sqlite_compileoption_used('ENABLE_QPSG')").Scan(&used)
	return used, err
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

// Backup writes a consistent copy of the database to dest, which must not
// exist, while the store stays in use: readers and the writer go on. The
// copy is for the server's user only.
func (s *Store) Backup(ctx context.Context, dest string) (err error) {
	// VACUUM INTO fills an existing empty file, keeping its mode.
	if err := createPrivate(dest); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: backup: %s already exists", dest)
	} else if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(dest)
			return
		}
		// A file system that ignores modes is worth a word.
		warnIfOpen(s.log, dest)
	}()
	// A connection of its own: VACUUM INTO reads one snapshot and holds
	// neither the write connection nor a reader of the pool.
	db, err := sql.Open(driverName, "file:"+s.path+"?"+s.params)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("store: backup: %w", translate(err))
	}
	return nil
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

// SchemaVersion is the schema version this build migrates to.
func SchemaVersion() int {
	names, _ := migrationNames()
	return len(names)
}

func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// migrate applies, in order and each in its own transaction, the embedded
// migrations newer than the database's user_version.
func (s *Store) migrate(ctx context.Context) error {
	names, err := migrationNames()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	var version int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if version > len(names) {
		return fmt.Errorf("store: database schema version %d is newer than this build's %d", version, len(names))
	}
	for i := version; i < len(names); i++ {
		body, err := migrationFS.ReadFile(names[i])
		if err != nil {
			return fmt.Errorf("store: read migration %s: %w", names[i], err)
		}
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", names[i], err)
		}
		// PRAGMA takes no parameters; the value is our own integer.
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", names[i], err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", names[i], err)
		}
	}
	return nil
}

// tx is one transaction with its fixed timestamp.
type tx struct {
	*sql.Tx
	ctx   context.Context
	now   time.Time
	s     *Store
	stmts *stmtCache

	// notify lists the agents whose event logs this transaction grew.
	notify []string
	// touched lists the scopes whose versions it may have changed.
	touched []string
	// changed counts the rows its statements changed: a write job that
	// fails having changed none can fail alone (see runBatch).
	changed int64
}

// newID returns a new ULID at the transaction's time; ids made in one
// process are strictly increasing.
func (t *tx) newID() string { return t.s.clock.NewID(t.now) }

// readTx runs fn in a read-only transaction: one consistent snapshot.
func (s *Store) readTx(ctx context.Context, fn func(*tx) error) (err error) {
	if s.Observe != nil {
		defer func(start time.Time) { s.Observe("read", time.Since(start), err) }(time.Now())
	}
	sqlTx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return translate(err)
	}
	defer sqlTx.Rollback()
	t := &tx{Tx: sqlTx, ctx: ctx, now: s.now(), s: s, stmts: s.readStmts}
	if err := fn(t); err != nil {
		return translate(err)
	}
	return translate(sqlTx.Commit())
}

// SetObserver sets Observe; call it before the store is in use.
func (s *Store) SetObserver(observe func(kind string, d time.Duration, err error)) {
	s.Observe = observe
}

// SetClock replaces the store's clock (for tests that control time).
func (s *Store) SetClock(clock func() time.Time) { s.clock.Set(clock) }

// now is the store's clock at the precision it stores: microseconds, UTC.
func (s *Store) now() time.Time { return s.clock.Now() }

// sqlLatestWrite finds the latest timestamp stored; each part is one
// lookup (the last row, or the top of an index).
const sqlLatestWrite = `SELECT max(
	coalesce((SELECT created_at FROM messages ORDER BY seq DESC LIMIT 1), 0),
	coalesce((SELECT created_at FROM audit_events ORDER BY seq DESC LIMIT 1), 0),
	coalesce((SELECT max(last_activity_at) FROM threads), 0))`

// writeNow is the time of a write transaction. It never runs backwards,
// even when the wall clock does, so the order in which writes are stored
// is also their (timestamp, id) order: lists can walk storage order.
func (s *Store) writeNow() time.Time { return s.clock.WriteNow() }

// translate maps driver errors onto domain errors by code, never by text.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return &agcom.Error{Code: agcom.EBUSY, Message: "the database is busy; retry shortly"}
		case sqlite3.ErrConstraint:
			if se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
				return &agcom.Error{Code: agcom.ECONFLICT, Message: "already exists"}
			}
		}
	}
	return err
}

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
