package agcom_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agcom/agcom/internal/agcom"
)

// The oracles, written independently of the code under test: a handle or
// a tag is valid when the contract's schema for it accepts it, as the
// request validator decides; text follows the rules of PRODUCT.md.
func oracleValidHandle(tb testing.TB, s string) bool { return contractAccepts(tb, "Handle", s) }

func oracleValidTag(tb testing.TB, s string) bool { return contractAccepts(tb, "Tag", s) }

func oracleValidText(s string, max int) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0) && strings.TrimSpace(s) != "" && utf8.RuneCountInString(s) <= max
}

// dedup keeps the first of each value, in order.
func dedup(xs []string) []string {
	out := []string{}
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// splitList turns a fuzzed string into a list; "" is the empty list.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// wantValidationError checks that err is a ValidationError naming a field.
func wantValidationError(t *testing.T, what string, err error) {
	t.Helper()
	var e *agcom.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v (%T) is not an *agcom.Error", what, err, err)
	}
	if e.Code != agcom.EINVALID {
		t.Fatalf("%s: code %q, want %q", what, e.Code, agcom.EINVALID)
	}
	if e.Message == "" {
		t.Fatalf("%s: empty message", what)
	}
}

// checkTags checks a validated tag list against the rules.
func checkTags(t *testing.T, in, got []string) {
	t.Helper()
	if got == nil {
		t.Fatalf("tags: nil, want a (possibly empty) list")
	}
	if len(got) > agcom.MaxTags {
		t.Fatalf("tags: %d, want at most %d", len(got), agcom.MaxTags)
	}
	for _, tag := range got {
		if !oracleValidTag(t, tag) {
			t.Fatalf("tag %q accepted, breaks the tag rule", tag)
		}
	}
	if want := dedup(in); !slices.Equal(got, want) {
		t.Fatalf("tags %q normalised to %q, want %q (duplicates dropped, order kept)", in, got, want)
	}
}

func FuzzNewMessageValidate(f *testing.F) {
	f.Add("bob", "Hello", "Hi there", "urgent,meeting")
	f.Add("bob,charlie,bob", "Project", "Body", "a,a,b")
	f.Add("", "s", "b", "")
	f.Add("Bob", "s", "b", "")
	f.Add("-bob", "s", "b", "")
	f.Add("bob.", "s", "b", "")
	f.Add("b", "s", "b", "")
	f.Add(strings.Repeat("a", 64), "s", "b", "")
	f.Add(strings.Repeat("a", 65), "s", "b", "")
	f.Add("bob", "   ", "b", "")
	f.Add("bob", "\u00a0\u2003", "b", "")
	f.Add("bob", strings.Repeat("é", 200), "b", "")
	f.Add("bob", strings.Repeat("é", 201), "b", "")
	f.Add("bob", "s", "\xff\xfe", "")
	f.Add("bob", "s\x00", "b\x00", "")
	f.Add("bob", "s", "b", "UPPER")
	f.Add("bob", "s", "b", strings.Repeat("t,", 21)+"t")
	f.Add("bob", "s", "b", strings.Repeat("x", 31))
	f.Add("a_b,a-b,a.b,_a,a_", "ok", "ok", "-,_")
	f.Fuzz(func(t *testing.T, to, subject, body, tags string) {
		in := agcom.NewMessage{ToHandles: splitList(to), Subject: subject, Body: body, Tags: splitList(tags)}
		m := in
		m.ToHandles = slices.Clone(in.ToHandles)
		m.Tags = slices.Clone(in.Tags)
		err := m.Validate()

		wantOK := len(in.ToHandles) >= 1 && len(in.ToHandles) <= agcom.MaxRecipients &&
			oracleValidText(subject, agcom.MaxSubjectLen) && oracleValidText(body, agcom.MaxBodyLen) &&
			len(in.Tags) <= agcom.MaxTags
		for _, h := range in.ToHandles {
			wantOK = wantOK && oracleValidHandle(t, h)
		}
		for _, tag := range in.Tags {
			wantOK = wantOK && oracleValidTag(t, tag)
		}
		if err != nil {
			if wantOK {
				t.Fatalf("Validate(%+v) = %v, but the message follows every rule", in, err)
			}
			wantValidationError(t, "Validate", err)
			return
		}
		if !wantOK {
			t.Fatalf("Validate(%+v) accepted a message that breaks a rule", in)
		}
		if len(m.ToHandles) == 0 || len(m.ToHandles) > agcom.MaxRecipients {
			t.Fatalf("%d recipients after validation", len(m.ToHandles))
		}
		for _, h := range m.ToHandles {
			if !oracleValidHandle(t, h) {
				t.Fatalf("recipient %q accepted, breaks the handle rule", h)
			}
		}
		if want := dedup(in.ToHandles); !slices.Equal(m.ToHandles, want) {
			t.Fatalf("recipients %q normalised to %q, want %q", in.ToHandles, m.ToHandles, want)
		}
		if m.Subject != subject || m.Body != body {
			t.Fatalf("Validate changed the subject or body")
		}
		if n := utf8.RuneCountInString(m.Subject); n < 1 || n > agcom.MaxSubjectLen {
			t.Fatalf("subject of %d characters accepted", n)
		}
		if n := utf8.RuneCountInString(m.Body); n < 1 || n > agcom.MaxBodyLen {
			t.Fatalf("body of %d characters accepted", n)
		}
		checkTags(t, in.Tags, m.Tags)

		// Validating a validated message changes nothing.
		again := m
		again.ToHandles, again.Tags = slices.Clone(m.ToHandles), slices.Clone(m.Tags)
		if err := again.Validate(); err != nil {
			t.Fatalf("second Validate: %v", err)
		}
		if !slices.Equal(again.ToHandles, m.ToHandles) || !slices.Equal(again.Tags, m.Tags) {
			t.Fatalf("Validate is not idempotent: %+v, then %+v", m, again)
		}
	})
}

