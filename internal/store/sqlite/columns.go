package sqlite

import (
	"encoding/json"
	"strings"
)

// JSON columns. Lists of handles and tags are stored as the JSON arrays
// json.Marshal writes, and a page of results decodes dozens of them: the
// common shape (no escapes, no spaces) is split here, and anything else
// goes through encoding/json, so the result is the same either way.

// decodeStrings decodes the JSON array of strings s into dst.
func decodeStrings(s string, dst *[]string) error {
	if out, ok := splitPlainArray(s); ok {
		*dst = out
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

// splitPlainArray splits `["a","b"]` when no element holds an escape;
// ok is false for any other text.
func splitPlainArray(s string) (out []string, ok bool) {
	inner, found := strings.CutPrefix(s, "[")
	if inner, found = strings.CutSuffix(inner, "]"); !found || strings.IndexByte(inner, '\\') >= 0 {
		return nil, false
	}
	out = make([]string, 0, strings.Count(inner, ",")+1)
	for inner != "" {
		rest, found := strings.CutPrefix(inner, `"`)
		end := strings.IndexByte(rest, '"')
		if !found || end < 0 {
			return nil, false
		}
		out = append(out, rest[:end])
		inner = rest[end+1:]
		if inner == "" {
			break
		}
		if inner, found = strings.CutPrefix(inner, ","); !found || inner == "" {
			return nil, false
		}
	}
	return out, true
}

// decodeStringMap decodes the JSON object s into a new map (most thread
// metadata is empty).
func decodeStringMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if s == "{}" {
		return m, nil
	}
	return m, json.Unmarshal([]byte(s), &m)
}
