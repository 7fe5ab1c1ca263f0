package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/agcom/agcom/internal/agcom"
)

const contactColumns = `c.handle, c.display_name, c.description, c.tags, c.is_active, c.created_at, c.updated_at, c.updated_by, c.version`

const (
	sqlInsertContact = `
		INSERT INTO contacts (handle, display_name, description, tags, is_active, created_at, updated_at, updated_by, version, search_text)
		VALUES (?, ?, ?, ?, 1, ?, ?, ?, 1, ?)`
	sqlGetContact    = `SELECT ` + contactColumns + ` FROM contacts c WHERE c.handle = ?`
	sqlUpdateContact = `
		UPDATE contacts SET display_name = ?, description = ?, tags = ?, is_active = ?,
			updated_at = ?, updated_by = ?, version = ?, search_text = ?
		WHERE handle = ?`
	sqlDeleteContactTags = `DELETE FROM contact_tags WHERE handle = ?`
	sqlInsertContactTag  = `INSERT INTO contact_tags (tag, handle) VALUES (?, ?) ON CONFLICT DO NOTHING`
)

// InsertContact stores c, whose fields are valid and whose tags are
// normalised, as a new entry.
func (t *tx) InsertContact(c agcom.Contact) error {
	t.touched = append(t.touched, contactsScope)
	tagsJSON, err := json.Marshal(c.Tags)
	if err != nil {
		return err
	}
	_, err = t.exec(sqlInsertContact, c.Handle, nullString(c.DisplayName), nullString(c.Description),
		string(tagsJSON), toMicros(c.CreatedAt), toMicros(c.UpdatedAt), c.UpdatedBy, agcom.ContactSearchText(c.Handle, c.DisplayName, c.Description))
	if agcom.ErrorCode(translate(err)) == agcom.ECONFLICT {
		return agcom.Errorf(agcom.ECONFLICT, "contact %s already exists", c.Handle)
	} else if err != nil {
		return err
	}
	return t.setContactTags(c.Handle, c.Tags)
}

// GetContact returns the entry for handle, active or not. Returns ENOTFOUND
// when there is none.
func (s *Store) GetContact(ctx context.Context, handle string) (agcom.Contact, error) {
	var c agcom.Contact
	err := s.readTx(ctx, func(t *tx) error {
		var err error
		c, err = t.Contact(handle)
		return err
	})
	return c, err
}

// Contact returns the entry for handle, active or not.
func (t *tx) Contact(handle string) (agcom.Contact, error) {
	c, err := scanContact(t.queryRow(sqlGetContact, handle))
	if errors.Is(err, sql.ErrNoRows) {
		return c, agcom.Errorf(agcom.ENOTFOUND, "contact not found")
	}
	return c, err
}

// LockContact returns the entry for handle: the single writer runs one
// transaction at a time, so nothing else changes it before this one ends.
func (t *tx) LockContact(handle string) (agcom.Contact, error) {
	t.touched = append(t.touched, contactsScope)
	return t.Contact(handle)
}

// UpdateContact replaces the entry c.Handle with c, whose fields are valid
// and whose tags are normalised.
func (t *tx) UpdateContact(c agcom.Contact) error {
	t.touched = append(t.touched, contactsScope)
	tagsJSON, err := json.Marshal(c.Tags)
	if err != nil {
		return err
	}
	if _, err := t.exec(sqlUpdateContact, nullString(c.DisplayName), nullString(c.Description), string(tagsJSON),
		c.IsActive, toMicros(c.UpdatedAt), c.UpdatedBy, c.Version,
		agcom.ContactSearchText(c.Handle, c.DisplayName, c.Description), c.Handle); err != nil {
		return err
	}
	return t.setContactTags(c.Handle, c.Tags)
}

func (t *tx) setContactTags(handle string, tags []string) error {
	if _, err := t.exec(sqlDeleteContactTags, handle); err != nil {
		return err
	}
	for _, tag := range tags {
		if _, err := t.exec(sqlInsertContactTag, tag, handle); err != nil {
			return err
		}
	}
	return nil
}

// ListContacts returns address book entries by handle (agcom.ListContacts).
func (s *Store) ListContacts(ctx context.Context, f agcom.ContactFilter) (agcom.ContactList, error) {
	return agcom.ListContacts(ctx, s, f)
}

// CountContacts returns how many entries m selects.
func (t *tx) CountContacts(m agcom.ContactMatch) (int, error) {
	cond, args := contactCond(m)
	var total int
	err := t.queryRow("SELECT count(*) FROM contacts c"+cond, args...).Scan(&total)
	return total, err
}

// Contacts returns a page of the entries m selects, by handle.
func (t *tx) Contacts(m agcom.ContactMatch, p agcom.Page) ([]agcom.Contact, error) {
	cond, args := contactCond(m)
	return queryList(t, scanContact, "SELECT "+contactColumns+" FROM contacts c"+cond+" ORDER BY c.handle LIMIT ? OFFSET ?",
		append(args, p.Limit, p.Offset)...)
}

// contactCond is the WHERE clause that selects m's entries, and its
// arguments.
func contactCond(m agcom.ContactMatch) (string, []any) {
	var (
		where []string
		args  []any
	)
	if m.ActiveOnly {
		where = append(where, "c.is_active = 1")
	}
	if m.Text != "" {
		where = append(where, "instr(c.search_text, ?) > 0")
		args = append(args, m.Text)
	}
	if len(m.Tags) > 0 {
		where = append(where, "c.handle IN (SELECT handle FROM contact_tags WHERE tag IN ("+placeholders(len(m.Tags))+"))")
		for _, tag := range m.Tags {
			args = append(args, tag)
		}
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

func scanContact(row scanner) (agcom.Contact, error) {
	var (
		c                agcom.Contact
		name, desc       sql.NullString
		tags             string
		created, updated int64
	)
	if err := row.Scan(&c.Handle, &name, &desc, &tags, &c.IsActive, &created, &updated, &c.UpdatedBy, &c.Version); err != nil {
		return c, err
	}
	if err := decodeStrings(tags, &c.Tags); err != nil {
		return c, err
	}
	c.DisplayName, c.Description = name.String, desc.String
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// nullString stores an empty string as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
