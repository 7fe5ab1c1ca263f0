package agcom

import (
	"context"
	"time"
)

// Writer runs the use cases' write transactions; each store is one.
type Writer interface {
	// Write runs fn as one transaction: committed whole before Write
	// returns nil, or not at all. fn runs once, except that a store may
	// run it again on a fresh transaction after the database refused the
	// first for a conflict, so fn keeps no state of its own between runs.
	// fn makes every refusal before its first write: a refusal must leave
	// nothing to undo.
	Write(ctx context.Context, fn func(Tx) error) error
}

// Tx is what the use cases do inside one write transaction.
type Tx interface {
	// Now is the transaction's time: every row it writes carries it.
	Now() time.Time
	// Limits are what the store lets one caller make it hold.
	Limits() Limits
	MessageTx
	ThreadTx
	ReadMarkTx
	ContactTx
	AgentTx
	AuditTx
	IdempotencyTx
	APIKeyTx
	AttachmentTx
}

// MessageTx persists threads and messages.
type MessageTx interface {
	// VisibleMessage returns the message id if the caller may see it;
	// ENOTFOUND otherwise.
	VisibleMessage(caller Caller, id string) (Message, error)
	// LatestVisibleMessage returns the latest message of the thread id if
	// the caller may see it; ENOTFOUND otherwise.
	LatestVisibleMessage(caller Caller, threadID string) (Message, error)
	// LockThread makes writers to the thread take turns until the
	// transaction ends, and returns its subject; ENOTFOUND when there is
	// no such thread.
	LockThread(threadID string) (subject string, err error)
	// CreateThread stores a new thread with its participants and returns
	// its id.
	CreateThread(subject string, participants []string) (id string, err error)
	// TouchThread sets the thread's last activity to now.
	TouchThread(threadID string) error
	// AddParticipant adds handle to the thread, with the thread's earlier
	// messages in its mailbox; nothing when it takes part already.
	AddParticipant(threadID, handle string) error
	// InsertMessage stores msg in its thread and delivers it to every
	// participant, filling in its id and time.
	InsertMessage(msg *Message) error
}

// ThreadTx persists a thread's metadata and archive state.
type ThreadTx interface {
	// ThreadVisible returns ENOTFOUND unless the caller can see the
	// thread.
	ThreadVisible(caller Caller, threadID string) error
	// MetadataUsage returns what the thread's metadata holds, and the
	// value of key (nil: not set).
	MetadataUsage(threadID, key string) (usage MetadataUsage, old *string, err error)
	// SetMetadata sets key to *value on the thread, or removes it when
	// value is nil, and tells everyone who can see the thread that it
	// changed.
	SetMetadata(threadID, key string, value *string) error
	// SetArchived archives the thread, or brings it back, for every
	// participant.
	SetArchived(threadID string, archived bool) error
}

// ReadMarkTx persists what each recipient has read. Marking a message
// read or unread moves the reader's unread count of its thread, and tells
// the reader's own clients (a message.read event).
type ReadMarkTx interface {
	// LockReadState returns the thread of the message id addressed to
	// handle, and when handle read it (nil: unread); handle's other marks
	// in that thread wait until the transaction ends. ENOTFOUND when the
	// message is not addressed to handle.
	LockReadState(handle, messageID string) (threadID string, readAt *time.Time, err error)
	// SetReadAt marks the message, addressed to handle, read at *at, or
	// unread when at is nil.
	SetReadAt(handle, threadID, messageID string, at *time.Time) error
	// LockUnread returns the ids of the thread's messages addressed to
	// handle that it has not read, oldest first; handle's other marks in
	// the thread wait until the transaction ends.
	LockUnread(handle, threadID string) ([]string, error)
	// ReadThread marks the messages ids, all those of the thread addressed
	// to handle and unread, read at at.
	ReadThread(handle, threadID string, ids []string, at time.Time) error
}

// ContactTx persists the address book.
type ContactTx interface {
	// InsertContact stores c as a new entry; ECONFLICT when the handle
	// has one, active or not.
	InsertContact(c Contact) error
	// Contact returns the entry for handle, active or not; ENOTFOUND when
	// there is none.
	Contact(handle string) (Contact, error)
	// LockContact is Contact, and makes other writers to the entry wait
	// until the transaction ends.
	LockContact(handle string) (Contact, error)
	// UpdateContact replaces the entry c.Handle with c.
	UpdateContact(c Contact) error
}

// AgentTx persists registered agents.
type AgentTx interface {
	// InsertAgent registers a, at token generation 0, with the secret
	// hash; ECONFLICT when the handle is taken.
	InsertAgent(a Agent, secretHash string) error
	// LockAgent returns the agent handle, and makes other writers to it
	// wait until the transaction ends; ENOTFOUND when there is none.
	LockAgent(handle string) (Agent, error)
	// UpdateAgent stores a's display name, flags, token generation and
	// update time, and wakes its open event streams and waiting
	// long-polls after the commit, so that they check its rights now.
	UpdateAgent(a Agent) error
	// SetSecretHash replaces the agent's secret hash.
	SetSecretHash(handle, secretHash string) error
	// UpsertAdmin makes handle an enabled admin with the secret hash,
	// registering it when there is no such agent.
	UpsertAdmin(handle, secretHash string) error
}

// AuditTx records audit events.
type AuditTx interface {
	// Audit records an event aimed at targets, in the order the action
	// named them (none: nil).
	Audit(eventType, actor string, targets []string, details map[string]any) error
}
