package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Backup writes a consistent copy of the database to dest, which must not
// exist, while the store stays in use: readers and the writer go on. The
// copy is for the server's user only. The attachment files it refers to
// go to the directory BackupFilesDir(dest), which must not exist either.
func (s *Store) Backup(ctx context.Context, dest string) (err error) {
	if _, err := os.Lstat(BackupFilesDir(dest)); err == nil {
		return fmt.Errorf("store: backup: %s already exists", BackupFilesDir(dest))
	}
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
	return s.backupFiles(ctx, dest)
}