func FuzzReplyValidate(f *testing.F) {
	f.Add("Yes, 2pm works", "meeting")
	f.Add("", "")
	f.Add(" \t\n", "")
	f.Add(strings.Repeat("ü", agcom.MaxBodyLen), "")
	f.Add(strings.Repeat("ü", agcom.MaxBodyLen+1), "")
	f.Add("ok", "a,b,a,c,b")
	f.Add("ok", "a,,b")
	f.Add("\xc3", "")
	f.Fuzz(func(t *testing.T, body, tags string) {
		in := splitList(tags)
		r := agcom.Reply{Body: body, Tags: slices.Clone(in)}
		err := r.Validate()
		wantOK := oracleValidText(body, agcom.MaxBodyLen) && len(in) <= agcom.MaxTags
		for _, tag := range in {
			wantOK = wantOK && oracleValidTag(t, tag)
		}
		if err != nil {
			if wantOK {
				t.Fatalf("Reply{%q, %q}.Validate() = %v, but it follows every rule", body, in, err)
			}
			wantValidationError(t, "Reply.Validate", err)
			return
		}
		if !wantOK {
			t.Fatalf("Reply{%q, %q}.Validate() accepted a reply that breaks a rule", body, in)
		}
		if r.Body != body {
			t.Fatalf("Validate changed the body")
		}
		checkTags(t, in, r.Tags)
	})
}

