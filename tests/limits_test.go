package tests

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// wantDetails checks an error envelope's details, numbers as JSON has them.
func wantDetails(t *testing.T, what string, got agcomv1.ErrorBody, want map[string]any) {
	t.Helper()
	if got.Details == nil || !maps.Equal(*got.Details, want) {
		t.Fatalf("%s: details %v, want %v", what, got.Details, want)
	}
}

// A thread's metadata is bounded in keys and bytes; the write that would
// exceed a limit is 400 ValidationError naming the limit, and changes
// nothing.
func TestPutThreadMetadataLimits400(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) { c.MaxMetadataKeys, c.MaxMetadataBytes = 2, 64 })
	tid := e.send("alice", []string{"bob"}, "limits", "body").ThreadId
	alice := e.client("alice")
	put := func(key string, value *string) (*http.Response, []byte) {
		t.Helper()
		r, err := alice.PutThreadMetadataWithResponse(context.Background(), tid, agcomv1.MetadataUpdate{Key: key, Value: value})
		if err != nil {
			t.Fatal(err)
		}
		return r.HTTPResponse, r.Body
	}
	archive := func() (*http.Response, []byte) {
		t.Helper()
		r, err := alice.ArchiveThreadWithResponse(context.Background(), tid)
		if err != nil {
			t.Fatal(err)
		}
		return r.HTTPResponse, r.Body
	}
	ok := func(resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: status %d, body %s; want 200", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body)
		}
	}
	ok(put("k1", valueOf("v")))
	ok(put("k2", valueOf("v")))
	full := map[string]string{"k1": "v", "k2": "v"}

	resp, body := put("k3", valueOf("v"))
	wantDetails(t, "a third key", wantError(t, resp, body, http.StatusBadRequest, "ValidationError"),
		map[string]any{"field": "key", "limit": "metadata_keys_per_thread", "max": 2.0, "current": 2.0})
	resp, body = archive()
	wantDetails(t, "archiving a full thread", wantError(t, resp, body, http.StatusBadRequest, "ValidationError"),
		map[string]any{"field": "key", "limit": "metadata_keys_per_thread", "max": 2.0, "current": 2.0})
	if got := e.metadata("bob", tid); !maps.Equal(got, full) {
		t.Fatalf("after refused writes: metadata %v, want %v", got, full)
	}

	// k1=v is 3 bytes: k2 may take a value of 59.
	ok(put("k2", valueOf(strings.Repeat("x", 59))))
	resp, body = put("k2", valueOf(strings.Repeat("x", 60)))
	wantDetails(t, "one byte over", wantError(t, resp, body, http.StatusBadRequest, "ValidationError"),
		map[string]any{"field": "value", "limit": "metadata_bytes_per_thread", "max": 64.0, "current": 64.0, "after": 65.0})
	if got := e.metadata("bob", tid)["k2"]; got != strings.Repeat("x", 59) {
		t.Fatalf("after a refused write: k2 = %q, want the 59 bytes set before", got)
	}
	ok(put("k2", nil))
	ok(archive())
}

// A search that reads the configured bytes of candidates stops there and
// answers what it found with truncated: true; below the limit the answer
// says truncated: false.
func TestSearchMessagesTruncated(t *testing.T) {
	// Each message is 7 bytes of subject and 100 of body: a search reads
	// 10 of them before it passes 1,000 bytes.
	e := newMsgEnv(t, func(c *config.Config) { c.SearchMaxScanBytes = 1000 })
	var ids []string
	for i := range 30 {
		m := e.send("alice", []string{"bob"}, fmt.Sprintf("note %02d", i), fmt.Sprintf("%-100s", fmt.Sprintf("number %02d", i)))
		ids = append([]string{m.MessageId}, ids...)
	}
	for _, tc := range []struct {
		name          string
		limit         int
		want          []string
		wantTruncated bool
	}{
		{"stopped at the limit", 50, ids[:10], true},
		{"a full page first", 4, ids[:4], false},
	} {
		res := e.search("bob", agcomv1.SearchMessagesParams{Query: "number", Limit: valueOf(tc.limit)})
		if got := messageIDs(res.Messages); !slices.Equal(got, tc.want) || res.Count != len(tc.want) ||
			res.Truncated == nil || *res.Truncated != tc.wantTruncated {
			t.Errorf("%s: %d messages %v, truncated %v; want %v, truncated %t", tc.name, res.Count, got, res.Truncated, tc.want, tc.wantTruncated)
		}
	}

	plain := newMsgEnv(t)
	plain.send("alice", []string{"bob"}, "note", "number one")
	resp, err := plain.client("bob").SearchMessagesWithResponse(context.Background(), &agcomv1.SearchMessagesParams{Query: "number"})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("search: %v", err)
	}
	if !strings.Contains(string(resp.Body), `"truncated":false`) || resp.JSON200.Count != 1 {
		t.Errorf("a complete search: body %s, want one message and \"truncated\":false", resp.Body)
	}
}

// The contract states the limits' defaults as the server has them.
func TestContractStatesLimitDefaults(t *testing.T) {
	doc, _ := contractFromDisk(t)
	for _, tc := range []struct {
		path, method string
		want         []string
	}{
		{"/threads/{thread_id}/metadata", http.MethodPut, []string{
			fmt.Sprintf("`MAX_METADATA_KEYS_PER_THREAD` keys (default %d)", config.DefaultMaxMetadataKeysPerThread),
			fmt.Sprintf("`MAX_METADATA_BYTES_PER_THREAD` bytes of keys plus values in\nUTF-8 (default %d)", config.DefaultMaxMetadataBytesPerThread),
		}},
		{"/messages/search", http.MethodGet, []string{
			fmt.Sprintf("default %d, %d MiB", config.DefaultSearchMaxScanBytes, config.DefaultSearchMaxScanBytes>>20),
		}},
	} {
		op := doc.Paths.Find(tc.path).GetOperation(tc.method)
		for _, w := range tc.want {
			if !strings.Contains(op.Description, w) {
				t.Errorf("%s %s: description does not say %q", tc.method, tc.path, w)
			}
		}
	}
}
