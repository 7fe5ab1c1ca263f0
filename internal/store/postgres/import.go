package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/store/dump"
)

// ErrNotEmpty is returned by Import when the database already holds data.
var ErrNotEmpty = errors.New("the PostgreSQL database is not empty")

// kind is how an imported value is converted for its column.
type kind int

const (
	kindInt  kind = iota // int64
	kindText             // string
	kindBool             // SQLite's 0/1 becomes a boolean
	// kindBlob has no exported column of its own: it is the blob written
	// for the content the row's sha256 column names (see dump).
	kindBlob
	// kindAttachments is a message's attachments (JSON), each pointed at
	// the blob written for its sha256.
	kindAttachments
)

type importColumn struct {
	name string
	kind kind
}

// importTable is where one exported table goes.
type importTable struct {
	name    string // the exported table, and the table it fills
	columns []importColumn
	// staging, when set, names a temporary table (of the columns) that
	// takes the rows first; move then fills the real table from it,
	// adding what PostgreSQL keeps on the row and SQLite does not.
	staging, move string
	// special tables are loaded by code of their own (see loadCounters).
	special bool
}

// importTables are the tables Import fills, keyed by their exported name.
// Every table but counters is also checked to be empty first.
var importTables = []importTable{
	{name: "threads", columns: []importColumn{
		{"id", kindText}, {"subject", kindText}, {"created_at", kindInt}, {"last_activity_at", kindInt},
		{"archived", kindBool}, {"participants", kindText}, {"metadata", kindText}}},
	{name: "thread_participants", columns: []importColumn{
		{"thread_id", kindText}, {"handle", kindText}, {"last_activity_at", kindInt}, {"archived", kindBool},
		{"unread", kindInt}}},
	{name: "thread_metadata", columns: []importColumn{
		{"thread_id", kindText}, {"key", kindText}, {"value", kindText}}},
	{name: "messages", columns: []importColumn{
		{"seq", kindInt}, {"id", kindText}, {"thread_id", kindText}, {"from_handle", kindText},
		{"to_handles", kindText}, {"subject", kindText}, {"body", kindText}, {"in_reply_to", kindText},
		{"tags", kindText}, {"created_at", kindInt}, {"attachments", kindAttachments}}},
	// PostgreSQL keeps the message's created_at on its recipients and
	// mailbox rows, so that inboxes walk one index in time order.
	{name: "message_recipients", columns: []importColumn{
		{"message_seq", kindInt}, {"handle", kindText}, {"read_at", kindInt}},
		staging: "import_message_recipients",
		move: `INSERT INTO message_recipients (message_seq, handle, created_at, read_at)
			SELECT r.message_seq, r.handle, m.created_at, r.read_at
			FROM import_message_recipients r JOIN messages m ON m.seq = r.message_seq`},
	{name: "agent_messages", columns: []importColumn{
		{"handle", kindText}, {"message_seq", kindInt}},
		staging: "import_agent_messages",
		move: `INSERT INTO agent_messages (handle, message_seq, created_at)
			SELECT a.handle, a.message_seq, m.created_at
			FROM import_agent_messages a JOIN messages m ON m.seq = a.message_seq`},
	// Their bytes arrive first (see loadBlob), outside the transaction.
	{name: "attachments", columns: []importColumn{
		{"id", kindText}, {"uploader", kindText}, {"filename", kindText}, {"content_type", kindText},
		{"size", kindInt}, {"sha256", kindText}, {"blob_id", kindBlob}, {"created_at", kindInt},
		{"attached", kindBool}}},
	{name: "message_attachments", columns: []importColumn{
		{"attachment_id", kindText}, {"thread_id", kindText}, {"message_id", kindText}}},
	{name: "contacts", columns: []importColumn{
		{"handle", kindText}, {"display_name", kindText}, {"description", kindText}, {"tags", kindText},
		{"is_active", kindBool}, {"created_at", kindInt}, {"updated_at", kindInt}, {"updated_by", kindText},
		{"version", kindInt}, {"search_text", kindText}}},
	{name: "contact_tags", columns: []importColumn{
		{"tag", kindText}, {"handle", kindText}}},
	{name: "audit_events", columns: []importColumn{
		{"seq", kindInt}, {"id", kindText}, {"event_type", kindText}, {"actor_handle", kindText},
		{"target_handle", kindText}, {"details", kindText}, {"created_at", kindInt}, {"target_handles", kindText}}},
	// PostgreSQL lists an agent's audit entries in time order.
	{name: "audit_targets", columns: []importColumn{
		{"handle", kindText}, {"seq", kindInt}},
		staging: "import_audit_targets",
		move: `INSERT INTO audit_targets (handle, created_at, seq)
			SELECT t.handle, a.created_at, t.seq
			FROM import_audit_targets t JOIN audit_events a ON a.seq = t.seq`},
	{name: "agents", columns: []importColumn{
		{"handle", kindText}, {"display_name", kindText}, {"secret_hash", kindText}, {"is_admin", kindBool},
		{"disabled", kindBool}, {"created_at", kindInt}, {"updated_at", kindInt}, {"token_gen", kindInt}}},
	{name: "counters", special: true, columns: []importColumn{
		{"name", kindText}, {"value", kindInt}}},
	// An event's seq is its cursor in SQLite, and stays its cursor here.
	{name: "events", columns: []importColumn{
		{"seq", kindInt}, {"handle", kindText}, {"type", kindText}, {"thread_id", kindText},
		{"message_seq", kindInt}, {"data", kindText}, {"created_at", kindInt}},
		staging: "import_events",
		move: `INSERT INTO events (seq, handle, type, thread_id, message_seq, data, created_at, cursor)
			OVERRIDING SYSTEM VALUE
			SELECT seq, handle, type, thread_id, message_seq, data, created_at, seq FROM import_events`},
	{name: "idempotency_keys", columns: []importColumn{
		{"handle", kindText}, {"key", kindText}, {"request", kindText}, {"kind", kindText},
		{"ids", kindText}, {"created_at", kindInt}}},
	{name: "api_keys", columns: []importColumn{
		{"key_id", kindText}, {"handle", kindText}, {"name", kindText}, {"secret_digest", kindText},
		{"token_gen", kindInt}, {"created_at", kindInt}, {"expires_at", kindInt}, {"last_used_at", kindInt}}},
}

