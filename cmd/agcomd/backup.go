package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/store/sqlite"
)

// backup writes a consistent copy of DB_PATH to --to while the server may
// keep running. The copy is created 0600: it holds what the database holds.
func backup(ctx context.Context, args []string, getenv config.Getenv, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "the backup file to write (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		fs.Usage()
		return fmt.Errorf("backup: --to is required")
	}
	if v, ok := getenv("DATABASE_URL"); ok && v != "" {
		// Backing up DB_PATH instead would look like success.
		return fmt.Errorf("backup: DATABASE_URL is set: back up the PostgreSQL database with pg_dump; agcomd backup copies the SQLite file at DB_PATH")
	}
	// Opening would create a missing database: a mistyped DB_PATH must
	// fail, not back up an empty new file.
	path := dbPath(getenv)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: no database at %s: %w", path, err)
	}
	// Warnings (a database or backup open to other users) go to stderr.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	attachments, _ := getenv("ATTACHMENTS_DIR")
	store, err := sqlite.Open(ctx, path, sqlite.WithLogger(log), sqlite.WithAttachmentsDir(attachments))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, *to); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", store.Path(), *to)
	if files := sqlite.BackupFilesDir(*to); exists(files) {
		fmt.Fprintf(stdout, "attachment files in %s: name it in ATTACHMENTS_DIR when restoring\n", files)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
