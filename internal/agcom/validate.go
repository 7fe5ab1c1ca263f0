package agcom

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of the domain rules. Lengths count characters (runes), not bytes.
// Each is the bound openapi.yaml gives the field it checks: the request
// validator enforces the contract's, these bind callers that do not come
// through the API, and contract_test.go fails when the two differ.
const (
	MaxRecipients     = 100
	MaxTags           = 20
	MaxTagLen         = 30
	MaxSubjectLen     = 200
	MaxBodyLen        = 50000
	MaxDisplayNameLen = 100
	MaxDescriptionLen = 500
	MaxMetadataKeyLen = 50
	MaxMetadataValLen = 500
	MaxQueryLen       = 200
	minHandleLen      = 2
	maxHandleLen      = 64
)

// ValidHandle reports whether s is a handle: 2-64 characters of
// a-z 0-9 . _ -, not starting or ending with . or -.
func ValidHandle(s string) bool {
	if len(s) < minHandleLen || len(s) > maxHandleLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c == '.' || c == '-':
			if i == 0 || i == len(s)-1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func validTag(s string) bool {
	if len(s) < 1 || len(s) > MaxTagLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CheckHandle returns a ValidationError about field unless s is a handle.
func CheckHandle(field, s string) error {
	if !ValidHandle(s) {
		return Invalid(field, "must be a handle: %d-%d characters of a-z 0-9 . _ -, not starting or ending with . or -", minHandleLen, maxHandleLen)
	}
	return nil
}

// NormalizeTags validates tags and returns them with duplicates dropped,
// order kept. The result is never nil.
func NormalizeTags(field string, tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, Invalid(field, "at most %d tags", MaxTags)
	}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		if !validTag(t) {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "must be 1-%d characters of a-z 0-9 _ -", MaxTagLen)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// CheckText returns a ValidationError about field unless s is valid UTF-8 of
// 1 to max characters, not blank, without NUL (which PostgreSQL cannot
// store in text).
func CheckText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "must be valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Invalid(field, "must not contain the NUL character (U+0000)")
	}
	if strings.TrimSpace(s) == "" {
		return Invalid(field, "must not be blank")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Invalid(field, "at most %d characters, got %d", max, n)
	}
	return nil
}

// CheckOptionalText is CheckText for a field where empty means absent.
func CheckOptionalText(field, s string, max int) error {
	if s == "" {
		return nil
	}
	return CheckText(field, s, max)
}

// Validate checks m and normalises it: recipients de-duplicated in order,
// tags de-duplicated in order.
func (m *NewMessage) Validate() error {
	if len(m.ToHandles) == 0 {
		return Invalid("to_handles", "at least one recipient")
	}
	if len(m.ToHandles) > MaxRecipients {
		return Invalid("to_handles", "at most %d recipients", MaxRecipients)
	}
	to := make([]string, 0, len(m.ToHandles))
	for i, h := range m.ToHandles {
		if err := CheckHandle(fmt.Sprintf("to_handles[%d]", i), h); err != nil {
			return err
		}
		if !slices.Contains(to, h) {
			to = append(to, h)
		}
	}
	m.ToHandles = to
	if err := CheckText("subject", m.Subject, MaxSubjectLen); err != nil {
		return err
	}
	if err := CheckText("body", m.Body, MaxBodyLen); err != nil {
		return err
	}
	tags, err := NormalizeTags("tags", m.Tags)
	if err != nil {
		return err
	}
	m.Tags = tags
	m.AttachmentIDs, err = normalizeAttachmentIDs(m.AttachmentIDs)
	return err
}

// Validate checks r and de-duplicates its tags.
func (r *Reply) Validate() error {
	if err := CheckText("body", r.Body, MaxBodyLen); err != nil {
		return err
	}
	tags, err := NormalizeTags("tags", r.Tags)
	if err != nil {
		return err
	}
	r.Tags = tags
	r.AttachmentIDs, err = normalizeAttachmentIDs(r.AttachmentIDs)
	return err
}

// Validate checks s and applies the default limit when it has none.
func (s *MessageSearch) Validate() error {
	if s.Query == "" {
		return Invalid("query", "must not be empty")
	}
	if !utf8.ValidString(s.Query) {
		return Invalid("query", "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s.Query); n > MaxQueryLen {
		return Invalid("query", "at most %d characters, got %d", MaxQueryLen, n)
	}
	if !s.InSubject && !s.InBody {
		return Invalid("in_subject", "search the subject, the body, or both")
	}
	if s.FromHandle != "" {
		if err := CheckHandle("from_handle", s.FromHandle); err != nil {
			return err
		}
	}
	if s.ToHandle != "" {
		if err := CheckHandle("to_handle", s.ToHandle); err != nil {
			return err
		}
	}
	switch {
	case s.Limit == 0:
		s.Limit = DefaultLimit
	case s.Limit < 0 || s.Limit > MaxLimit:
		return Invalid("limit", "must be 1-%d, got %d", MaxLimit, s.Limit)
	}
	return nil
}

// CheckMetadata validates a metadata key and, unless nil, its value.
func CheckMetadata(key string, value *string) error {
	if key == "" || !utf8.ValidString(key) {
		return Invalid("key", "must be 1-%d characters", MaxMetadataKeyLen)
	}
	if n := utf8.RuneCountInString(key); n > MaxMetadataKeyLen {
		return Invalid("key", "at most %d characters, got %d", MaxMetadataKeyLen, n)
	}
	if value != nil {
		if !utf8.ValidString(*value) {
			return Invalid("value", "must be valid UTF-8")
		}
		if n := utf8.RuneCountInString(*value); n > MaxMetadataValLen {
			return Invalid("value", "at most %d characters, got %d", MaxMetadataValLen, n)
		}
	}
	return nil
}

// Normalize returns p with DefaultLimit when it has no limit. No page out
// of bounds comes through the API: the request validator refuses a limit
// above MaxLimit (the contract's maximum) and a negative offset. Other
// callers (operator commands, tests) are bounded here rather than refused
// because the stores call Normalize where it cannot return an error, and
// no caller may make a store read an unbounded page.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultLimit
	}
	p.Limit = min(p.Limit, MaxLimit)
	p.Offset = max(p.Offset, 0)
	return p
}

// CheckContactFields checks the fields of a contact a client supplies and
// returns its tags normalised.
func CheckContactFields(displayName, description string, tags []string) ([]string, error) {
	if err := CheckOptionalText("display_name", displayName, MaxDisplayNameLen); err != nil {
		return nil, err
	}
	if err := CheckOptionalText("description", description, MaxDescriptionLen); err != nil {
		return nil, err
	}
	return NormalizeTags("tags", tags)
}

// Participants returns a new thread's participants: the sender and the
// recipients, de-duplicated and sorted.
func Participants(sender string, to []string) []string {
	p := append([]string{sender}, to...)
	slices.Sort(p)
	return slices.Compact(p)
}
