package agcom

import "time"

// Paging limits shared by every list: the default and the maximum of the
// contract's Limit parameter (contract_test.go keeps them equal).
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// Caller is the authenticated agent a request acts for.
type Caller struct {
	Handle      string
	DisplayName string
	// IsAdmin is read from the store on every request, never from a token.
	IsAdmin bool
}

// Page selects a window of a list. A Limit of 0 asks for DefaultLimit.
type Page struct {
	Limit  int
	Offset int
}

// Pagination describes the window a list returned.
type Pagination struct {
	Offset  int
	Limit   int
	Total   int
	HasMore bool
}

// NewPagination computes HasMore for a page of n items out of total.
func NewPagination(p Page, n, total int) Pagination {
	return Pagination{Offset: p.Offset, Limit: p.Limit, Total: total, HasMore: p.Offset+n < total}
}

// Message is one immutable message in a thread.
type Message struct {
	ID         string
	ThreadID   string
	FromHandle string
	ToHandles  []string
	Subject    string
	Body       string
	CreatedAt  time.Time
	InReplyTo  string // empty for the message that opened the thread
	Tags       []string
	// Attachments are the files it carries, in the order given; nil when
	// none.
	Attachments []Attachment
}

// Thread is a conversation between its participants.
type Thread struct {
	ID             string
	Subject        string
	Participants   []string // sorted
	CreatedAt      time.Time
	LastActivityAt time.Time
	Metadata       map[string]string
	// UnreadCount is, for the caller, the thread's messages addressed to it
	// that it has not marked read.
	UnreadCount int
}

// MessageList is a page of messages.
type MessageList struct {
	Messages   []Message
	Pagination Pagination
}

// ThreadList is a page of threads.
type ThreadList struct {
	Threads    []Thread
	Pagination Pagination
}

// NewMessage is what a sender supplies to open a thread (or, in a
// broadcast, one thread per recipient).
type NewMessage struct {
	ToHandles []string
	Subject   string
	Body      string
	Tags      []string
	// AttachmentIDs name uploads of the sender's to attach.
	AttachmentIDs []string
}

// Reply is what a sender supplies to answer a message.
type Reply struct {
	Body string
	Tags []string
	// AttachmentIDs name uploads of the sender's to attach.
	AttachmentIDs []string
}

// MessageFilter selects messages for a list.
type MessageFilter struct {
	ThreadID string // empty: every visible thread
	Page     Page
}

// ThreadFilter selects threads for a list.
type ThreadFilter struct {
	Archived    *bool  // nil: archived or not
	Participant string // a handle taking part; empty: any
	Tag         string // carried by one of the thread's messages; empty: any
	Page        Page
}

// ThreadMatch is what a thread list keeps of the threads the caller sees
// (see ThreadFilter).
type ThreadMatch struct {
	Archived         *bool
	Participant, Tag string
}

// MessageSearch is a substring search over visible messages.
type MessageSearch struct {
	Query      string
	InSubject  bool
	InBody     bool
	FromHandle string // exact; empty: any
	ToHandle   string // exact; empty: any
	Limit      int
}

// MetadataArchived is the thread metadata key that marks a thread archived
// when its value is "true".
const MetadataArchived = "archived"

// Contact is an entry of the address book shared by all agents.
type Contact struct {
	Handle      string
	DisplayName string // empty: none
	Description string // empty: none
	Tags        []string
	IsActive    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	UpdatedBy   string
	Version     int
}

// ContactList is a page of contacts.
type ContactList struct {
	Contacts   []Contact
	Pagination Pagination
}

// ContactFilter selects contacts for a list or a search.
type ContactFilter struct {
	Query      string // case-insensitive substring; empty: any
	Tags       []string
	ActiveOnly bool
	Page       Page
}

// ContactUpdate replaces an entry's fields if its version is still
// ExpectedVersion.
type ContactUpdate struct {
	DisplayName     string
	Description     string
	Tags            []string
	IsActive        bool
	ExpectedVersion int
}