// createStaging is the statement that creates t's staging table, dropped
// at the commit.
func (t importTable) createStaging() string {
	types := map[kind]string{kindInt: "bigint", kindText: "text", kindBool: "boolean", kindBlob: "text", kindAttachments: "text"}
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = c.name + " " + types[c.kind]
	}
	return "CREATE TEMPORARY TABLE " + t.staging + " (" + strings.Join(cols, ", ") + ") ON COMMIT DROP"
}

// prunedThroughCounter is SQLite's counter that PostgreSQL keeps in
// event_retention.
const prunedThroughCounter = "events_pruned_through"

const (
	sqlImportDeleteCounters = `DELETE FROM counters`
	sqlImportSetPruned      = `UPDATE event_retention SET pruned_through = $1`
	// A sequence's next value follows n; with n = 0 it starts at 1.
	sqlImportSetSerial = `SELECT setval(pg_get_serial_sequence($1, 'seq'), greatest($2::bigint, 1), $2::bigint > 0)`
	// counters' rows are counted with event_retention's, which holds the
	// SQLite counter events_pruned_through.
	sqlImportCountCounters = `SELECT (SELECT count(*) FROM counters) + (SELECT count(*) FROM event_retention)`
	sqlImportCounterValues = `SELECT name, sum(value)::bigint FROM counters GROUP BY name
		UNION ALL SELECT '` + prunedThroughCounter + `', pruned_through FROM event_retention`
)

