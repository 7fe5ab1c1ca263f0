package agcom

// MessageSearchResult is what a message search found.
type MessageSearchResult struct {
	Messages []Message
	// Truncated is set when the search stopped at Limits.SearchScanBytes
	// before it had looked at every candidate: older messages may match
	// too.
	Truncated bool
}

// SearchScan confirms a search's candidates, newest first, and decides
// when the search stops: when its page is full, or when it has read
// Limits.SearchScanBytes of candidate subjects and bodies. The candidate
// that reaches the limit is still read, so that a search always looks at
// one.
type SearchScan struct {
	search MessageSearch
	match  *Matcher
	left   int64 // bytes still to read
	found  int
	// Truncated is set when the scan stopped at its limit with a
	// candidate left.
	Truncated bool
}

// NewSearchScan returns the scan of q, which has been validated.
func (l Limits) NewSearchScan(q MessageSearch) *SearchScan {
	return &SearchScan{search: q, match: NewMatcher(q.Query), left: l.WithDefaults().SearchScanBytes}
}

// Next reports whether the search looks at another candidate, which is
// there: not when its page is full, nor when it has read its limit, which
// sets Truncated.
func (s *SearchScan) Next() bool {
	if s.found >= s.search.Limit {
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
	s.left -= n
}