// Audit event types.
const (
	EventThreadCreate         = "thread_create"
	EventMessageSend          = "message_send"
	EventMessageReply         = "message_reply"
	EventAddressBookAdd       = "address_book_add"
	EventAddressBookUpdate    = "address_book_update"
	EventThreadMetadataUpdate = "thread_metadata_update"
	EventAgentCreate          = "agent_create"
	EventAgentUpdate          = "agent_update"
	EventAgentSecretRotate    = "agent_secret_rotate"
	EventAgentTokensRevoke    = "agent_tokens_revoke"
	EventTokenIssueFailure    = "token_issue_failure"
)

// AuditEvent records one change.
type AuditEvent struct {
	ID            string
	Type          string
	ActorHandle   string
	TargetHandles []string // in the order the action named them
	Details       map[string]any
	Timestamp     time.Time
}

// TargetHandle is the first of the event's targets, or empty: the one
// target that clients reading a single target see.
func (e AuditEvent) TargetHandle() string {
	if len(e.TargetHandles) == 0 {
		return ""
	}
	return e.TargetHandles[0]
}

// AuditFilter selects audit events.
type AuditFilter struct {
	EventType    string
	ActorHandle  string
	TargetHandle string
	Page         Page
}

// AuditEventList is a page of audit events.
type AuditEventList struct {
	Events     []AuditEvent
	Pagination Pagination
}

// Agent is a registered agent that can exchange its secret for a token.
type Agent struct {
	Handle      string
	DisplayName string // empty: none
	IsAdmin     bool
	Disabled    bool
	// TokenGeneration rises each time the agent's tokens are revoked;
	// tokens issued for an older generation are refused.
	TokenGeneration int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// AgentList is a page of agents.
type AgentList struct {
	Agents     []Agent
	Pagination Pagination
}

// AgentUpdate changes the fields that are set.
type AgentUpdate struct {
	IsAdmin     *bool
	Disabled    *bool
	DisplayName *string
}

// Stats counts what the store holds.
type Stats struct {
	Threads  int
	Messages int
	Agents   int
	Contacts int
}

// ReadState is a message's read state for one recipient.
type ReadState struct {
	MessageID string
	ReadAt    *time.Time // nil: unread
}

// ThreadReadState is the outcome of marking a thread read.
type ThreadReadState struct {
	ThreadID string
	Marked   int
	ReadAt   time.Time
}

// InboxEntry is a message addressed to the caller, with its read state.
type InboxEntry struct {
	Message
	ReadAt *time.Time // nil: unread
}

// InboxFilter selects messages addressed to the caller.
type InboxFilter struct {
	UnreadOnly bool
	ThreadID   string // empty: any
	FromHandle string // empty: any
	Page       Page
}

// InboxList is a page of the caller's inbox.
type InboxList struct {
	Entries    []InboxEntry
	Pagination Pagination
}

// Event types.
const (
	EventMessageCreated = "message.created"
	EventThreadUpdated  = "thread.updated"
	EventMessageRead    = "message.read"
)

// Event is one entry of an agent's event log. Which of Message, Thread and
// MessageIDs is set depends on Type.
type Event struct {
	Cursor    int64
	Type      string
	ThreadID  string
	CreatedAt time.Time
	// Message is the new message of a message.created event.
	Message *Message
	// Thread is the thread, as the agent sees it now, of a thread.updated
	// event; the events of one page share it, so it must not be changed.
	Thread *Thread
	// MessageIDs and ReadAt describe a message.read event; ReadAt is nil
	// when the messages were marked unread.
	MessageIDs []string
	ReadAt     *time.Time
}

// EventPage is what one read of the event log returns.
type EventPage struct {
	Events []Event
	// Next is the cursor to read after next time.
	Next int64
	// Pending says that events for the reader have committed but cannot
	// be delivered yet (they wait behind an older transaction): read
	// again shortly rather than wait for a wake-up.
	Pending bool
}

// ReadEventData is what a message.read event stores: the messages marked
// read, or unread when ReadAt is nil.
type ReadEventData struct {
	MessageIDs []string   `json:"message_ids"`
	ReadAt     *time.Time `json:"read_at"`
}
