package sqlite

import (
	"context"

	"github.com/agcom/agcom/internal/agcom"
)

// Seeder runs use cases inside one shared transaction, for loading data in
// bulk (benchmarks, imports): the same code paths as the API, a fraction of
// the commits.
type Seeder struct {
	t *tx
}

// Seed runs fn with a Seeder and commits everything it did at once, or
// nothing if fn fails. fn runs exactly once, so it may keep state (what it
// created so far, a random source).
func (s *Store) Seed(ctx context.Context, fn func(*Seeder) error) error {
	return s.writeTx(ctx, func(t *tx) error { return fn(&Seeder{t: t}) })
}

// Send is SendMessage within the seeding transaction.
func (sd *Seeder) Send(caller agcom.Caller, m agcom.NewMessage) (agcom.Message, error) {
	if err := m.Validate(); err != nil {
		return agcom.Message{}, err
	}
	return sd.t.openThread(caller, m.ToHandles, m)
}

// Reply is ReplyToMessage within the seeding transaction.
func (sd *Seeder) Reply(caller agcom.Caller, messageID string, r agcom.Reply) (agcom.Message, error) {
	if err := r.Validate(); err != nil {
		return agcom.Message{}, err
	}
	return sd.t.reply(caller, sqlGetVisibleMessage, messageID, "message not found", r)
}

// CreateContact is CreateContact within the seeding transaction.
func (sd *Seeder) CreateContact(caller agcom.Caller, c agcom.Contact) (agcom.Contact, error) {
	if err := agcom.CheckHandle("handle", c.Handle); err != nil {
		return agcom.Contact{}, err
	}
	tags, err := agcom.CheckContactFields(c.DisplayName, c.Description, c.Tags)
	if err != nil {
		return agcom.Contact{}, err
	}
	return sd.t.createContact(caller, c, tags)
}
