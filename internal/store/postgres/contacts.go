package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

const contactColumns = `c.handle, c.display_name, c.description, c.tags, c.is_active, c.created_at, c.updated_at, c.updated_by, c.version`

const (
	sqlInsertContact = `
		INSERT INTO contacts (handle, display_name, description, tags, is_active, created_at, updated_at, updated_by, version, search_text)
		VALUES ($1, $2, $3, $4, true, $5, $5, $6, 1, $7)`
	sqlGetContact = `SELECT ` + contactColumns + ` FROM contacts c WHERE c.handle = $1`
	// Writers to one entry take turns on its row, so that each checks the
	// version the one before it wrote.
	sqlLockContact   = sqlGetContact + ` FOR UPDATE`
	sqlUpdateContact = `
		UPDATE contacts SET display_name = $1, description = $2, tags = $3, is_active = $4,
			updated_at = $5, updated_by = $6, version = $7, search_text = $8
		WHERE handle = $9`
	sqlDeleteContactTags = `DELETE FROM contact_tags WHERE handle = $1`
	sqlInsertContactTags = `INSERT INTO contact_tags (tag, handle) SELECT tag, $1 FROM unnest($2::text[]) AS tag ON CONFLICT DO NOTHING`
)

// InsertContact stores c, whose fields are valid and whose tags are
// normalised, as a new entry.
func (t *tx) InsertContact(c agcom.Contact) error {
	tagsJSON, err := json.Marshal(c.Tags)
	if err != nil {
		return err
	}
	// ON CONFLICT DO NOTHING rather than a unique violation, which would
	// abort the transaction (and a batch of seeded use cases with it).
	tag, err := t.exec(sqlInsertContact+` ON CONFLICT (handle) DO NOTHING`, c.Handle, nullString(c.DisplayName), nullString(c.Description),
		string(tagsJSON), toMicros(c.CreatedAt), c.UpdatedBy, agcom.ContactSearchText(c.Handle, c.DisplayName, c.Description))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return agcom.Errorf(agcom.ECONFLICT, "contact %s already exists", c.Handle)
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
	return t.contact(sqlGetContact, handle)
}

// LockContact returns the entry for handle, locking its row until the
// transaction ends.
func (t *tx) LockContact(handle string) (agcom.Contact, error) {
	return t.contact(sqlLockContact, handle)
}

// contact reads the entry for handle with query.
func (t *tx) contact(query, handle string) (agcom.Contact, error) {
	c, err := scanContact(t.queryRow(query, handle))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, agcom.Errorf(agcom.ENOTFOUND, "contact not found")
	}
	return c, err
}

// UpdateContact replaces the entry c.Handle with c, whose fields are valid
// and whose tags are normalised.
func (t *tx) UpdateContact(c agcom.Contact) error {
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
	if len(tags) == 0 {
		return nil
	}
	_, err := t.exec(sqlInsertContactTags, handle, tags)
	return err
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
	n := len(args)
	return queryList(t, scanContact, "SELECT "+contactColumns+" FROM contacts c"+cond+
		" ORDER BY c.handle LIMIT $"+strconv.Itoa(n+1)+" OFFSET $"+strconv.Itoa(n+2), append(args, p.Limit, p.Offset)...)
}

// contactCond is the WHERE clause that selects m's entries, and its
// arguments.
func contactCond(m agcom.ContactMatch) (string, []any) {
	var (
		where []string
		args  []any
	)
	if m.ActiveOnly {
		where = append(where, "c.is_active")
	}
	if m.Text != "" {
		args = append(args, m.Text)
		where = append(where, "strpos(c.search_text, $"+strconv.Itoa(len(args))+") > 0")
	}
	if len(m.Tags) > 0 {
		args = append(args, m.Tags)
		where = append(where, "c.handle IN (SELECT handle FROM contact_tags WHERE tag = ANY($"+strconv.Itoa(len(args))+"))")
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

func scanContact(row scanner) (agcom.Contact, error) {
	var (
		c                agcom.Contact
		name, desc       *string
		tags             string
		created, updated int64
	)
	if err := row.Scan(&c.Handle, &name, &desc, &tags, &c.IsActive, &created, &updated, &c.UpdatedBy, &c.Version); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return c, err
	}
	if name != nil {
		c.DisplayName = *name
	}
	if desc != nil {
		c.Description = *desc
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}
