// Package postgres is AgCom's store for deployments that outgrow one
// machine: several agcomd nodes share one PostgreSQL database. It
// persists what the use cases of internal/agcom write (its tx is their
// agcom.Tx) and answers the same reads as the SQLite store, with the same
// visibility-in-SQL, one transaction each and the same error codes;
// events wake subscribers on every node through LISTEN/NOTIFY.
// It is the only package that imports the PostgreSQL driver.
//
// Event cursors promise that a reader who has seen cursor n never later
// finds a smaller one, without making writers take turns: a cursor is
// made of its transaction's id, and a reader delivers only events of
// transactions older than the oldest one still running when its snapshot
// was taken. Those have all ended, and any later transaction gets a larger
// id, so nothing can appear below what was delivered; newer events wait
// (EventPage.Pending) until the older transactions end. The argument in
// full is in events.go.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	neturl "net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/hub"
	"github.com/agcom/agcom/internal/store/migrations"
	"github.com/agcom/agcom/internal/store/stamp"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the advisory lock key (any fixed 64-bit number, the
// same on every node) on which nodes take turns to migrate.
const migrationLock = 0x61_67_63_6f_6d_01 // "agcom" 1

// maxAttempts bounds how often a transaction that lost a serialization
// conflict or a deadlock is run again before the request gets 503.
const maxAttempts = 5

// Store is the PostgreSQL implementation of AgCom's store.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	// clock gives transactions their time (each reads it once, so one
	// change has one timestamp) and ids; SetClock replaces its source.
	clock *stamp.Clock
	// observe, when set, is told the kind ("read" or "write"), duration
	// and outcome of every transaction.
	observe func(kind string, d time.Duration, err error)

	hub       hub.Hub // this node's event subscribers
	announcer *announcer
	listener  *listener

	limits agcom.Limits // what one caller can make the store hold or do

	// objectStore, when set, names the bucket of attachments' bytes,
	// which objects reaches once Open has checked it.
	objectStore *ObjectStore
	objects     *objects
}

// Option adjusts how Open connects.
type Option func(*Store)

// WithLogger sets where the store reports trouble it recovers from (a lost
// LISTEN connection); the default discards it.
func WithLogger(log *slog.Logger) Option {
	return func(s *Store) { s.log = log }
}

// WithLimits sets the limits the store enforces; a field left at zero
// takes its default.
func WithLimits(l agcom.Limits) Option {
	return func(s *Store) { s.limits = l }
}

// defaultMaxConns is a node's pool size unless DATABASE_URL sets
// pool_max_conns: enough for a node's concurrent requests to keep a small
// database busy.
const defaultMaxConns = 16

// setsPoolSize reports whether the connection string sets pool_max_conns,
// as a URL parameter or a keyword/value pair.
func setsPoolSize(conn string) bool {
	if u, err := neturl.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Has("pool_max_conns")
	}
	return poolSizeKeyword.MatchString(conn)
}

var poolSizeKeyword = regexp.MustCompile(`(^|\s)pool_max_conns\s*=`)

