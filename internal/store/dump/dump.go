// Package dump is the neutral form in which a whole database moves from
// one store to another (agcomd copy): tables of rows, streamed from the
// source's exporter to the target's importer, and the attachments' bytes
// (blobs) the rows refer to. It imports nothing of ours, so that neither
// store needs to know the other.
//
// A row is one []any, its values in the order of Table.Columns, as the
// source's driver reads them: int64 for integers (booleans are 0 or 1),
// string for text, []byte for blobs and nil for NULL. The importer
// converts them to its own types.
//
// Rows name a blob by its content's sha256 (the attachments table's sha256
// column, each element's "sha256" in a message's attachments), which both
// stores keep: how a store keys its bytes (a file, a chunked row) stays its
// own, and the importer maps each sha256 to the blob it wrote for it.
package dump

import "io"

// Table describes one table of an export.
type Table struct {
	// Name is the table's name in the source.
	Name string
	// Columns names each value of a row, in order.
	Columns []string
	// Count is how many rows the table holds in the export's snapshot.
	Count int64
	// Serial is, for a table whose seq column numbers its rows (messages,
	// audit_events, events), the highest seq the source ever handed out:
	// new rows must be numbered above it, even when the rows that had the
	// highest numbers were deleted. It is 0 for other tables.
	Serial int64
}

// Rows iterates over one table's rows. Its method set is pgx's
// CopyFromSource and close to database/sql's Rows.
type Rows interface {
	// Next advances to the next row and reports whether there is one.
	Next() bool
	// Values returns the current row's values, in the order of the
	// table's columns. The slice is the caller's to keep.
	Values() ([]any, error)
	// Err returns the error that ended the iteration, if any.
	Err() error
}

// Sink receives one table of an export. An exporter calls it once per
// table, parents before the tables that refer to them; it must read rows
// to the end (or return an error, which ends the export).
type Sink func(t Table, rows Rows) error

// Blob is one content of an export: the bytes of every attachment with
// this sha256.
type Blob struct {
	// SHA256 is the content's sha256 in lowercase hex, as rows name it.
	SHA256 string
	// Size is its length in bytes.
	Size int64
}

// BlobSink receives one blob's bytes. An exporter calls it once per
// content its rows refer to, before any table, so that the importer knows
// where every content went when the rows arrive. It must read r to the end
// (or return an error, which ends the export) and check what it read
// against b.
type BlobSink func(b Blob, r io.Reader) error

// Sinks are where an export goes: its blobs, then its tables.
type Sinks struct {
	Blob  BlobSink
	Table Sink
}

// Count is one table's row count on both sides of a copy.
type Count struct {
	Table          string
	Source, Target int64
}
