package sqlite

import (
	"encoding/json"
	"slices"
	"testing"
)

// decodeStrings must agree with encoding/json on every input, taking the
// fast path or not.
func TestDecodeStrings(t *testing.T) {
	inputs := []string{
		`[]`, `["a"]`, `["agent-1","agent-2"]`, `["ü","鍵 x"]`, `["a,b","c"]`, `[""]`, `["",""]`,
		`["a\"b"]`, `["a\\b"]`, `["\u003c"]`, `[ "a" ]`, `["a",]`, `["a"`, `null`, `["a" ,"b"]`,
	}
	for _, in := range inputs {
		var want, got []string
		wantErr := json.Unmarshal([]byte(in), &want)
		gotErr := decodeStrings(in, &got)
		if (wantErr == nil) != (gotErr == nil) || !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("decodeStrings(%s) = %q, %v; encoding/json gives %q, %v", in, got, gotErr, want, wantErr)
		}
	}
	for _, plain := range []string{`[]`, `["a"]`, `["a,b","c"]`} {
		if _, ok := splitPlainArray(plain); !ok {
			t.Errorf("splitPlainArray(%s) took the slow path", plain)
		}
	}
}

func TestDecodeStringMap(t *testing.T) {
	for _, in := range []string{`{}`, `{"k":"v"}`, `{"a\"":"\u00fc"}`} {
		var want map[string]string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		got, err := decodeStringMap(in)
		if err != nil || len(got) != len(want) || got == nil {
			t.Fatalf("decodeStringMap(%s) = %v, %v; want %v", in, got, err, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("decodeStringMap(%s)[%q] = %q, want %q", in, k, got[k], v)
			}
		}
	}
}