// Open connects to the database at url (postgres://…), applies any pending
// migrations and starts listening for other nodes' events. The database
// must be UTF8-encoded.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: DATABASE_URL: %w", redactErr(err))
	}
	if !setsPoolSize(url) {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", redactErr(err))
	}
	s := &Store{
		pool:  pool,
		log:   slog.New(slog.DiscardHandler),
		clock: stamp.New(),
	}
	for _, o := range opts {
		o(s)
	}
	s.limits = s.limits.WithDefaults()
	if err := s.checkDatabase(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if s.objectStore != nil {
		if s.objects, err = openObjects(ctx, *s.objectStore, s.limits.AttachmentBytes); err != nil {
			pool.Close()
			return nil, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	var last int64
	if err := pool.QueryRow(ctx, sqlLatestWrite).Scan(&last); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: read the latest timestamp: %w", err)
	}
	s.clock.NotBefore(fromMicros(last))
	s.announcer = startAnnouncer(pool, s.log)
	s.listener, err = startListener(ctx, cfg.ConnConfig, &s.hub, s.announcer, s.log)
	if err != nil {
		s.announcer.stop()
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close announces the events still queued, stops listening and closes
// every connection.
func (s *Store) Close() error {
	s.announcer.stop()
	s.listener.stop()
	s.pool.Close()
	return nil
}

// checkDatabase refuses a database whose text handling would change the
// API's answers: search patterns match one character with _, which must be
// a character, not a byte.
func (s *Store) checkDatabase(ctx context.Context) error {
	var encoding string
	err := s.pool.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).
		Scan(&encoding)
	if err != nil {
		return fmt.Errorf("store: connect: %w", redactErr(err))
	}
	if encoding != "UTF8" {
		return fmt.Errorf("store: the database's encoding is %s; AgCom needs UTF8 (CREATE DATABASE … ENCODING 'UTF8')", encoding)
	}
	return nil
}

// schema is the store's migrations; the schema version is the highest
// row of schema_migrations.
var schema = migrations.New(migrationFS)

// SchemaVersion is the schema version this build migrates to.
func SchemaVersion() int { return schema.Version() }

// migrate applies the embedded migrations the database has not had yet.
// Nodes starting together take turns on an advisory lock.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", redactErr(err))
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var version int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	return schema.Apply(version, func(n int, body string) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, body); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", n)
			return err
		})
	})
}

// Ping checks that the database answers and returns its schema version.
func (s *Store) Ping(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, translate(err)
	}
	return v, nil
}

// SetObserver sets the transaction observer; call it before the store is
// in use.
func (s *Store) SetObserver(observe func(kind string, d time.Duration, err error)) {
	s.observe = observe
}

// SetClock replaces the store's clock (for tests that control time).
func (s *Store) SetClock(clock func() time.Time) { s.clock.Set(clock) }

// now is the store's clock at the precision it stores: microseconds, UTC.
func (s *Store) now() time.Time { return s.clock.Now() }

// sqlLatestWrite finds the latest timestamp stored; each part is the top
// of an index.
const sqlLatestWrite = `SELECT greatest(
	coalesce((SELECT max(created_at) FROM messages), 0),
	coalesce((SELECT max(created_at) FROM audit_events), 0),
	coalesce((SELECT max(last_activity_at) FROM threads), 0))`

// writeNow is the time of a write transaction. It never runs backwards on
// this node, even when the wall clock does.
func (s *Store) writeNow() time.Time { return s.clock.WriteNow() }

// tx is one transaction with its fixed timestamp.
type tx struct {
	pgx.Tx
	ctx context.Context
	now time.Time
	s   *Store

	// result is what a create made, for its idempotency record.
	result any
	// counts are the changes to counters, applied at the end.
	counts map[string]int64
	// events are appended at the end (flushEvents); notify are the keys
	// of the subscribers to wake once the transaction has committed.
	events []pendingEvent
	notify []string
	// audits are added at the end too (flushAudits).
	audits []pendingAudit
}

// newID returns a new ULID at the transaction's time; ids made on one node
// are strictly increasing.
func (t *tx) newID() string { return t.s.clock.NewID(t.now) }

func (t *tx) exec(query string, args ...any) (pgconn.CommandTag, error) {
	return t.Exec(t.ctx, query, args...)
}

func (t *tx) query(query string, args ...any) (pgx.Rows, error) {
	return t.Query(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) pgx.Row {
	return t.QueryRow(t.ctx, query, args...)
}

// readTx runs fn in a read-only transaction: one consistent snapshot.
func (s *Store) readTx(ctx context.Context, fn func(*tx) error) (err error) {
	if s.observe != nil {
		defer func(start time.Time) { s.observe("read", time.Since(start), err) }(time.Now())
	}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(pt pgx.Tx) error {
			return fn(&tx{Tx: pt, ctx: ctx, now: s.now(), s: s})
		})
	return translate(err)
}

