package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/agcom/agcom/internal/store/dump"
)

// exportTables are the tables Export streams, parents before the tables
// that refer to them. The search index (messages_fts) is left out: it is
// derived from messages, and a PostgreSQL target indexes the text itself.
var exportTables = []string{
	"threads",
	"thread_participants",
	"thread_metadata",
	"messages",
	"message_recipients",
	"agent_messages",
	"attachments",
	"message_attachments",
	"contacts",
	"contact_tags",
	"audit_events",
	"audit_targets",
	"agents",
	"counters",
	"events",
	"idempotency_keys",
	"api_keys",
}

// serialTables are the tables whose seq column numbers their rows.
var serialTables = map[string]bool{"messages": true, "audit_events": true, "events": true}

const (
	// sqlExportTables lists the database's own tables, without SQLite's
	// internal ones, the search index with its shadow tables, and the
	// writer's commit count (bookkeeping for answers kept in memory).
	sqlExportTables = `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		AND name <> 'messages_fts' AND name NOT LIKE 'messages\_fts\_%' ESCAPE '\'
		AND name <> 'writer_commits'
		ORDER BY name`
	// sqlExportSerial is the highest seq a table ever handed out: events
	// is AUTOINCREMENT, so sqlite_sequence remembers seqs that pruning
	// deleted; the others never delete rows.
	sqlExportSerial = `SELECT max(coalesce((SELECT max(seq) FROM %[1]s), 0),
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = '%[1]s'), 0))`
)

// Export streams the file of every content the attachments refer to to
// to.Blob, then every row of every table to to.Table, table by table, from
// one read transaction: one consistent snapshot, whether or not the
// server is writing meanwhile. It fails if the database holds a table it
// does not know, so that a copy never silently leaves data behind, and,
// before streaming anything, if an attachment's file is missing.
func (s *Store) Export(ctx context.Context, to dump.Sinks) error {
	return s.readTx(ctx, func(t *tx) error {
		if err := t.checkExportTables(); err != nil {
			return err
		}
		if err := t.exportBlobs(s.files, to.Blob); err != nil {
			return err
		}
		for _, name := range exportTables {
			if err := t.exportTable(name, to.Table); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkExportTables fails if the database has a table Export would miss.
func (t *tx) checkExportTables() error {
	rows, err := t.QueryContext(t.ctx, sqlExportTables)
	if err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for _, name := range exportTables {
		known[name] = true
	}
	var unknown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("store: export: %w", err)
		}
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("store: export: this build does not know the table(s) %s", strings.Join(unknown, ", "))
	}
	return nil
}

// exportTable counts one table's rows and streams them to sink. The table
// names are ours, not input.
func (t *tx) exportTable(name string, sink dump.Sink) error {
	table := dump.Table{Name: name}
	if err := t.QueryRowContext(t.ctx, "SELECT count(*) FROM "+name).Scan(&table.Count); err != nil {
		return fmt.Errorf("store: export %s: %w", name, err)
	}
	if serialTables[name] {
		if err := t.QueryRowContext(t.ctx, fmt.Sprintf(sqlExportSerial, name)).Scan(&table.Serial); err != nil {
			return fmt.Errorf("store: export %s: %w", name, err)
		}
	}
	rows, err := t.QueryContext(t.ctx, "SELECT * FROM "+name)
	if err != nil {
		return fmt.Errorf("store: export %s: %w", name, err)
	}
	defer rows.Close()
	if table.Columns, err = rows.Columns(); err != nil {
		return fmt.Errorf("store: export %s: %w", name, err)
	}
	r := &exportRows{rows: rows, n: len(table.Columns)}
	if err := sink(table, r); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: export %s: %w", name, err)
	}
	return nil
}

// exportRows reads one table's rows as dump.Rows.
type exportRows struct {
	rows *sql.Rows
	n    int
}

func (r *exportRows) Next() bool { return r.rows.Next() }

func (r *exportRows) Values() ([]any, error) {
	vals := make([]any, r.n)
	ptrs := make([]any, r.n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := r.rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}

func (r *exportRows) Err() error { return r.rows.Err() }
