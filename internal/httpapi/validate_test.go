package httpapi

import (
	"maps"
	"testing"
)

func TestPathParams(t *testing.T) {
	cases := []struct {
		template, path string
		want           map[string]string // nil: no match
	}{
		{"/messages", "/messages", map[string]string{}},
		{"/messages/{id}", "/messages/01J", map[string]string{"id": "01J"}},
		{"/messages/{id}/reply", "/messages/01J/reply", map[string]string{"id": "01J"}},
		{"/threads/{thread_id}/metadata/{key}", "/threads/t1/metadata/a%2Fb", map[string]string{"thread_id": "t1", "key": "a%2Fb"}},
		{"/messages/{id}", "/messages/", nil},
		{"/messages/{id}", "/messages/a/b", nil},
		{"/messages/{id}/reply", "/messages/01J/read", nil},
		{"/messages/{id}/reply", "/messages/01J", nil},
		{"/messages", "/threads", nil},
	}
	for _, tc := range cases {
		got, ok := pathParams(tc.template, tc.path)
		if ok != (tc.want != nil) || !maps.Equal(got, tc.want) {
			t.Errorf("pathParams(%q, %q) = %v, %v; want %v", tc.template, tc.path, got, ok, tc.want)
		}
	}
}
