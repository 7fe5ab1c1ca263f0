package agcom_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/agcom/agcom/internal/agcom"
)

func TestCheckMetadataWrite(t *testing.T) {
	l := agcom.Limits{MetadataKeys: 3, MetadataBytes: 100}
	s := func(v string) *string { return &v }
	cases := []struct {
		name       string
		before     agcom.MetadataUsage
		key        string
		old, value *string
		wantLimit  string // "" for none
	}{
		{"a new key under both limits", agcom.MetadataUsage{Keys: 2, Bytes: 10}, "k", nil, s("v"), ""},
		{"a new key over the key limit", agcom.MetadataUsage{Keys: 3, Bytes: 10}, "k", nil, s("v"), agcom.LimitMetadataKeys},
		{"replacing at the key limit", agcom.MetadataUsage{Keys: 3, Bytes: 10}, "k", s("v"), s("w"), ""},
		{"removing at the key limit", agcom.MetadataUsage{Keys: 3, Bytes: 10}, "k", s("v"), nil, ""},
		{"removing a key that is not set", agcom.MetadataUsage{Keys: 3, Bytes: 10}, "k", nil, nil, ""},
		{"growing to the byte limit", agcom.MetadataUsage{Keys: 2, Bytes: 90}, "k", s("v"), s(strings.Repeat("v", 11)), ""},
		{"growing one byte over", agcom.MetadataUsage{Keys: 2, Bytes: 90}, "k", s("v"), s(strings.Repeat("v", 12)), agcom.LimitMetadataBytes},
		{"bytes, not characters", agcom.MetadataUsage{Keys: 2, Bytes: 90}, "k", s("v"), s(strings.Repeat("é", 6)), agcom.LimitMetadataBytes},
		{"a new key over the byte limit", agcom.MetadataUsage{Keys: 1, Bytes: 99}, "k", nil, s("v"), agcom.LimitMetadataBytes},
		// A thread over a lowered limit may shrink, but not grow.
		{"shrinking over both limits", agcom.MetadataUsage{Keys: 5, Bytes: 200}, "k", s("vvvv"), s("v"), ""},
		{"the same size over the byte limit", agcom.MetadataUsage{Keys: 2, Bytes: 200}, "k", s("v"), s("w"), ""},
		{"growing over the byte limit", agcom.MetadataUsage{Keys: 2, Bytes: 200}, "k", s("v"), s("vv"), agcom.LimitMetadataBytes},
		{"a new key over a lowered key limit", agcom.MetadataUsage{Keys: 5, Bytes: 10}, "k", nil, s("v"), agcom.LimitMetadataKeys},
	}
	for _, tc := range cases {
		err := l.CheckMetadataWrite(tc.before, tc.key, tc.old, tc.value)
		if tc.wantLimit == "" {
			if err != nil {
				t.Errorf("%s: %v, want nil", tc.name, err)
			}
			continue
		}
		var e *agcom.Error
		if !errors.As(err, &e) || e.Code != agcom.EINVALID || e.Details["limit"] != tc.wantLimit {
			t.Errorf("%s: %v, want a ValidationError about %s", tc.name, err, tc.wantLimit)
			continue
		}
		wantMax, wantCurrent := l.MetadataKeys, tc.before.Keys
		if tc.wantLimit == agcom.LimitMetadataBytes {
			wantMax, wantCurrent = l.MetadataBytes, tc.before.Bytes
		}
		if e.Details["max"] != wantMax || e.Details["current"] != wantCurrent {
			t.Errorf("%s: details %v, want max %d, current %d", tc.name, e.Details, wantMax, wantCurrent)
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	got := agcom.Limits{MetadataKeys: 7}.WithDefaults()
	want := agcom.Limits{MetadataKeys: 7, MetadataBytes: agcom.DefaultMetadataBytes, SearchScanBytes: agcom.DefaultSearchScanBytes,
		APIKeysPerAgent: agcom.DefaultAPIKeysPerAgent,
		AttachmentBytes: agcom.DefaultAttachmentBytes, AttachmentQuotaBytes: agcom.DefaultAttachmentQuotaBytes, UnattachedTTL: agcom.DefaultUnattachedTTL}
	if got != want {
		t.Errorf("WithDefaults() = %+v, want %+v", got, want)
	}
}

func TestSearchScan(t *testing.T) {
	q := agcom.MessageSearch{Query: "needle", InSubject: true, InBody: true, Limit: 2}
	scan := agcom.Limits{SearchScanBytes: 30}.NewSearchScan(q)
	steps := []struct {
		subject, body string
		skip          int64
		wantMatch     bool
	}{
		{"a", "hay", 0, false},         // 4 bytes read
		{"", "", 10, false},            // 14: rejected by the database
		{"NEEDLE", "", 0, true},        // 20
		{"x", "hay hay hay", 0, false}, // 32: the limit is reached
	}
	for i, st := range steps {
		if !scan.Next() {
			t.Fatalf("step %d: Next() = false, want true", i)
		}
		if st.skip > 0 {
			scan.Skip(st.skip)
			continue
		}
		if got := scan.Match(st.subject, st.body); got != st.wantMatch {
			t.Fatalf("step %d: Match(%q, %q) = %t, want %t", i, st.subject, st.body, got, st.wantMatch)
		}
	}
	if scan.Truncated {
		t.Fatal("truncated before a candidate was left")
	}
	if scan.Next() || !scan.Truncated {
		t.Fatalf("past the limit: Next() true or not truncated (%t)", scan.Truncated)
	}

	full := agcom.Limits{}.NewSearchScan(q)
	for range 2 {
		full.Next()
		full.Match("needle", "")
	}
	if full.Next() || full.Truncated {
		t.Fatalf("a full page: Next() true or truncated (%t)", full.Truncated)
	}

	subjectOnly := agcom.Limits{}.NewSearchScan(agcom.MessageSearch{Query: "needle", InSubject: true, Limit: 5})
	if subjectOnly.Match("hay", "needle") {
		t.Fatal("a subject-only search matched the body")
	}
}

func TestSearchScanShort(t *testing.T) {
	for _, tc := range []struct {
		query     string
		wantShort bool
	}{{"ne", true}, {"né", true}, {"nee", false}, {"nèè", false}} {
		scan := agcom.Limits{}.NewSearchScan(agcom.MessageSearch{Query: tc.query, InBody: true, Limit: 5})
		if scan.Short() != tc.wantShort {
			t.Errorf("%q: Short() = %t, want %t", tc.query, scan.Short(), tc.wantShort)
		}
		looked := 0
		for looked <= agcom.ShortQueryScan && scan.Next() {
			looked++
			if looked%2 == 0 {
				scan.Skip(1)
			} else {
				scan.Match("", "hay")
			}
		}
		if tc.wantShort && looked != agcom.ShortQueryScan || !tc.wantShort && looked != agcom.ShortQueryScan+1 {
			t.Errorf("%q: looked at %d candidates, want a short query to stop at %d", tc.query, looked, agcom.ShortQueryScan)
		}
		if scan.Truncated {
			t.Errorf("%q: truncated at the short query's cap", tc.query)
		}
	}
}
