package sqlite

import "github.com/agcom/agcom/internal/agcom"

// Sizes of kept answers, in bytes: estimates of what each holds on the
// heap (its struct, strings and slices), so that the kept answers' budget
// (viewCost) is memory whatever the answers hold. The constants are the
// structs' own sizes on a 64-bit machine, rounded up.

// entrySize is the cache's own bookkeeping per answer: key, entry, list
// element and map slot.
const entrySize = 256

func sizeOfAll[T any](items []T, size func(T) int) int {
	n := 24
	for _, it := range items {
		n += size(it)
	}
	return n
}

func stringsSize(ss []string) int {
	n := 24
	for _, s := range ss {
		n += 16 + len(s)
	}
	return n
}

func threadSize(t agcom.Thread) int {
	n := 128 + len(t.ID) + len(t.Subject) + stringsSize(t.Participants)
	for k, v := range t.Metadata {
		n += 48 + len(k) + len(v)
	}
	return n
}

func messageSize(m agcom.Message) int {
	return 192 + len(m.ID) + len(m.ThreadID) + len(m.FromHandle) + len(m.Subject) + len(m.Body) +
		len(m.InReplyTo) + stringsSize(m.ToHandles) + stringsSize(m.Tags)
}

func inboxEntrySize(e agcom.InboxEntry) int { return 32 + messageSize(e.Message) }

func auditEventSize(e agcom.AuditEvent) int {
	// Details are a map of a few short values, each boxed.
	return 128 + len(e.ID) + len(e.Type) + len(e.ActorHandle) + len(e.TargetHandle) + 256 + 96*len(e.Details)
}

func contactSize(c agcom.Contact) int {
	return 160 + len(c.Handle) + len(c.DisplayName) + len(c.Description) + len(c.UpdatedBy) + stringsSize(c.Tags)
}

func agentSize(a agcom.Agent) int { return 128 + len(a.Handle) + len(a.DisplayName) }
