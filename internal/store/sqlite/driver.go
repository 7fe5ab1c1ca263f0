package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/mattn/go-sqlite3"
)

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
