package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/store/dump"
	"github.com/agcom/agcom/internal/store/postgres"
	"github.com/agcom/agcom/internal/store/sqlite"
)

// copyTarget names the target in messages: never the URL, which may hold
// a password.
const copyTarget = "the PostgreSQL database"

// copyHelp heads the copy command's usage.
const copyHelp = `usage: agcomd copy --from sqlite://PATH [--to postgres://…] [--attachments DIR]

Copies a SQLite database into an empty PostgreSQL database, in one snapshot
of the source and one transaction on the target, and prints both sides' row
counts; any difference rolls the copy back.

Attachments move with their rows: each distinct file under the attachments
directory is streamed once into PostgreSQL, or into the bucket the S3_*
settings name (as the servers will read them), before the rows' transaction
(an attachment whose file is missing fails the copy first, naming it). If
the copy fails after that, the bytes already written stay behind as blobs
no upload refers to; the servers' attachment pruning removes them once they
are older than ATTACHMENT_UNATTACHED_TTL, and they do not keep the database
from counting as empty for the next try.

`

// copyDB copies a SQLite database into an empty PostgreSQL database, in
// one snapshot of the source and one transaction on the target, and
// prints both sides' row counts.
func copyDB(ctx context.Context, args []string, getenv config.Getenv, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), copyHelp)
		fs.PrintDefaults()
	}
	from := fs.String("from", "", "the SQLite database to copy: sqlite://PATH or PATH")
	to := fs.String("to", "", "the empty PostgreSQL database to fill: postgres://… (default DATABASE_URL)")
	attachments := fs.String("attachments", "", "the SQLite database's attachments directory (default ATTACHMENTS_DIR, else attachments beside the database)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("copy: unexpected argument %q", fs.Arg(0))
	}
	path, err := sqlitePath(*from)
	if err != nil {
		fs.Usage()
		return err
	}
	url := *to
	if url == "" {
		url, _ = getenv("DATABASE_URL")
	}
	if url == "" {
		fs.Usage()
		return fmt.Errorf("copy: --to postgres://… is required (or set DATABASE_URL)")
	}
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return fmt.Errorf("copy: --to must be a postgres:// URL")
	}
	// Opening would create a missing database: a mistyped path must fail,
	// not copy an empty new file.
	if fi, err := os.Stat(path); err != nil {
		return fmt.Errorf("copy: no SQLite database at %s: %w", path, err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("copy: %s is not a SQLite database file", path)
	}
	files := *attachments
	if files == "" {
		files, _ = getenv("ATTACHMENTS_DIR")
	}
	// Opening would create a missing directory too: a mistyped one must
	// fail here, not as every attachment's file missing.
	if files != "" {
		if fi, err := os.Stat(files); err != nil {
			return fmt.Errorf("copy: no attachments directory at %s: %w", files, err)
		} else if !fi.IsDir() {
			return fmt.Errorf("copy: the attachments directory %s is not a directory", files)
		}
	}

	// The bytes go where the servers will read them: a bucket when the S3
	// settings name one.
	s3, err := config.LoadS3(getenv)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	var opts []postgres.Option
	if s3.S3() {
		opts = append(opts, app.ObjectStore(s3))
	}
	dst, err := postgres.Open(ctx, url, opts...)
	if err != nil {
		return fmt.Errorf("copy: %s: %w", copyTarget, err)
	}
	defer dst.Close()
	src, err := sqlite.Open(ctx, path, sqlite.WithAttachmentsDir(files))
	if err != nil {
		return fmt.Errorf("copy: %s: %w", path, err)
	}
	defer src.Close()

	counts, err := dst.Import(ctx, func(to dump.Sinks) error { return src.Export(ctx, to) })
	if len(counts) > 0 {
		printCounts(stdout, counts)
	}
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	fmt.Fprintf(stdout, "copied %s to %s\n", path, copyTarget)
	return nil
}

// sqlitePath accepts sqlite://PATH or a bare path.
func sqlitePath(from string) (string, error) {
	path := strings.TrimPrefix(from, "sqlite://")
	switch {
	case from == "":
		return "", fmt.Errorf("copy: --from sqlite://PATH is required")
	case path == from && strings.Contains(from, "://"):
		return "", fmt.Errorf("copy: --from must be sqlite://PATH or a file path")
	case path == "":
		return "", fmt.Errorf("copy: --from sqlite:// names no file")
	}
	return path, nil
}

// printCounts prints each table's rows on both sides.
func printCounts(w io.Writer, counts []dump.Count) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\tsqlite rows\tpostgres rows")
	for _, c := range counts {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", c.Table, c.Source, c.Target)
	}
	tw.Flush()
}