// writeTx runs fn as one write transaction: all of it is committed before
// writeTx returns nil, or none of it is. fn may run more than once: a
// transaction that loses a serialization conflict or a deadlock is rolled
// back and run again, up to maxAttempts times, so fn must start from
// scratch each time (assign its results, never append to them).
func (s *Store) writeTx(ctx context.Context, fn func(*tx) error) (err error) {
	if s.observe != nil {
		defer func(start time.Time) { s.observe("write", time.Since(start), err) }(time.Now())
	}
	for attempt := 1; ; attempt++ {
		var notify []string
		notify, err = s.tryWrite(ctx, fn)
		if err == nil {
			s.announce(ctx, notify)
			return nil
		}
		if !retryable(err) {
			return translate(err)
		}
		if attempt == maxAttempts {
			return &agcom.Error{Code: agcom.EBUSY, Message: "the database is busy; retry shortly"}
		}
		backoff := time.Duration(attempt*attempt) * time.Millisecond
		select {
		case <-time.After(backoff + mathrand.N(backoff)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// announce wakes, after a commit, this node's subscribers of the keys at
// once and the other nodes' with the announcer's next batch, which it
// waits for.
func (s *Store) announce(ctx context.Context, keys []string) {
	s.hub.Notify(keys)
	s.announcer.announce(ctx, keys)
}

// tryWrite runs fn once and commits; it returns the keys of the
// subscribers to wake.
func (s *Store) tryWrite(ctx context.Context, fn func(*tx) error) (notify []string, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(pt pgx.Tx) error {
		t := &tx{Tx: pt, ctx: ctx, now: s.writeNow(), s: s}
		if err := fn(t); err != nil {
			return err
		}
		if err := t.flushAudits(); err != nil {
			return err
		}
		if err := t.flushEvents(); err != nil {
			return err
		}
		notify = t.notify
		// Last: a counter's row stays locked until the commit.
		return t.flushCounts()
	})
	return notify, err
}

// countUp adds n to a counter when the transaction ends.
func (t *tx) countUp(name string, n int64) {
	if t.counts == nil {
		t.counts = map[string]int64{}
	}
	t.counts[name] += n
}

// counterShards is how many rows each counter is spread over: enough that
// concurrent writers rarely meet on one.
const counterShards = 64

const (
	sqlAddCounters = `INSERT INTO counters (name, shard, value)
		SELECT name, $1::integer, value FROM unnest($2::text[], $3::bigint[]) AS c(name, value)
		ON CONFLICT (name, shard) DO UPDATE SET value = counters.value + excluded.value`
	sqlCounter = `SELECT coalesce(sum(value), 0) FROM counters WHERE name = $1`
)

// flushCounts applies the counter changes in one statement, to one shard
// chosen for this transaction, in name order (so that two transactions
// never wait for each other's shards in a cycle).
func (t *tx) flushCounts() error {
	if len(t.counts) == 0 {
		return nil
	}
	names := make([]string, 0, len(t.counts))
	for name := range t.counts {
		names = append(names, name)
	}
	sort.Strings(names)
	values := make([]int64, len(names))
	for i, name := range names {
		values[i] = t.counts[name]
	}
	_, err := t.exec(sqlAddCounters, mathrand.IntN(counterShards), names, values)
	return err
}

func (t *tx) counter(name string) (int, error) {
	var n int
	err := t.queryRow(sqlCounter, name).Scan(&n)
	return n, err
}

// PostgreSQL error codes the store acts on.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeQueryCanceled        = "57014"
)

// retryable reports whether err is a conflict that running the
// transaction again can resolve.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected
	}
	return false
}

// translate maps driver errors onto domain errors by code, never by text.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var ae *agcom.Error
	if errors.As(err, &ae) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return &agcom.Error{Code: agcom.ECONFLICT, Message: "already exists"}
		case codeSerializationFailure, codeDeadlockDetected:
			return &agcom.Error{Code: agcom.EBUSY, Message: "the database is busy; retry shortly"}
		case codeQueryCanceled:
			return context.Canceled
		}
		return err
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return &agcom.Error{Code: agcom.EUNAVAILABLE, Message: "the database cannot be reached; retry shortly"}
	}
	return err
}

// redactErr keeps a connection error from carrying the URL's password.
func redactErr(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return errors.New(strings.TrimSpace(ce.Unwrap().Error()))
	}
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse the URL")
	}
	return err
}

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullString stores an empty string as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