// Import fills this database, which must be empty, with the tables that
// export streams to the sinks it is given: all in one transaction, so
// that a failure leaves the database as it was. The blobs export streams
// first are written by PutBlob, each committed on its own (as an upload's
// are) so that no file is held in memory or in the transaction; if the
// import fails, they are blobs no upload refers to, which
// PruneAttachments removes once they are older than the unattached time,
// and they do not keep the database from counting as empty for the next
// try. Identical contents are written once. It keeps every seq, so
// that event cursors clients hold still work, and moves each seq's
// sequence past the highest the source handed out. It then compares every
// table's row count (and the counters' values) with the source's and
// rolls back on any difference. It returns the counts, also when they
// differ, and ErrNotEmpty when the database already holds data.
func (s *Store) Import(ctx context.Context, export func(dump.Sinks) error) ([]dump.Count, error) {
	var counts []dump.Count
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		im := &importer{ctx: ctx, s: s, tx: tx, loaded: map[string]dump.Table{}, blobs: map[string]string{}}
		if err := im.lockEmpty(); err != nil {
			return err
		}
		if err := export(dump.Sinks{Blob: im.loadBlob, Table: im.load}); err != nil {
			return err
		}
		if err := im.finish(); err != nil {
			return err
		}
		var err error
		counts, err = im.verify()
		return err
	})
	if err != nil {
		return counts, fmt.Errorf("store: import: %w", redactErr(err))
	}
	// Fresh rows are not yet known to be visible to every transaction, so
	// counts would visit every table page until autovacuum passes; VACUUM
	// (which cannot run inside the transaction) marks them now.
	names := make([]string, 0, len(importTables))
	for _, t := range importTables {
		names = append(names, t.name)
	}
	if _, err := s.pool.Exec(ctx, "VACUUM (ANALYZE) "+strings.Join(names, ", ")); err != nil {
		return counts, fmt.Errorf("store: import: copied, but VACUUM failed (autovacuum will catch up): %w", redactErr(err))
	}
	return counts, nil
}

// importer is one Import's state.
type importer struct {
	ctx    context.Context
	s      *Store
	tx     pgx.Tx
	order  []string              // the tables loaded, in order
	loaded map[string]dump.Table // by name, as the source described them
	source map[string]int64      // the source's counter values
	blobs  map[string]string     // the blob written for each sha256
}

