package tests

// Helpers shared by the message, thread, error and health tests. Names carry
// a "msg"/"thread" flavour so that they do not collide with helpers of other
// test files in this package.

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// ulidPattern is the contract's ID pattern.
var ulidPattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

// newMsgEnv is newEnv with per-agent rate limits off, so that tests that
// make many calls as one agent measure behaviour, not throttling.
func newMsgEnv(t *testing.T, opts ...func(*config.Config)) *env {
	t.Helper()
	return newEnv(t, append([]func(*config.Config){func(c *config.Config) { c.RateLimits = false }}, opts...)...)
}

// valueOf returns a pointer to v, for the generated client's optional fields.
func valueOf[T any](v T) *T { return &v }

// sendReq is a SendMessageRequest with tags.
func sendReq(to []string, subject, body string, tags ...string) agcomv1.SendMessageRequest {
	r := agcomv1.SendMessageRequest{ToHandles: to, Subject: subject, Body: body}
	if tags != nil {
		r.Tags = &tags
	}
	return r
}

// replyTo replies as `who` to message id and returns the reply.
func (e *env) replyTo(who, id, body string) agcomv1.Message {
	e.t.Helper()
	resp, err := e.client(who).ReplyToMessageWithResponse(context.Background(), id, nil, agcomv1.ReplyRequest{Body: body})
	if err != nil {
		e.t.Fatalf("reply: %v", err)
	}
	if resp.JSON201 == nil {
		e.t.Fatalf("reply as %s to %s: status %d, body %s", who, id, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// thread reads thread id as `who`; it fails the test unless the answer is 200.
func (e *env) thread(who, id string) agcomv1.Thread {
	e.t.Helper()
	resp, err := e.client(who).GetThreadWithResponse(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get thread: %v", err)
	}
	if resp.JSON200 == nil {
		e.t.Fatalf("get thread %s as %s: status %d, body %s", id, who, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// threads lists threads as `who`.
func (e *env) threads(who string, p agcomv1.ListThreadsParams) agcomv1.ThreadPage {
	e.t.Helper()
	resp, err := e.client(who).ListThreadsWithResponse(context.Background(), &p)
	if err != nil {
		e.t.Fatalf("list threads: %v", err)
	}
	if resp.JSON200 == nil {
		e.t.Fatalf("list threads as %s: status %d, body %s", who, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// messages lists messages as `who`.
func (e *env) messages(who string, p agcomv1.ListMessagesParams) agcomv1.MessagePage {
	e.t.Helper()
	resp, err := e.client(who).ListMessagesWithResponse(context.Background(), &p)
	if err != nil {
		e.t.Fatalf("list messages: %v", err)
	}
	if resp.JSON200 == nil {
		e.t.Fatalf("list messages as %s: status %d, body %s", who, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// threadMessages lists the messages of thread id as `who`.
func (e *env) threadMessages(who, id string, p agcomv1.ListThreadMessagesParams) agcomv1.MessagePage {
	e.t.Helper()
	resp, err := e.client(who).ListThreadMessagesWithResponse(context.Background(), id, &p)
	if err != nil {
		e.t.Fatalf("list thread messages: %v", err)
	}
	if resp.JSON200 == nil {
		e.t.Fatalf("list thread messages of %s as %s: status %d, body %s", id, who, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// search searches messages as `who`.
func (e *env) search(who string, p agcomv1.SearchMessagesParams) agcomv1.SearchResult {
	e.t.Helper()
	resp, err := e.client(who).SearchMessagesWithResponse(context.Background(), &p)
	if err != nil {
		e.t.Fatalf("search: %v", err)
	}
	if resp.JSON200 == nil {
		e.t.Fatalf("search %q as %s: status %d, body %s", p.Query, who, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// metadata reads all metadata of thread id as `who`.
func (e *env) metadata(who, id string) map[string]string {
	e.t.Helper()
	resp, err := e.client(who).GetThreadMetadataWithResponse(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get metadata: %v", err)
	}
	if resp.JSON200 == nil {
		e.t.Fatalf("get metadata of %s as %s: status %d, body %s", id, who, resp.StatusCode(), resp.Body)
	}
	if resp.JSON200.ThreadId != id {
		e.t.Errorf("metadata thread_id = %q, want %q", resp.JSON200.ThreadId, id)
	}
	return resp.JSON200.Metadata
}

// counts is what an agent can see: the totals of its threads and messages.
type counts struct{ threads, messages int }

// countsOf returns the thread and message totals `who` can see.
func (e *env) countsOf(who string) counts {
	e.t.Helper()
	return counts{
		threads:  e.threads(who, agcomv1.ListThreadsParams{}).Pagination.Total,
		messages: e.messages(who, agcomv1.ListMessagesParams{}).Pagination.Total,
	}
}

// wantCounts fails the test unless every agent's totals are as before:
// a rejected request wrote nothing.
func (e *env) wantCounts(before map[string]counts) {
	e.t.Helper()
	for who, want := range before {
		if got := e.countsOf(who); got != want {
			e.t.Errorf("%s sees %+v after a rejected request, want %+v (nothing written)", who, got, want)
		}
	}
}

// snapshot returns countsOf for each agent.
func (e *env) snapshot(who ...string) map[string]counts {
	e.t.Helper()
	m := map[string]counts{}
	for _, h := range who {
		m[h] = e.countsOf(h)
	}
	return m
}

// doRaw sends body with the given Content-Type (none when empty) and
// headers, for what e.do cannot express.
func (e *env) doRaw(method, path, token, contentType string, body []byte) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// messageIDs returns the ids of ms, in order.
func messageIDs(ms []agcomv1.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.MessageId
	}
	return ids
}

// threadIDs returns the ids of ts, in order.
func threadIDs(ts []agcomv1.Thread) []string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ThreadId
	}
	return ids
}

// wantIDs compares two id lists, in order.
func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if got == nil {
		got = []string{}
	}
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// wantPagination compares a pagination block.
func wantPagination(t *testing.T, got, want agcomv1.Pagination) {
	t.Helper()
	if got != want {
		t.Errorf("pagination = %+v, want %+v", got, want)
	}
}

// wantUTC checks that a timestamp is set, in UTC and recent.
func wantUTC(t *testing.T, what string, ts time.Time) {
	t.Helper()
	if ts.IsZero() {
		t.Errorf("%s is zero", what)
		return
	}
	if ts.Location() != time.UTC {
		t.Errorf("%s = %v, want UTC", what, ts)
	}
	if d := time.Since(ts); d < -time.Minute || d > time.Hour {
		t.Errorf("%s = %v, not close to now", what, ts)
	}
}

// frozenClock returns a clock that always says `at`, so that every write
// gets the same instant and ordering falls to the tie-break by id.
func frozenClock(at time.Time) func() time.Time {
	return func() time.Time { return at }
}
