// Package cache keeps answers to a store's reads in memory. Agents poll:
// the same inbox page, asked again and again, is the same answer until
// something the agent can see changes. Reads wraps a store's list and
// search reads and its agent records (which every request reads for its
// caller's flags), keeps recent answers as the domain values the store
// returned, and gives one back only while the store says that nothing it
// shows has changed since it was read.
//
// The store keeps knowing what changed (Versions); the cache knows no SQL
// and the store nothing of the cache.
package cache

import (
	"context"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/agcom/agcom/internal/agcom"
)

// Reader is the store's read interface that Reads answers from memory.
type Reader interface {
	ListThreads(ctx context.Context, caller agcom.Caller, f agcom.ThreadFilter) (agcom.ThreadList, error)
	ListMessages(ctx context.Context, caller agcom.Caller, f agcom.MessageFilter) (agcom.MessageList, error)
	ListThreadMessages(ctx context.Context, caller agcom.Caller, id string, p agcom.Page) (agcom.MessageList, error)
	SearchMessages(ctx context.Context, caller agcom.Caller, q agcom.MessageSearch) (agcom.MessageSearchResult, error)
	ListInbox(ctx context.Context, caller agcom.Caller, f agcom.InboxFilter) (agcom.InboxList, error)
	ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error)
	ListContacts(ctx context.Context, f agcom.ContactFilter) (agcom.ContactList, error)
	Agent(ctx context.Context, handle string) (agcom.Agent, error)
}

// Versions tells when what the reads show last changed. A version is a
// number that grows with every commit that may change what it covers,
// whichever process made it, and stays put otherwise; one taken before a
// read is never newer than what the read returns (a commit during the read
// raises it afterwards, so the answer is stale at once).
type Versions interface {
	// CallerVersion covers what caller's list and search reads show (for
	// an admin, everything).
	CallerVersion(ctx context.Context, caller agcom.Caller) (uint64, error)
	// ContactsVersion covers the address book (ListContacts).
	ContactsVersion(ctx context.Context) (uint64, error)
	// AgentsVersion covers the agents' records (Agent).
	AgentsVersion(ctx context.Context) (uint64, error)
}

// Store is what Reads wraps.
type Store interface {
	Reader
	Versions
}

// Default bounds of what Reads keeps, in answers. A list page holds at
// most agcom.MaxLimit items (a first page, agcom.DefaultLimit): 1,024
// pages of typical threads or messages are a few tens of MB, and hold the
// first inbox page of 1,000 agents. An agent record is a few hundred bytes.
const (
	DefaultLists  = 1024
	DefaultAgents = 4096
)

// MaxKeptText bounds the text of an answer kept (see textBytes): a page of
// long messages is read again rather than kept, so that DefaultLists
// answers stay within a few tens of MB whatever agents write.
const MaxKeptText = 16 << 10

// Reads is a Store's Reader answered from memory while the answers are
// current. Its answers are shared: callers must not change them.
type Reads struct {
	store  Store
	lists  *lru.Cache[key, entry]
	agents *lru.Cache[string, entry]

	hits atomic.Uint64 // answers given from memory
}

var _ Reader = (*Reads)(nil)

// New returns s's reads, keeping up to lists list and search answers and
// agents agent records, least recently used out first.
func New(s Store, lists, agents int) (*Reads, error) {
	l, err := lru.New[key, entry](lists)
	if err != nil {
		return nil, err
	}
	a, err := lru.New[string, entry](agents)
	if err != nil {
		return nil, err
	}
	return &Reads{store: s, lists: l, agents: a}, nil
}

// entry is an answer and the version it was read at.
type entry struct {
	version uint64
	value   any
}

// key names a list read and everything its answer depends on: the caller
// as visibility depends on it, and the read's parameters, in a comparable
// struct of the read's own type.
type key struct {
	reader reader
	params any
}

// reader is a caller as its reads depend on it (a display name changes
// nothing they show).
type reader struct {
	handle string
	admin  bool
}

func readerOf(c agcom.Caller) reader { return reader{c.Handle, c.IsAdmin} }

// kept answers with the answer kept under k while version says it is
// current, and otherwise reads (and keeps the answer). The version is
// taken before the read, so an answer never carries a version newer than
// its data. When the version cannot be known, it reads and keeps nothing.
func kept[K comparable, V any](ctx context.Context, r *Reads, c *lru.Cache[K, entry], k K,
	version func(context.Context) (uint64, error), read func() (V, error)) (V, error) {
	v, err := version(ctx)
	if err != nil {
		return read()
	}
	if e, ok := c.Get(k); ok && e.version == v {
		r.hits.Add(1)
		return e.value.(V), nil
	}
	val, err := read()
	if err == nil && textBytes(val) <= MaxKeptText {
		c.Add(k, entry{v, val})
	}
	return val, err
}

// keptList is kept for a list read of caller's, with params (a comparable
// struct of its own type for each read) naming the answer.
func keptList[P comparable, V any](ctx context.Context, r *Reads, caller agcom.Caller, params P, read func() (V, error)) (V, error) {
	return kept(ctx, r, r.lists, key{readerOf(caller), params},
		func(ctx context.Context) (uint64, error) { return r.store.CallerVersion(ctx, caller) }, read)
}

