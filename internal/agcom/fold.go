package agcom

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldRune maps r to one representative of its case-folding orbit (the
// smallest rune of the orbit unicode.SimpleFold walks, lowercased when it
// is an ASCII letter, as the fast path does), so that two runes are equal
// ignoring case exactly when their folds are equal.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	if 'A' <= least && least <= 'Z' {
		return least + 'a' - 'A'
	}
	return least
}

// Matcher finds a query in texts as a case-insensitive substring (Unicode
// simple case folding). Every character is literal: there are no
// wildcards.
type Matcher struct {
	needle []rune // folded
	ascii  []byte // the folded needle, when it is all ASCII
}

// NewMatcher returns a Matcher for query.
func NewMatcher(query string) Matcher {
	m := Matcher{needle: make([]rune, 0, len(query))}
	for _, r := range query {
		m.needle = append(m.needle, foldRune(r))
	}
	if isASCII(query) {
		m.ascii = []byte(string(m.needle))
	}
	return m
}

// Match reports whether text contains the query, ignoring case.
func (m Matcher) Match(text string) bool {
	if len(m.needle) == 0 {
		return true
	}
	if m.ascii != nil && isASCII(text) {
		return m.matchASCII(text)
	}
	for i := 0; i < len(text); {
		if m.matchAt(text[i:]) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return false
}

func (m Matcher) matchAt(text string) bool {
	for _, want := range m.needle {
		if text == "" {
			return false
		}
		r, size := utf8.DecodeRuneInString(text)
		if foldRune(r) != want {
			return false
		}
		text = text[size:]
	}
	return true
}

// matchASCII is Match for an ASCII query in an ASCII text, byte by byte.
func (m Matcher) matchASCII(text string) bool {
	first := m.ascii[0]
	for i := 0; i+len(m.ascii) <= len(text); i++ {
		if lowerASCII(text[i]) != first {
			continue
		}
		j := 1
		for j < len(m.ascii) && lowerASCII(text[i+j]) == m.ascii[j] {
			j++
		}
		if j == len(m.ascii) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// searchSeparator joins the fields of a contact's search text. searchFold
// maps it to another control character inside fields and queries, so that
// a query never matches across two fields.
const searchSeparator = "\x1f"

// ContactSearchText is what a contact search matches against: the fields
// case-folded, so that a plain substring test (instr, strpos) is a case-insensitive substring match in
// which no character is a wildcard.
func ContactSearchText(handle, displayName, description string) string {
	return SearchFold(handle) + searchSeparator + SearchFold(displayName) + searchSeparator + SearchFold(description)
}

// SearchFold case-folds s and replaces the separator in it.
func SearchFold(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, searchSeparator, "\x1e"))
}
