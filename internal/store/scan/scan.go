// Package scan reads rows that both stores lay out alike, from either
// driver's result set.
package scan

import (
	"encoding/json"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// Rows is a result set of database/sql or pgx.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Events reads stored events whose columns are: cursor, type, thread id,
// message seq (NULL for none), data (NULL for none) and the creation time
// in microseconds. The caller closes rows.
func Events(rows Rows) ([]agcom.EventRow, error) {
	var out []agcom.EventRow
	for rows.Next() {
		var (
			r          agcom.EventRow
			messageSeq *int64
			data       *string
			created    int64
		)
		if err := rows.Scan(&r.Event.Cursor, &r.Event.Type, &r.Event.ThreadID, &messageSeq, &data, &created); err != nil {
			return nil, err
		}
		r.Event.CreatedAt = time.UnixMicro(created).UTC()
		if messageSeq != nil {
			r.MessageSeq = *messageSeq
		}
		if r.Event.Type == agcom.EventMessageRead && data != nil {
			var d agcom.ReadEventData
			if err := json.Unmarshal([]byte(*data), &d); err != nil {
				return nil, err
			}
			r.Event.MessageIDs, r.Event.ReadAt = d.MessageIDs, d.ReadAt
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
