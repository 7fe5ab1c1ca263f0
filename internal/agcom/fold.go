package agcom

import (
	"bytes"
	"slices"
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
	if r < rune(len(foldTable)) {
		return rune(foldTable[r])
	}
	return foldOrbit(r)
}

// foldOrbit is foldRune by walking r's orbit.
func foldOrbit(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	if 'A' <= least && least <= 'Z' {
		return least + 'a' - 'A'
	}
	return least
}

// foldTable holds foldOrbit of the two-byte runes (Latin, Greek, Cyrillic
// and more), the non-ASCII text most often folded. A fold is never above
// its rune, so each fits the table's type.
var foldTable = func() (t [0x800]uint16) {
	for r := range t {
		t[r] = uint16(foldOrbit(rune(r)))
	}
	return t
}()

// Matcher finds a query in texts as a case-insensitive substring (Unicode
// simple case folding). Every character is literal: there are no
// wildcards. It folds each text once, then looks for the folded query in
// it as plain bytes; the folded texts are valid UTF-8 (a byte that is not
// is read as U+FFFD, as when decoding), so a match always starts on a
// character. A Matcher reuses one buffer: it is not safe for concurrent
// use.
type Matcher struct {
	needle []byte // the query, folded
	buf    []byte // the latest text, folded
}

// NewMatcher returns a Matcher for query.
func NewMatcher(query string) *Matcher {
	return &Matcher{needle: appendFold(nil, query)}
}

// Match reports whether text contains the query, ignoring case.
func (m *Matcher) Match(text string) bool {
	if len(m.needle) == 0 {
		return true
	}
	m.buf = appendFold(m.buf[:0], text)
	return bytes.Index(m.buf, m.needle) >= 0
}

// appendFold appends s to dst with every character replaced by its fold
// (foldRune).
func appendFold(dst []byte, s string) []byte {
	for len(s) > 0 {
		// A run of ASCII, one byte for one.
		dst = slices.Grow(dst, len(s))
		out := dst[len(dst) : len(dst)+len(s)]
		n := 0
		for n < len(s) && n < len(out) {
			c := s[n]
			if c >= utf8.RuneSelf {
				break
			}
			out[n] = asciiFold[c]
			n++
		}
		dst, s = dst[:len(dst)+n], s[n:]
		for len(s) > 0 && s[0] >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s)
			dst = utf8.AppendRune(dst, foldRune(r))
			s = s[size:]
		}
	}
	return dst
}

// asciiFold lowers ASCII letters and keeps every other byte.
var asciiFold = func() (t [256]byte) {
	for c := range t {
		t[c] = lowerASCII(byte(c))
	}
	return t
}()

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
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
