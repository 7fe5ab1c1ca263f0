package agcom_test

import (
	"testing"

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

func BenchmarkMatcher(b *testing.B) {
	m := agcom.NewMatcher("scheduler")
	text := "deploy rollback latency budget planner router cache index schema migration backup restore token secret review merge branch release ticket incident alert metric trace span queue worker"
	for b.Loop() {
		m.Match(text)
	}
}