// lockEmpty locks every table against other writers (a node started too
// early, a second copy) and fails unless all of them are empty. The
// migrations' own counter rows are cleared, to be replaced. The blob
// tables are neither locked (PutBlob writes them from other connections)
// nor checked: a failed copy leaves blobs there for pruning.
func (im *importer) lockEmpty() error {
	names := make([]string, 0, len(importTables)+1)
	for _, t := range importTables {
		names = append(names, t.name)
	}
	names = append(names, "event_retention")
	if _, err := im.tx.Exec(im.ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN EXCLUSIVE MODE"); err != nil {
		return err
	}
	var full []string
	for _, t := range importTables {
		if t.special {
			continue
		}
		var has bool
		if err := im.tx.QueryRow(im.ctx, "SELECT EXISTS (SELECT 1 FROM "+t.name+")").Scan(&has); err != nil {
			return err
		}
		if has {
			full = append(full, t.name)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: %s already hold rows; copy into a new, empty database", ErrNotEmpty, strings.Join(full, ", "))
	}
	_, err := im.tx.Exec(im.ctx, sqlImportDeleteCounters)
	return err
}

// load is the dump.Sink: it copies one exported table into its place.
func (im *importer) load(t dump.Table, rows dump.Rows) error {
	i := slices.IndexFunc(importTables, func(it importTable) bool { return it.name == t.Name })
	if i < 0 {
		return fmt.Errorf("the export has a table %s that has no place here", t.Name)
	}
	if _, dup := im.loaded[t.Name]; dup {
		return fmt.Errorf("the export has table %s twice", t.Name)
	}
	spec := importTables[i]
	src, err := newConvertRows(spec, t, rows, im.blobs)
	if err != nil {
		return err
	}
	im.loaded[t.Name] = t
	im.order = append(im.order, t.Name)
	switch {
	case spec.special:
		return im.loadCounters(src)
	case spec.staging != "":
		if _, err := im.tx.Exec(im.ctx, spec.createStaging()); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		if _, err := im.tx.CopyFrom(im.ctx, pgx.Identifier{spec.staging}, src.columnNames(), src); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		if _, err := im.tx.Exec(im.ctx, spec.move); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
	default:
		// COPY writes the given values into identity columns (GENERATED
		// ALWAYS included), as INSERT … OVERRIDING SYSTEM VALUE would.
		if _, err := im.tx.CopyFrom(im.ctx, pgx.Identifier{t.Name}, src.columnNames(), src); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
	}
	return nil
}

// loadCounters turns SQLite's counters into one shard row each, and its
// events_pruned_through into event_retention.
func (im *importer) loadCounters(src *convertRows) error {
	im.source = map[string]int64{}
	var rows [][]any
	for src.Next() {
		v, err := src.Values()
		if err != nil {
			return err
		}
		name, ok := v[0].(string)
		value, ok2 := v[1].(int64)
		if !ok || !ok2 {
			return fmt.Errorf("counters: a row has a NULL name or value")
		}
		im.source[name] = value
		if name == prunedThroughCounter {
			if _, err := im.tx.Exec(im.ctx, sqlImportSetPruned, value); err != nil {
				return fmt.Errorf("counters: %w", err)
			}
			continue
		}
		rows = append(rows, []any{name, int32(0), value})
	}
	if err := src.Err(); err != nil {
		return err
	}
	if _, err := im.tx.CopyFrom(im.ctx, pgx.Identifier{"counters"}, []string{"name", "shard", "value"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("counters: %w", err)
	}
	return nil
}

// loadBlob is the dump.BlobSink: it writes one content as a blob, as an
// upload's bytes are written, and remembers the blob for the rows that
// name the content.
func (im *importer) loadBlob(b dump.Blob, r io.Reader) error {
	if _, dup := im.blobs[b.SHA256]; dup {
		return fmt.Errorf("the export has the content %s twice", b.SHA256)
	}
	if len(im.loaded) > 0 {
		return fmt.Errorf("the export has the content %s after its tables", b.SHA256)
	}
	blob, err := im.s.PutBlob(im.ctx, r)
	if err != nil {
		return fmt.Errorf("content %s: %w", b.SHA256, err)
	}
	if blob.SHA256 != b.SHA256 || blob.Size != b.Size {
		return fmt.Errorf("content %s of %d bytes: read %d bytes with the sha256 %s: the file is damaged or changed",
			b.SHA256, b.Size, blob.Size, blob.SHA256)
	}
	im.blobs[b.SHA256] = blob.Key
	return nil
}

// finish checks that every table arrived and moves each identity
// sequence past the highest seq the source handed out, so that new rows
// never reuse a number (for events: a cursor a client may hold).
func (im *importer) finish() error {
	for _, t := range importTables {
		if _, ok := im.loaded[t.name]; !ok {
			return fmt.Errorf("the export has no table %s", t.name)
		}
	}
	for _, name := range []string{"messages", "audit_events", "events"} {
		var top int64
		if err := im.tx.QueryRow(im.ctx, "SELECT coalesce(max(seq), 0) FROM "+name).Scan(&top); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		top = max(top, im.loaded[name].Serial)
		if _, err := im.tx.Exec(im.ctx, sqlImportSetSerial, name, top); err != nil {
			return fmt.Errorf("%s: move the seq sequence: %w", name, err)
		}
	}
	// Fresh statistics, so that the first queries on a big copy get good
	// plans without waiting for autovacuum.
	_, err := im.tx.Exec(im.ctx, "ANALYZE "+strings.Join(im.order, ", "))
	return err
}

// verify counts every table's rows here and compares them, and the
// counters' values, with the source.
func (im *importer) verify() ([]dump.Count, error) {
	counts := make([]dump.Count, 0, len(im.order))
	var differ []string
	for _, name := range im.order {
		q := "SELECT count(*) FROM " + name
		if name == "counters" {
			q = sqlImportCountCounters
		}
		c := dump.Count{Table: name, Source: im.loaded[name].Count}
		if err := im.tx.QueryRow(im.ctx, q).Scan(&c.Target); err != nil {
			return nil, fmt.Errorf("count %s: %w", name, err)
		}
		if c.Source != c.Target {
			differ = append(differ, fmt.Sprintf("%s (%d rows, copied %d)", name, c.Source, c.Target))
		}
		counts = append(counts, c)
	}
	rows, err := im.tx.Query(im.ctx, sqlImportCounterValues)
	if err != nil {
		return counts, err
	}
	target := map[string]int64{}
	for rows.Next() {
		var (
			name  string
			value int64
		)
		if err := rows.Scan(&name, &value); err != nil {
			rows.Close()
			return counts, err
		}
		target[name] = value
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return counts, err
	}
	for _, name := range slices.Sorted(maps.Keys(im.source)) {
		if v := im.source[name]; target[name] != v {
			differ = append(differ, fmt.Sprintf("counter %s (%d, copied %d)", name, v, target[name]))
		}
	}
	if len(differ) > 0 {
		return counts, fmt.Errorf("the copy differs from the source, nothing was kept: %s", strings.Join(differ, "; "))
	}
	return counts, nil
}

// convertRows is a pgx.CopyFromSource over an exported table: it puts
// each row's values in the order of the target's columns, converted to
// their types.
type convertRows struct {
	table   string
	src     dump.Rows
	columns []importColumn
	index   []int             // index[i] is the exported position of columns[i]
	blobs   map[string]string // the blob written for each sha256
	err     error
}

// newConvertRows matches an exported table's columns with the target's:
// they must be the same set, so that no column is dropped unnoticed.
func newConvertRows(spec importTable, t dump.Table, rows dump.Rows, blobs map[string]string) (*convertRows, error) {
	c := &convertRows{table: t.Name, src: rows, columns: spec.columns, index: make([]int, len(spec.columns)), blobs: blobs}
	exported := 0
	for i, col := range spec.columns {
		from := col.name
		if col.kind == kindBlob {
			from = "sha256"
		} else {
			exported++
		}
		c.index[i] = slices.Index(t.Columns, from)
		if c.index[i] < 0 {
			return nil, fmt.Errorf("%s: the export has no column %s", t.Name, from)
		}
	}
	if len(t.Columns) != exported {
		var extra []string
		for _, name := range t.Columns {
			if !slices.ContainsFunc(spec.columns, func(col importColumn) bool { return col.name == name }) {
				extra = append(extra, name)
			}
		}
		return nil, fmt.Errorf("%s: the export has columns this build cannot place: %s", t.Name, strings.Join(extra, ", "))
	}
	return c, nil
}

func (c *convertRows) columnNames() []string {
	names := make([]string, len(c.columns))
	for i, col := range c.columns {
		names[i] = col.name
	}
	return names
}

// Next implements pgx.CopyFromSource.
func (c *convertRows) Next() bool { return c.err == nil && c.src.Next() }

// Values implements pgx.CopyFromSource.
func (c *convertRows) Values() ([]any, error) {
	in, err := c.src.Values()
	if err != nil {
		c.err = err
		return nil, err
	}
	out := make([]any, len(c.columns))
	for i, col := range c.columns {
		if out[i], err = c.convert(in[c.index[i]], col.kind); err != nil {
			c.err = fmt.Errorf("%s.%s: %w", c.table, col.name, err)
			return nil, c.err
		}
	}
	return out, nil
}

// Err implements pgx.CopyFromSource.
func (c *convertRows) Err() error {
	if c.err != nil {
		return c.err
	}
	return c.src.Err()
}

// convert turns an exported value into the column's type; NULL stays NULL
// (the column's constraints judge it).
func (c *convertRows) convert(v any, k kind) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kindBlob, kindAttachments:
		s, err := c.convert(v, kindText)
		if err != nil {
			return nil, err
		}
		if k == kindAttachments {
			return c.pointAttachments(s.(string))
		}
		if key, ok := c.blobs[s.(string)]; ok {
			return key, nil
		}
		return nil, fmt.Errorf("the export has no bytes for the content %s", s)
	case kindInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case kindText:
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	case kindBool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case int64:
			if b == 0 || b == 1 {
				return b == 1, nil
			}
			return nil, fmt.Errorf("%d is not a boolean (0 or 1)", b)
		}
	}
	return nil, fmt.Errorf("unexpected value of type %T", v)
}

// pointAttachments points each of a message's attachments at the blob
// written for its sha256. A field this store does not keep fails the
// import rather than being dropped.
func (c *convertRows) pointAttachments(v string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	var atts []storedAttachment
	if err := dec.Decode(&atts); err != nil {
		return "", fmt.Errorf("attachments: %w", err)
	}
	for i, a := range atts {
		key, ok := c.blobs[a.SHA256]
		if !ok {
			return "", fmt.Errorf("attachment %s: the export has no bytes for its content %s", a.ID, a.SHA256)
		}
		atts[i].Blob = key
	}
	b, err := json.Marshal(atts)
	return string(b), err
}
