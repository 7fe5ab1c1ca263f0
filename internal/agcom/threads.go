package agcom

import "context"

// SetThreadMetadata sets key to *value on the thread id, or removes it when
// value is nil. The key "archived" with the value "true" archives the
// thread. Returns ENOTFOUND when the caller cannot see the thread, EINVALID
// for a bad key or value, or when the write would take the thread's
// metadata over the store's limits.
func (s *Service) SetThreadMetadata(ctx context.Context, caller Caller, id, key string, value *string) error {
	if err := CheckMetadata(key, value); err != nil {
		return err
	}
	return s.w.Write(ctx, func(tx Tx) error {
		if err := tx.ThreadVisible(caller, id); err != nil {
			return err
		}
		// Metadata writers to one thread take turns: each counts what
		// the one before it wrote.
		if _, err := tx.LockThread(id); err != nil {
			return err
		}
		usage, old, err := tx.MetadataUsage(id, key)
		if err != nil {
			return err
		}
		if err := tx.Limits().CheckMetadataWrite(usage, key, old, value); err != nil {
			return err
		}
		if err := tx.SetMetadata(id, key, value); err != nil {
			return err
		}
		if key == MetadataArchived {
			if err := tx.SetArchived(id, value != nil && *value == "true"); err != nil {
				return err
			}
		}
		var v any // null when the key is removed
		if value != nil {
			v = *value
		}
		return tx.Audit(EventThreadMetadataUpdate, caller.Handle, nil, map[string]any{
			"thread_id": id, "key": key, "value": v,
		})
	})
}

// SetThreadArchived archives the thread id for everyone, setting its
// "archived" metadata key to "true", or brings it back, removing the key.
// Returns ENOTFOUND when the caller cannot see the thread.
func (s *Service) SetThreadArchived(ctx context.Context, caller Caller, id string, archived bool) error {
	var value *string
	if archived {
		v := "true"
		value = &v
	}
	return s.SetThreadMetadata(ctx, caller, id, MetadataArchived, value)
}
