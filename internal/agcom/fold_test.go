package agcom_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/agcom/agcom/internal/agcom"
)

func TestMatcher(t *testing.T) {
	cases := []struct {
		query, text string
		want        bool
	}{
		{"zebra", "The ZEBRA crossing", true},
		{"ZeB", "the zebra", true},
		{"école", "ÉCOLE normale", true},
		{"über", "Grüße ÜBER alles", true},
		{"%", "100 percent", false},
		{"%", "100% sure", true},
		{"a_b", "axb", false},
		{"a_b", "a_b", true},
		{"σ", "ΣΑΣ", true},
		{"k", "\u212a", true}, // Kelvin sign folds with k
		{"abc", "ab", false},
		{"", "anything", true},
		{"x", "", false},
	}
	for _, tc := range cases {
		if got := agcom.NewMatcher(tc.query).Match(tc.text); got != tc.want {
			t.Errorf("NewMatcher(%q).Match(%q) = %v, want %v", tc.query, tc.text, got, tc.want)
		}
	}
}

// oracleMatch is the definition Matcher implements, checked the slow way:
// at some character of text (a byte that is not UTF-8 reads as U+FFFD)
// the query's characters follow, each equal to the text's ignoring case,
// that is in the same unicode.SimpleFold orbit.
func oracleMatch(query, text string) bool {
	q := []rune(query)
	t := []rune(text)
	for i := 0; i+len(q) <= len(t); i++ {
		if slices.EqualFunc(q, t[i:i+len(q)], sameOrbit) {
			return true
		}
	}
	return false
}

func sameOrbit(a, b rune) bool {
	for f := unicode.SimpleFold(a); ; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
		if f == a {
			return false
		}
	}
}

// FuzzMatcher compares Matcher with its definition on random queries and
// texts, one Matcher looking at several texts in turn.
func FuzzMatcher(f *testing.F) {
	for _, s := range [][2]string{
		{"zebra", "The ZEBRA crossing"}, {"école", "ÉCOLE normale"}, {"σ", "ΣΑΣ ς"}, {"k", "\u212a"},
		{"\u212a", "K"}, {"s", "ſ"}, {"ß", "ẞ"}, {"İ", "i̇"}, {"\xff", "a\xffb"}, {"\ufffd", "a\xc3b"},
		{"a_b", "axb"}, {"%", "100%"}, {"", "x"}, {"x", ""}, {"aab", "aaab"}, {"é", "e\u0301"},
	} {
		f.Add(s[0], s[1], "second text")
	}
	f.Fuzz(func(t *testing.T, query, text, other string) {
		m := agcom.NewMatcher(query)
		for _, s := range []string{text, other, text + other, other + text} {
			if got, want := m.Match(s), oracleMatch(query, s); got != want {
				t.Fatalf("NewMatcher(%q).Match(%q) = %t, want %t", query, s, got, want)
			}
		}
	})
}

func BenchmarkMatcher(b *testing.B) {
	words := "deploy rollback latency budget planner router cache index schema migration backup restore token secret review merge branch release ticket incident alert metric trace span queue worker "
	cases := []struct{ name, query, text string }{
		{"ascii", "scheduler", words},
		{"ascii long", "scheduler", strings.Repeat(words, 250)},
		{"ascii upper long", "scheduler", strings.ToUpper(strings.Repeat(words, 250))},
		{"accented long", "über", strings.Repeat("Grüße aus München, schöne Straße, ", 1000)},
		{"greek long", "σοφία", strings.Repeat("ΚΑΛΗΜΕΡΑ ΚΟΣΜΕ καλημέρα κόσμε ", 1000)},
		{"cjk long", "東京", strings.Repeat("日本語のテキスト、大阪と京都 ", 1000)},
		{"ascii near misses", strings.Repeat("a", 100) + "b", strings.Repeat("a", 30000)},
		{"accented near misses", strings.Repeat("é", 100) + "f", strings.Repeat("É", 10000)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m := agcom.NewMatcher(c.query)
			b.SetBytes(int64(len(c.text)))
			for b.Loop() {
				m.Match(c.text)
			}
		})
	}
}
