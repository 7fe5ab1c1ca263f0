package agcom

import "unicode/utf8"

// MessageSearchResult is what a message search found.
type MessageSearchResult struct {
	Messages []Message
	// Truncated is set when the search stopped at Limits.SearchScanBytes
	// before it had looked at every candidate: older messages may match
	// too.
	Truncated bool
}

// A query of fewer than ShortQuery characters is short: it has no
// trigram for an index to look up, and it matches nearly everything, so
// it looks at the newest ShortQueryScan candidates the caller can see at
// most.
const (
	ShortQuery     = 3
	ShortQueryScan = 10_000
)

// SearchCandidate is a message a search looks at, newest first: its
// subject and body, or only their size when the store has already found
// that neither contains the query.
type SearchCandidate struct {
	Seq           int64 // the message's key in the store
	Subject, Body string
	Rejected      bool
	Size          int64 // bytes of subject and body, when Rejected
}

// SearchScan confirms a search's candidates, newest first, and decides
// when the search stops: when its page is full, when a short query has
// looked at ShortQueryScan candidates, or when it has read
// Limits.SearchScanBytes of candidate subjects and bodies. The candidate
// that reaches the limit is still read, so that a search always looks at
// one.
type SearchScan struct {
	search MessageSearch
	match  *Matcher
	short  bool
	left   int64 // bytes still to read
	seen   int
	found  int
	// Truncated is set when the scan stopped at its limit with a
	// candidate left.
	Truncated bool
}

// NewSearchScan returns the scan of q, which has been validated.
func (l Limits) NewSearchScan(q MessageSearch) *SearchScan {
	return &SearchScan{
		search: q, match: NewMatcher(q.Query), left: l.WithDefaults().SearchScanBytes,
		short: utf8.RuneCountInString(q.Query) < ShortQuery,
	}
}

// Short reports whether the query is short (ShortQuery).
func (s *SearchScan) Short() bool { return s.short }

// Next reports whether the search looks at another candidate, which is
// there: not when its page is full, nor when a short query has looked at
// ShortQueryScan, nor when it has read its limit, which sets Truncated.
func (s *SearchScan) Next() bool {
	if s.found >= s.search.Limit || s.short && s.seen >= ShortQueryScan {
		return false
	}
	if s.left <= 0 {
		s.Truncated = true
		return false
	}
	return true
}

// Match reads one candidate and reports whether the searched fields
// contain the query.
func (s *SearchScan) Match(subject, body string) bool {
	s.seen++
	s.left -= int64(len(subject) + len(body))
	if s.search.InSubject && s.match.Match(subject) || s.search.InBody && s.match.Match(body) {
		s.found++
		return true
	}
	return false
}

// Skip counts a candidate of n bytes that the database read and rejected
// for the search.
func (s *SearchScan) Skip(n int64) {
	s.seen++
	s.left -= n
}
