package agcom

import "context"

// CreateContact adds c to the address book at version 1. Returns ECONFLICT
// when the handle has an entry (active or not), EINVALID for bad fields,
// EIDEMPOTENCY for a key used with another request.
func (s *Service) CreateContact(ctx context.Context, caller Caller, c Contact, key *IdempotencyKey) (out Contact, replayed bool, err error) {
	if err := CheckHandle("handle", c.Handle); err != nil {
		return Contact{}, false, err
	}
	tags, err := CheckContactFields(c.DisplayName, c.Description, c.Tags)
	if err != nil {
		return Contact{}, false, err
	}
	err = s.w.Write(ctx, func(tx Tx) error {
		out, replayed, err = idempotent(tx, key, CreatedContact,
			func(ids []string) (Contact, error) { return tx.Contact(ids[0]) },
			func() (Contact, []string, error) {
				c, err := createContact(tx, caller, c, tags)
				return c, []string{c.Handle}, err
			})
		return err
	})
	return out, replayed, err
}

// createContact adds c, whose fields are valid and whose tags are
// normalised, at version 1.
func createContact(tx Tx, caller Caller, c Contact, tags []string) (Contact, error) {
	now := tx.Now()
	c = Contact{
		Handle: c.Handle, DisplayName: c.DisplayName, Description: c.Description, Tags: tags, IsActive: true,
		CreatedAt: now, UpdatedAt: now, UpdatedBy: caller.Handle, Version: 1,
	}
	if err := tx.InsertContact(c); err != nil {
		return Contact{}, err
	}
	return c, tx.Audit(EventAddressBookAdd, caller.Handle, []string{c.Handle}, map[string]any{
		"display_name": orNull(c.DisplayName), "tags": tags, "version": 1,
	})
}

// UpdateContact replaces the entry's display name, description, tags and
// active flag if its version is still u.ExpectedVersion. Returns ENOTFOUND
// when there is no entry, EVERSION when the version moved on, EINVALID for
// bad fields.
func (s *Service) UpdateContact(ctx context.Context, caller Caller, handle string, u ContactUpdate) (out Contact, err error) {
	tags, err := CheckContactFields(u.DisplayName, u.Description, u.Tags)
	if err != nil {
		return Contact{}, err
	}
	if u.ExpectedVersion < 1 {
		return Contact{}, Invalid("expected_version", "must be at least 1")
	}
	err = s.w.Write(ctx, func(tx Tx) error {
		c, err := tx.LockContact(handle)
		if err != nil {
			return err
		}
		if c.Version != u.ExpectedVersion {
			return Errorf(EVERSION, "contact %s is no longer at version %d; read it again and retry", handle, u.ExpectedVersion)
		}
		c.DisplayName, c.Description, c.Tags, c.IsActive = u.DisplayName, u.Description, tags, u.IsActive
		c.UpdatedAt, c.UpdatedBy, c.Version = tx.Now(), caller.Handle, c.Version+1
		if err := tx.UpdateContact(c); err != nil {
			return err
		}
		out = c
		return tx.Audit(EventAddressBookUpdate, caller.Handle, []string{handle}, map[string]any{
			"display_name": orNull(u.DisplayName), "tags": tags, "is_active": u.IsActive, "version": c.Version,
		})
	})
	return out, err
}

// DeactivateContact marks the entry inactive, keeping its other fields.
// Deactivating an inactive entry changes nothing. Returns ENOTFOUND when
// there is no entry.
func (s *Service) DeactivateContact(ctx context.Context, caller Caller, handle string) (out Contact, err error) {
	err = s.w.Write(ctx, func(tx Tx) error {
		c, err := tx.LockContact(handle)
		if err != nil {
			return err
		}
		out = c
		if !c.IsActive {
			return nil
		}
		c.IsActive = false
		c.UpdatedAt, c.UpdatedBy, c.Version = tx.Now(), caller.Handle, c.Version+1
		if err := tx.UpdateContact(c); err != nil {
			return err
		}
		out = c
		return tx.Audit(EventAddressBookUpdate, caller.Handle, []string{handle}, map[string]any{
			"is_active": false, "version": c.Version,
		})
	})
	return out, err
}

// orNull is s, or null in an audit record when s is empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