// threadsParams is ListThreads' filter, comparable: the pointer's value,
// not its address.
type threadsParams struct {
	archivedSet, archived bool
	participant, tag      string
	page                  agcom.Page
}

// ListThreads returns the store's ListThreads.
func (r *Reads) ListThreads(ctx context.Context, caller agcom.Caller, f agcom.ThreadFilter) (agcom.ThreadList, error) {
	p := threadsParams{participant: f.Participant, tag: f.Tag, page: f.Page}
	if f.Archived != nil {
		p.archivedSet, p.archived = true, *f.Archived
	}
	return keptList(ctx, r, caller, p, func() (agcom.ThreadList, error) { return r.store.ListThreads(ctx, caller, f) })
}

// ListMessages returns the store's ListMessages.
func (r *Reads) ListMessages(ctx context.Context, caller agcom.Caller, f agcom.MessageFilter) (agcom.MessageList, error) {
	return keptList(ctx, r, caller, f, func() (agcom.MessageList, error) { return r.store.ListMessages(ctx, caller, f) })
}

type threadMessagesParams struct {
	id   string
	page agcom.Page
}

// ListThreadMessages returns the store's ListThreadMessages.
func (r *Reads) ListThreadMessages(ctx context.Context, caller agcom.Caller, id string, p agcom.Page) (agcom.MessageList, error) {
	return keptList(ctx, r, caller, threadMessagesParams{id, p},
		func() (agcom.MessageList, error) { return r.store.ListThreadMessages(ctx, caller, id, p) })
}

// SearchMessages returns the store's SearchMessages.
func (r *Reads) SearchMessages(ctx context.Context, caller agcom.Caller, q agcom.MessageSearch) (agcom.MessageSearchResult, error) {
	return keptList(ctx, r, caller, q, func() (agcom.MessageSearchResult, error) { return r.store.SearchMessages(ctx, caller, q) })
}

// ListInbox returns the store's ListInbox.
func (r *Reads) ListInbox(ctx context.Context, caller agcom.Caller, f agcom.InboxFilter) (agcom.InboxList, error) {
	return keptList(ctx, r, caller, f, func() (agcom.InboxList, error) { return r.store.ListInbox(ctx, caller, f) })
}

// ListAuditEvents returns the store's ListAuditEvents.
func (r *Reads) ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error) {
	return keptList(ctx, r, caller, f, func() (agcom.AuditEventList, error) { return r.store.ListAuditEvents(ctx, caller, f) })
}

// contactsParams is ListContacts' filter, comparable: its tags in an
// array, with their count (a tag "" is refused, not the same filter).
type contactsParams struct {
	query      string
	tags       [agcom.MaxTags]string
	nTags      int
	activeOnly bool
	page       agcom.Page
}

// ListContacts returns the store's ListContacts.
func (r *Reads) ListContacts(ctx context.Context, f agcom.ContactFilter) (agcom.ContactList, error) {
	read := func() (agcom.ContactList, error) { return r.store.ListContacts(ctx, f) }
	if len(f.Tags) > agcom.MaxTags {
		return read() // refused by the store
	}
	p := contactsParams{query: f.Query, nTags: len(f.Tags), activeOnly: f.ActiveOnly, page: f.Page}
	copy(p.tags[:], f.Tags)
	return kept(ctx, r, r.lists, key{params: p}, r.store.ContactsVersion, read)
}

// agentAnswer is Agent's answer, found or not: a token may name a handle
// that is not registered (an ordinary agent), and that is asked as often.
type agentAnswer struct {
	agent agcom.Agent
	err   error // nil, or ENOTFOUND
}

// Agent returns the store's Agent.
func (r *Reads) Agent(ctx context.Context, handle string) (agcom.Agent, error) {
	ans, err := kept(ctx, r, r.agents, handle, r.store.AgentsVersion, func() (agentAnswer, error) {
		a, err := r.store.Agent(ctx, handle)
		if agcom.ErrorCode(err) == agcom.ENOTFOUND {
			return agentAnswer{err: err}, nil
		}
		return agentAnswer{agent: a}, err
	})
	if err != nil {
		return agcom.Agent{}, err
	}
	return ans.agent, ans.err
}

// textBytes is the length of the text an answer holds, where answers vary:
// message subjects and bodies, thread subjects and metadata, contact
// descriptions. Everything else in a page is small and bounded.
func textBytes(v any) int {
	messages := func(ms []agcom.Message) (n int) {
		for _, m := range ms {
			n += len(m.Subject) + len(m.Body)
		}
		return n
	}
	switch v := v.(type) {
	case agcom.MessageList:
		return messages(v.Messages)
	case agcom.MessageSearchResult:
		return messages(v.Messages)
	case agcom.InboxList:
		n := 0
		for _, e := range v.Entries {
			n += len(e.Subject) + len(e.Body)
		}
		return n
	case agcom.ThreadList:
		n := 0
		for _, t := range v.Threads {
			n += len(t.Subject)
			for k, val := range t.Metadata {
				n += len(k) + len(val)
			}
		}
		return n
	case agcom.ContactList:
		n := 0
		for _, c := range v.Contacts {
			n += len(c.Description)
		}
		return n
	}
	return 0
}
