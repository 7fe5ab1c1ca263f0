package agcom

// Seeder runs use cases inside one shared write transaction, for loading
// data in bulk (benchmarks, imports): the same rules as the API, a
// fraction of the commits. Idempotency keys play no part.
type Seeder struct {
	tx Tx
}

// NewSeeder returns a Seeder writing in tx.
func NewSeeder(tx Tx) *Seeder { return &Seeder{tx: tx} }

// Send is SendMessage within the seeding transaction.
func (sd *Seeder) Send(caller Caller, m NewMessage) (Message, error) {
	if err := m.Validate(); err != nil {
		return Message{}, err
	}
	return openThread(sd.tx, caller, m.ToHandles, m, nil)
}

// Reply is ReplyToMessage within the seeding transaction.
func (sd *Seeder) Reply(caller Caller, messageID string, r Reply) (Message, error) {
	if err := r.Validate(); err != nil {
		return Message{}, err
	}
	return reply(sd.tx, caller, messageID, false, r)
}

// CreateContact is CreateContact within the seeding transaction.
func (sd *Seeder) CreateContact(caller Caller, c Contact) (Contact, error) {
	if err := CheckHandle("handle", c.Handle); err != nil {
		return Contact{}, err
	}
	tags, err := CheckContactFields(c.DisplayName, c.Description, c.Tags)
	if err != nil {
		return Contact{}, err
	}
	return createContact(sd.tx, caller, c, tags)
}