func FuzzNormalizeTags(f *testing.F) {
	f.Add("urgent,meeting,urgent")
	f.Add("")
	f.Add(",")
	f.Add("a-b,a_b,A")
	f.Add(strings.Repeat("x", 30) + "," + strings.Repeat("y", 31))
	f.Add(strings.Repeat("t,", 19) + "t")
	f.Add(strings.Repeat("t,", 20) + "t")
	f.Add("é")
	for _, tag := range append(lengths(contractSchema(f, "Tag"), "x"), "-", "_", "-a-", "a.b", "a b", "a\x00", "\xff") {
		f.Add(tag)
	}
	f.Fuzz(func(t *testing.T, tags string) {
		in := splitList(tags)
		got, err := agcom.NormalizeTags("tags", slices.Clone(in))
		wantOK := len(in) <= agcom.MaxTags
		for _, tag := range in {
			wantOK = wantOK && oracleValidTag(t, tag)
		}
		if err != nil {
			if wantOK {
				t.Fatalf("NormalizeTags(%q) = %v, but every tag is valid", in, err)
			}
			wantValidationError(t, "NormalizeTags", err)
			return
		}
		if !wantOK {
			t.Fatalf("NormalizeTags(%q) accepted an invalid list", in)
		}
		checkTags(t, in, got)
	})
}

func FuzzValidHandle(f *testing.F) {
	for _, s := range []string{"", "a", "ab", "alice", "a.b", "a-b", "a_b", "_a", "a_", ".a", "a.", "-a", "a-",
		"A", "al ice", "alïce", "a\x00", "..", "a..b", "__", "a--b", "aB", "a\nb", "ab\n", "\xff\xfe", "0123", "a/b"} {
		f.Add(s)
	}
	for _, s := range lengths(contractSchema(f, "Handle"), "a") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := agcom.ValidHandle(s), oracleValidHandle(t, s)
		if got != want {
			t.Fatalf("ValidHandle(%q) = %t, want %t", s, got, want)
		}
		err := agcom.CheckHandle("handle", s)
		if (err == nil) != want {
			t.Fatalf("CheckHandle(%q) = %v, want valid=%t", s, err, want)
		}
		if err != nil {
			wantValidationError(t, "CheckHandle", err)
		}
	})
}

// textFields are the text fields of the contract and their domain limits.
var textFields = []struct {
	schema string
	max    int
}{
	{"Subject", agcom.MaxSubjectLen},
	{"Body", agcom.MaxBodyLen},
	{"DisplayName", agcom.MaxDisplayNameLen},
	{"Description", agcom.MaxDescriptionLen},
}

func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"", " ", "\t\n", "a", " a ", "\u00a0", "\u3000x", "\u2028", "\xff", "é", strings.Repeat("é", 10), strings.Repeat("é", 11)} {
		f.Add(s, 10)
	}
	f.Add("x", 0)
	f.Add("x", -1)
	// The edges of each field's length, checked here rather than added to
	// the corpus: the body's would slow the fuzzer down.
	for _, fd := range textFields {
		for _, s := range lengths(contractSchema(f, fd.schema), "é") {
			checkTextWithinContract(f, s)
		}
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		checkTextWithinContract(t, s)
		err := agcom.CheckText("field", s, max)
		want := oracleValidText(s, max)
		if (err == nil) != want {
			t.Fatalf("CheckText(%q, %d) = %v, want valid=%t", s, max, err, want)
		}
		if err != nil {
			wantValidationError(t, "CheckText", err)
		}
		opt := agcom.CheckOptionalText("field", s, max)
		if s == "" && opt != nil {
			t.Fatalf("CheckOptionalText(\"\") = %v, want nil (absent)", opt)
		}
		if s != "" && (opt == nil) != want {
			t.Fatalf("CheckOptionalText(%q, %d) = %v, want valid=%t", s, max, opt, want)
		}
	})
}

// checkTextWithinContract fails when the domain accepts s for a text field
// that the contract does not accept, so that what a caller stores without
// the API can always be answered through it. The domain is stricter: it
// refuses NUL, and text of Unicode spaces only.
func checkTextWithinContract(tb testing.TB, s string) {
	tb.Helper()
	for _, fd := range textFields {
		if agcom.CheckText("field", s, fd.max) == nil && !contractAccepts(tb, fd.schema, s) {
			tb.Fatalf("CheckText accepts %q (%d characters) for %s, the contract does not", excerpt(s), utf8.RuneCountInString(s), fd.schema)
		}
	}
}

// excerpt shortens s for a failure message.
func excerpt(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
