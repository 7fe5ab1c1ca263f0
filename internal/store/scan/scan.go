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

// AuditEvents reads audit events whose columns are: id, type, actor, first
// target (NULL for none), every target (a JSON array, NULL unless there
// are several), details (a JSON object) and the creation time in
// microseconds. The list is never nil; the caller closes rows.
func AuditEvents(rows Rows) ([]agcom.AuditEvent, error) {
	out := []agcom.AuditEvent{}
	for rows.Next() {
		var (
			e               agcom.AuditEvent
			target, targets *string
			details         string
			created         int64
		)
		if err := rows.Scan(&e.ID, &e.Type, &e.ActorHandle, &target, &targets, &details, &created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, err
		}
		// The list is kept only for an entry with several targets.
		switch {
		case targets != nil:
			if err := json.Unmarshal([]byte(*targets), &e.TargetHandles); err != nil {
				return nil, err
			}
		case target != nil:
			e.TargetHandles = []string{*target}
		}
		e.Timestamp = time.UnixMicro(created).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
