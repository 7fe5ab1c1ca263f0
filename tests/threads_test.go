package tests

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

func TestListThreadsOrdering(t *testing.T) {
	e := newMsgEnv(t)
	t1 := e.send("alice", []string{"bob"}, "T1", "one")
	t2 := e.send("alice", []string{"carol"}, "T2", "two")
	t3 := e.send("bob", []string{"alice"}, "T3", "three")

	steps := []struct {
		name    string
		act     func()
		touched string // the thread whose activity moved, if any
		alice   []string
		bob     []string
	}{
		{"newest thread first", func() {}, "",
			[]string{t3.ThreadId, t2.ThreadId, t1.ThreadId}, []string{t3.ThreadId, t1.ThreadId}},
		{"a reply moves its thread to the top", func() { e.replyTo("carol", t2.MessageId, "re two") }, t2.ThreadId,
			[]string{t2.ThreadId, t3.ThreadId, t1.ThreadId}, []string{t3.ThreadId, t1.ThreadId}},
		{"a thread reply moves its thread to the top", func() {
			if r, err := e.client("bob").ReplyToThreadWithResponse(context.Background(), t1.ThreadId, nil, agcomv1.ReplyRequest{Body: "re one"}); err != nil || r.JSON201 == nil {
				t.Fatalf("thread reply: %v %s", err, r.Body)
			}
		}, t1.ThreadId,
			[]string{t1.ThreadId, t2.ThreadId, t3.ThreadId}, []string{t1.ThreadId, t3.ThreadId}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var before time.Time
			if st.touched != "" {
				before = e.thread("alice", st.touched).LastActivityAt
			}
			st.act()
			page := e.threads("alice", agcomv1.ListThreadsParams{})
			wantIDs(t, "alice's threads", threadIDs(page.Threads), st.alice)
			wantIDs(t, "bob's threads", threadIDs(e.threads("bob", agcomv1.ListThreadsParams{}).Threads), st.bob)
			for i := 1; i < len(page.Threads); i++ {
				if page.Threads[i].LastActivityAt.After(page.Threads[i-1].LastActivityAt) {
					t.Errorf("thread %d is more recent than thread %d", i, i-1)
				}
			}
			if st.touched != "" {
				if after := e.thread("alice", st.touched).LastActivityAt; !after.After(before) {
					t.Errorf("last_activity_at = %v, want after %v", after, before)
				}
			}
		})
	}
}

func TestListThreadsPagination(t *testing.T) {
	e := newMsgEnv(t)
	var ids []string
	for _, s := range []string{"A", "B", "C"} {
		ids = append([]string{e.send("alice", []string{"bob"}, s, "x").ThreadId}, ids...)
	}
	e.send("carol", []string{"dave"}, "Not alice's", "x")
	cases := []struct {
		name          string
		limit, offset *int
		want          []string
		wantPage      agcomv1.Pagination
	}{
		{"default limit 50", nil, nil, ids, agcomv1.Pagination{Limit: 50, Total: 3}},
		{"limit 100", valueOf(100), nil, ids, agcomv1.Pagination{Limit: 100, Total: 3}},
		{"limit 2 offset 0", valueOf(2), valueOf(0), ids[:2], agcomv1.Pagination{Limit: 2, Total: 3, HasMore: true}},
		{"limit 2 offset 2", valueOf(2), valueOf(2), ids[2:], agcomv1.Pagination{Offset: 2, Limit: 2, Total: 3}},
		{"limit 3 offset 0", valueOf(3), valueOf(0), ids, agcomv1.Pagination{Limit: 3, Total: 3}},
		{"limit 1 offset 1", valueOf(1), valueOf(1), ids[1:2], agcomv1.Pagination{Offset: 1, Limit: 1, Total: 3, HasMore: true}},
		{"offset at total", valueOf(2), valueOf(3), nil, agcomv1.Pagination{Offset: 3, Limit: 2, Total: 3}},
		{"offset beyond total", valueOf(2), valueOf(7), nil, agcomv1.Pagination{Offset: 7, Limit: 2, Total: 3}},
	}
	for _, tc := range cases {
		t.Run("list200 "+tc.name, func(t *testing.T) {
			page := e.threads("alice", agcomv1.ListThreadsParams{Limit: tc.limit, Offset: tc.offset})
			wantIDs(t, "threads", threadIDs(page.Threads), tc.want)
			wantPagination(t, page.Pagination, tc.wantPage)
		})
	}
	for _, q := range []string{"limit=0", "limit=101", "offset=-1", "limit=two", "archived=maybe", "archived="} {
		t.Run("list400 "+q, func(t *testing.T) {
			resp, body := e.do(http.MethodGet, "/api/v1/threads?"+q, e.token("alice"), "")
			wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
		})
	}
}

func TestGetThread(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"carol", "bob", "carol"}, "Hello all", "x")
	t.Run("get200", func(t *testing.T) {
		for _, who := range []string{"alice", "bob", "carol"} {
			th := e.thread(who, m.ThreadId)
			if th.ThreadId != m.ThreadId || th.Subject != "Hello all" ||
				!slices.Equal(th.ParticipantHandles, []string{"alice", "bob", "carol"}) ||
				!th.CreatedAt.Equal(m.CreatedAt) || !th.LastActivityAt.Equal(m.CreatedAt) || th.Metadata == nil || len(th.Metadata) != 0 {
				t.Errorf("%s reads %+v", who, th)
			}
		}
	})
	cases := []struct {
		name, who, id string
		status        int
		typ           string
	}{
		{"get404 non-participant", "mallory", m.ThreadId, 404, "NotFound"},
		{"get404 unknown id", "alice", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", 404, "NotFound"},
		{"get404 a message id is not a thread id", "alice", m.MessageId, 404, "NotFound"},
		{"get400 malformed id", "alice", "thread-1", 400, "ValidationError"},
		{"get400 lower case", "alice", strings.ToLower(m.ThreadId), 400, "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodGet, "/api/v1/threads/"+tc.id, e.token(tc.who), "")
			wantError(t, resp, body, tc.status, tc.typ)
		})
	}
}

func TestListThreadMessages(t *testing.T) {
	e := newMsgEnv(t)
	m1 := e.send("alice", []string{"bob"}, "Chat", "first")
	r1 := e.replyTo("bob", m1.MessageId, "second")
	r2 := e.replyTo("alice", r1.MessageId, "third")
	e.send("alice", []string{"bob"}, "Other thread", "not in this one")
	all := []string{m1.MessageId, r1.MessageId, r2.MessageId}

	cases := []struct {
		name          string
		limit, offset *int
		want          []string
		wantPage      agcomv1.Pagination
	}{
		{"oldest first, default limit 50", nil, nil, all, agcomv1.Pagination{Limit: 50, Total: 3}},
		{"limit 100", valueOf(100), nil, all, agcomv1.Pagination{Limit: 100, Total: 3}},
		{"limit 2 offset 0", valueOf(2), valueOf(0), all[:2], agcomv1.Pagination{Limit: 2, Total: 3, HasMore: true}},
		{"limit 2 offset 2", valueOf(2), valueOf(2), all[2:], agcomv1.Pagination{Offset: 2, Limit: 2, Total: 3}},
		{"limit 3", valueOf(3), nil, all, agcomv1.Pagination{Limit: 3, Total: 3}},
		{"offset at total", nil, valueOf(3), nil, agcomv1.Pagination{Offset: 3, Limit: 50, Total: 3}},
		{"offset beyond total", valueOf(2), valueOf(30), nil, agcomv1.Pagination{Offset: 30, Limit: 2, Total: 3}},
	}
	for _, tc := range cases {
		t.Run("list200 "+tc.name, func(t *testing.T) {
			page := e.threadMessages("bob", m1.ThreadId, agcomv1.ListThreadMessagesParams{Limit: tc.limit, Offset: tc.offset})
			wantIDs(t, "messages", messageIDs(page.Messages), tc.want)
			wantPagination(t, page.Pagination, tc.wantPage)
		})
	}
	errs := []struct {
		name, who, path string
		status          int
		typ             string
	}{
		{"list404 non-participant", "mallory", "/api/v1/threads/" + m1.ThreadId + "/messages", 404, "NotFound"},
		{"list404 unknown thread", "alice", "/api/v1/threads/01J9ZQ4W4S3N0C5Q6Q9D8V7T2K/messages", 404, "NotFound"},
		{"list400 malformed id", "alice", "/api/v1/threads/xyz/messages", 400, "ValidationError"},
		{"list400 limit 0", "alice", "/api/v1/threads/" + m1.ThreadId + "/messages?limit=0", 400, "ValidationError"},
		{"list400 limit 101", "alice", "/api/v1/threads/" + m1.ThreadId + "/messages?limit=101", 400, "ValidationError"},
		{"list400 offset -1", "alice", "/api/v1/threads/" + m1.ThreadId + "/messages?offset=-1", 400, "ValidationError"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodGet, tc.path, e.token(tc.who), "")
			wantError(t, resp, body, tc.status, tc.typ)
		})
	}
}

func TestReplyToThread201(t *testing.T) {
	e := newMsgEnv(t)
	pair := e.send("alice", []string{"bob"}, "Pair", "start")
	grpResp, err := e.client("alice").SendGroupMessageWithResponse(context.Background(), nil, sendReq([]string{"carol", "bob"}, "Group", "start"))
	if err != nil || grpResp.JSON201 == nil {
		t.Fatalf("group send: %v %s", err, grpResp.Body)
	}
	grp := *grpResp.JSON201
	latest := map[string]string{pair.ThreadId: pair.MessageId, grp.ThreadId: grp.MessageId}
	cases := []struct {
		name, who, thread, subject string
		wantTo                     []string
		wantParticipants           []string
	}{
		{"recipient replies to the opening message", "bob", pair.ThreadId, "Pair", []string{"alice"}, []string{"alice", "bob"}},
		{"sender replies to the latest (bob's) message", "alice", pair.ThreadId, "Pair", []string{"bob"}, []string{"alice", "bob"}},
		{"sender replies to her own latest message: its recipients", "alice", pair.ThreadId, "Pair", []string{"bob"}, []string{"alice", "bob"}},
		{"group sender replies to her own message: all recipients", "alice", grp.ThreadId, "Group", []string{"carol", "bob"}, []string{"alice", "bob", "carol"}},
		{"group recipient replies to the latest: its sender", "carol", grp.ThreadId, "Group", []string{"alice"}, []string{"alice", "bob", "carol"}},
		{"another recipient replies to carol's reply", "bob", grp.ThreadId, "Group", []string{"carol"}, []string{"alice", "bob", "carol"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.thread(tc.who, tc.thread)
			resp, err := e.client(tc.who).ReplyToThreadWithResponse(context.Background(), tc.thread, nil,
				agcomv1.ReplyRequest{Body: tc.name, Tags: &[]string{"t", "t"}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.JSON201 == nil {
				t.Fatalf("status = %d, want 201; body %s", resp.StatusCode(), resp.Body)
			}
			r := *resp.JSON201
			if r.InReplyTo == nil || *r.InReplyTo != latest[tc.thread] {
				t.Errorf("in_reply_to = %v, want the latest message %q", r.InReplyTo, latest[tc.thread])
			}
			latest[tc.thread] = r.MessageId
			if r.ThreadId != tc.thread || r.FromHandle != tc.who || r.Subject != tc.subject || r.Body != tc.name {
				t.Errorf("reply = %+v", r)
			}
			if !slices.Equal(r.ToHandles, tc.wantTo) {
				t.Errorf("to_handles = %v, want %v", r.ToHandles, tc.wantTo)
			}
			if !slices.Equal(r.Tags, []string{"t"}) {
				t.Errorf("tags = %v, want [t]", r.Tags)
			}
			after := e.thread(tc.who, tc.thread)
			if !slices.Equal(after.ParticipantHandles, tc.wantParticipants) || after.Subject != tc.subject {
				t.Errorf("thread participants/subject = %v/%q, want %v/%q", after.ParticipantHandles, after.Subject, tc.wantParticipants, tc.subject)
			}
			if !after.LastActivityAt.Equal(r.CreatedAt) || !after.LastActivityAt.After(before.LastActivityAt) {
				t.Errorf("last_activity_at = %v, want the reply's %v", after.LastActivityAt, r.CreatedAt)
			}
			msgs := e.threadMessages(tc.who, tc.thread, agcomv1.ListThreadMessagesParams{})
			if n := len(msgs.Messages); n == 0 || msgs.Messages[n-1].MessageId != r.MessageId {
				t.Errorf("the reply is not the thread's last message")
			}
		})
	}
}

func TestReplyToThread400404(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Topic", "Opening")
	before := e.snapshot("alice", "bob", "mallory")
	cases := []struct {
		name, who, id, body string
		status              int
		typ                 string
	}{
		{"reply404 non-participant", "mallory", m.ThreadId, `{"body":"hi"}`, 404, "NotFound"},
		{"reply404 unknown thread", "bob", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", `{"body":"hi"}`, 404, "NotFound"},
		{"reply404 a message id", "bob", m.MessageId, `{"body":"hi"}`, 404, "NotFound"},
		{"reply400 malformed id", "bob", "0000", `{"body":"hi"}`, 400, "ValidationError"},
		{"reply400 blank body", "bob", m.ThreadId, `{"body":"   "}`, 400, "ValidationError"},
		{"reply400 body of 50001 characters", "bob", m.ThreadId, `{"body":"` + strings.Repeat("z", 50001) + `"}`, 400, "ValidationError"},
		{"reply400 bad tag", "bob", m.ThreadId, `{"body":"x","tags":["UP"]}`, 400, "ValidationError"},
		{"reply400 unknown field", "bob", m.ThreadId, `{"body":"x","in_reply_to":"01J9ZQ4W4S3N0C5Q6Q9D8V7T2K"}`, 400, "ValidationError"},
		{"reply400 not JSON", "bob", m.ThreadId, `hello`, 400, "ValidationError"},
		{"reply400 JSON array", "bob", m.ThreadId, `["x"]`, 400, "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPost, "/api/v1/threads/"+tc.id+"/reply", e.token(tc.who), tc.body)
			wantError(t, resp, body, tc.status, tc.typ)
		})
	}
	e.wantCounts(before)
	if th := e.thread("alice", m.ThreadId); !slices.Equal(th.ParticipantHandles, []string{"alice", "bob"}) || !th.LastActivityAt.Equal(m.CreatedAt) {
		t.Errorf("thread = %+v, want it untouched by refused replies", th)
	}
}

func TestThreadMetadata(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Meta", "x")
	id := m.ThreadId
	ctx := context.Background()

	if md := e.metadata("alice", id); len(md) != 0 {
		t.Fatalf("metadata of a new thread = %v, want {}", md)
	}
	key50 := strings.Repeat("k", 50)
	val500 := strings.Repeat("é", 500)
	steps := []struct {
		name, who, key string
		value          *string
		want           map[string]string
	}{
		{"put200 set", "alice", "priority", valueOf("high"), map[string]string{"priority": "high"}},
		{"put200 set by another participant", "bob", "owner", valueOf("bob"), map[string]string{"priority": "high", "owner": "bob"}},
		{"put200 overwrite", "bob", "priority", valueOf("low"), map[string]string{"priority": "low", "owner": "bob"}},
		{"put200 empty value", "alice", "note", valueOf(""), map[string]string{"priority": "low", "owner": "bob", "note": ""}},
		{"put200 key of 50 characters and value of 500 multi-byte characters", "alice", key50, &val500, map[string]string{"priority": "low", "owner": "bob", "note": "", key50: val500}},
		{"put200 null removes", "alice", "owner", nil, map[string]string{"priority": "low", "note": "", key50: val500}},
		{"put200 null on a missing key", "alice", "never-set", nil, map[string]string{"priority": "low", "note": "", key50: val500}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			resp, err := e.client(st.who).PutThreadMetadataWithResponse(ctx, id, agcomv1.MetadataUpdate{Key: st.key, Value: st.value})
			if err != nil {
				t.Fatal(err)
			}
			if resp.JSON200 == nil {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode(), resp.Body)
			}
			got := resp.JSON200
			if got.ThreadId != id || got.Key != st.key || (got.Value == nil) != (st.value == nil) ||
				(got.Value != nil && *got.Value != *st.value) {
				t.Errorf("put result = %+v, want key %q value %v", got, st.key, st.value)
			}
			if st.value == nil && !strings.Contains(string(resp.Body), `"value":null`) {
				t.Errorf("body = %s, want \"value\":null", resp.Body)
			}
			for _, who := range []string{"alice", "bob"} {
				if md := e.metadata(who, id); !mapsEqual(md, st.want) {
					t.Errorf("%s reads metadata %v, want %v", who, md, st.want)
				}
			}
			if th := e.thread("bob", id); !mapsEqual(th.Metadata, st.want) {
				t.Errorf("thread metadata = %v, want %v", th.Metadata, st.want)
			}
			kr, err := e.client("bob").GetThreadMetadataKeyWithResponse(ctx, id, st.key)
			if err != nil {
				t.Fatal(err)
			}
			if st.value == nil {
				if kr.StatusCode() != http.StatusNotFound {
					t.Errorf("GET removed key: status %d, want 404", kr.StatusCode())
				}
				return
			}
			if kr.JSON200 == nil || kr.JSON200.Key != st.key || kr.JSON200.Value != *st.value {
				t.Errorf("GET key: status %d body %.200s, want %q", kr.StatusCode(), kr.Body, *st.value)
			}
		})
	}

	path := "/api/v1/threads/" + id + "/metadata"
	errs := []struct {
		name, method, path, body string
		status                   int
		typ                      string
	}{
		{"get404 missing key", http.MethodGet, path + "/nope", "", 404, "NotFound"},
		{"get404 removed key", http.MethodGet, path + "/owner", "", 404, "NotFound"},
		{"get400 key of 51 characters", http.MethodGet, path + "/" + strings.Repeat("k", 51), "", 400, "ValidationError"},
		{"get404 unknown thread", http.MethodGet, "/api/v1/threads/01J9ZQ4W4S3N0C5Q6Q9D8V7T2K/metadata", "", 404, "NotFound"},
		{"get400 malformed thread id", http.MethodGet, "/api/v1/threads/bad/metadata", "", 400, "ValidationError"},
		{"put400 key of 51 characters", http.MethodPut, path, `{"key":"` + strings.Repeat("k", 51) + `","value":"v"}`, 400, "ValidationError"},
		{"put400 value of 501 characters", http.MethodPut, path, `{"key":"k","value":"` + strings.Repeat("v", 501) + `"}`, 400, "ValidationError"},
		{"put400 empty key", http.MethodPut, path, `{"key":"","value":"v"}`, 400, "ValidationError"},
		{"put400 missing key", http.MethodPut, path, `{"value":"v"}`, 400, "ValidationError"},
		{"put400 missing value", http.MethodPut, path, `{"key":"k"}`, 400, "ValidationError"},
		{"put400 value not a string", http.MethodPut, path, `{"key":"k","value":5}`, 400, "ValidationError"},
		{"put400 unknown field", http.MethodPut, path, `{"key":"k","value":"v","thread_id":"` + id + `"}`, 400, "ValidationError"},
		{"put400 not JSON", http.MethodPut, path, `key=k`, 400, "ValidationError"},
		{"put400 JSON array", http.MethodPut, path, `[{"key":"k","value":"v"}]`, 400, "ValidationError"},
		{"put400 invalid UTF-8", http.MethodPut, path, "{\"key\":\"k\",\"value\":\"\xc0\xaf\"}", 400, "ValidationError"},
		{"put404 unknown thread", http.MethodPut, "/api/v1/threads/01J9ZQ4W4S3N0C5Q6Q9D8V7T2K/metadata", `{"key":"k","value":"v"}`, 404, "NotFound"},
	}
	want := e.metadata("alice", id)
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, e.token("alice"), tc.body)
			wantError(t, resp, body, tc.status, tc.typ)
		})
	}
	if md := e.metadata("alice", id); !mapsEqual(md, want) {
		t.Errorf("metadata = %v after refused changes, want %v", md, want)
	}
}

// TestThreadMetadataNonASCIIKey: key lengths are characters, in the body
// and in the path alike, and a key that needs escaping in the path reads
// back as itself.
func TestThreadMetadataNonASCIIKey(t *testing.T) {
	e := newMsgEnv(t)
	ctx := context.Background()
	id := e.send("alice", []string{"bob"}, "Meta", "x").ThreadId
	cases := []struct{ name, key string }{
		{"short", "ключ"},
		{"with a space", "due date"},
		{"50 two-byte characters", strings.Repeat("ü", 50)},
		{"20 three-byte characters", strings.Repeat("鍵", 20)},
		{"with a slash", "a/b"},
		{"with a percent sign", "100%"},
		{"that looks escaped", "a%2Fb%20c"},
		{"50 characters escaped in the path", strings.Repeat("/", 50)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			put, err := e.client("alice").PutThreadMetadataWithResponse(ctx, id, agcomv1.MetadataUpdate{Key: tc.key, Value: valueOf("v-" + tc.name)})
			if err != nil || put.JSON200 == nil {
				t.Fatalf("put: status %d body %s", put.StatusCode(), put.Body)
			}
			if md := e.metadata("bob", id); md[tc.key] != "v-"+tc.name {
				t.Errorf("metadata[%q] = %q, want %q", tc.key, md[tc.key], "v-"+tc.name)
			}
			got, err := e.client("bob").GetThreadMetadataKeyWithResponse(ctx, id, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if got.JSON200 == nil || got.JSON200.Key != tc.key || got.JSON200.Value != "v-"+tc.name {
				t.Errorf("GET /metadata/{key} for a key of %d characters: status %d body %s, want 200 with the value",
					len([]rune(tc.key)), got.StatusCode(), got.Body)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestArchiveThread(t *testing.T) {
	e := newMsgEnv(t)
	ctx := context.Background()
	ta := e.send("alice", []string{"bob"}, "A", "x").ThreadId
	tb := e.send("alice", []string{"bob"}, "B", "x").ThreadId
	tc := e.send("alice", []string{"carol"}, "C", "x").ThreadId
	td := e.send("alice", []string{"bob"}, "D", "x").ThreadId
	alice := e.client("alice")

	archive := func(t *testing.T, who, id string, on bool) {
		t.Helper()
		var status int
		var got *agcomv1.ArchiveState
		var raw []byte
		if on {
			r, err := e.client(who).ArchiveThreadWithResponse(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			status, got, raw = r.StatusCode(), r.JSON200, r.Body
		} else {
			r, err := e.client(who).UnarchiveThreadWithResponse(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			status, got, raw = r.StatusCode(), r.JSON200, r.Body
		}
		if got == nil || got.ThreadId != id || got.Archived != on {
			t.Fatalf("archive(%v): status %d body %s, want 200 {thread_id, archived: %v}", on, status, raw, on)
		}
	}
	put := func(t *testing.T, id, key string, value *string) {
		t.Helper()
		r, err := alice.PutThreadMetadataWithResponse(ctx, id, agcomv1.MetadataUpdate{Key: key, Value: value})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("put metadata: %v %s", err, r.Body)
		}
	}
	list := func(t *testing.T, who string, archived *bool) []string {
		t.Helper()
		page := e.threads(who, agcomv1.ListThreadsParams{Archived: archived})
		if page.Pagination.Total != len(page.Threads) {
			t.Errorf("total = %d with %d threads", page.Pagination.Total, len(page.Threads))
		}
		ids := threadIDs(page.Threads)
		slices.Sort(ids)
		return ids
	}
	set := func(ids ...string) []string {
		out := slices.Clone(ids)
		slices.Sort(out)
		return out
	}
	yes, no := valueOf(true), valueOf(false)

	steps := []struct {
		name                string
		act                 func(t *testing.T)
		wantTrue, wantFalse []string
		wantBobTrue         []string
		archivedKey         map[string]bool // thread -> has archived=true
	}{
		{"nothing archived", func(t *testing.T) { put(t, tc, "priority", valueOf("high")) },
			nil, set(ta, tb, tc, td), nil, map[string]bool{ta: false, tb: false, tc: false, td: false}},
		{"archive", func(t *testing.T) { archive(t, "alice", ta, true) },
			set(ta), set(tb, tc, td), set(ta), map[string]bool{ta: true}},
		{"archive twice is fine", func(t *testing.T) { archive(t, "bob", ta, true) },
			set(ta), set(tb, tc, td), set(ta), map[string]bool{ta: true}},
		{"archived metadata key set directly", func(t *testing.T) { put(t, td, "archived", valueOf("true")) },
			set(ta, td), set(tb, tc), set(ta, td), map[string]bool{ta: true, td: true}},
		{"unarchive", func(t *testing.T) { archive(t, "bob", ta, false) },
			set(td), set(ta, tb, tc), set(td), map[string]bool{ta: false, td: true}},
		{"unarchive a thread that is not archived", func(t *testing.T) { archive(t, "alice", tb, false) },
			set(td), set(ta, tb, tc), set(td), map[string]bool{tb: false}},
		{"archived key removed with null", func(t *testing.T) { put(t, td, "archived", nil) },
			nil, set(ta, tb, tc, td), nil, map[string]bool{td: false}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.act(t)
			wantIDs(t, "archived=true", list(t, "alice", yes), st.wantTrue)
			wantIDs(t, "archived=false", list(t, "alice", no), st.wantFalse)
			wantIDs(t, "archived omitted", list(t, "alice", nil), set(ta, tb, tc, td))
			wantIDs(t, "bob's archived=true", list(t, "bob", yes), st.wantBobTrue)
			for id, archived := range st.archivedKey {
				md := e.metadata("alice", id)
				v, ok := md["archived"]
				if archived && v != "true" {
					t.Errorf("thread %s: metadata archived = %q (present %v), want \"true\"", id, v, ok)
				}
				if !archived && ok {
					t.Errorf("thread %s: metadata has archived = %q, want no key", id, v)
				}
			}
		})
	}
	if md := e.metadata("alice", tc); md["priority"] != "high" {
		t.Errorf("other metadata = %v, want priority kept", md)
	}

	for _, p := range []string{"/archive", "/unarchive"} {
		for _, tcase := range []struct {
			name, who, id string
			status        int
			typ           string
		}{
			{"404 non-participant", "mallory", ta, 404, "NotFound"},
			{"404 participant of other threads", "carol", ta, 404, "NotFound"},
			{"404 unknown thread", "alice", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", 404, "NotFound"},
			{"400 malformed id", "alice", "nope", 400, "ValidationError"},
		} {
			t.Run(p+" "+tcase.name, func(t *testing.T) {
				resp, body := e.do(http.MethodPost, "/api/v1/threads/"+tcase.id+p, e.token(tcase.who), "")
				wantError(t, resp, body, tcase.status, tcase.typ)
			})
		}
	}
	wantIDs(t, "archived=true after refused archives", list(t, "alice", yes), nil)
}

func TestThreadVisibility404(t *testing.T) {
	e := newMsgEnv(t)
	ctx := context.Background()
	m := e.send("alice", []string{"bob"}, "Secret plan", "meet at dawn")
	r := e.replyTo("bob", m.MessageId, "agreed")
	if p, err := e.client("alice").PutThreadMetadataWithResponse(ctx, m.ThreadId, agcomv1.MetadataUpdate{Key: "priority", Value: valueOf("high")}); err != nil || p.JSON200 == nil {
		t.Fatalf("put metadata: %v", err)
	}
	const unknown = "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K"
	reqs := []struct {
		name, method, path, body string
	}{
		{"get thread", http.MethodGet, "/api/v1/threads/{t}", ""},
		{"thread messages", http.MethodGet, "/api/v1/threads/{t}/messages", ""},
		{"get message", http.MethodGet, "/api/v1/messages/{m}", ""},
		{"reply to message", http.MethodPost, "/api/v1/messages/{m}/reply", `{"body":"let me in"}`},
		{"reply to thread", http.MethodPost, "/api/v1/threads/{t}/reply", `{"body":"let me in"}`},
		{"get metadata", http.MethodGet, "/api/v1/threads/{t}/metadata", ""},
		{"get metadata key", http.MethodGet, "/api/v1/threads/{t}/metadata/priority", ""},
		{"put metadata", http.MethodPut, "/api/v1/threads/{t}/metadata", `{"key":"priority","value":"low"}`},
		{"remove metadata", http.MethodPut, "/api/v1/threads/{t}/metadata", `{"key":"priority","value":null}`},
		{"archive", http.MethodPost, "/api/v1/threads/{t}/archive", ""},
		{"unarchive", http.MethodPost, "/api/v1/threads/{t}/unarchive", ""},
	}
	for _, rq := range reqs {
		t.Run(rq.name, func(t *testing.T) {
			// A thread the caller cannot see answers exactly as one that does
			// not exist: 404, never 403, with the same message.
			hidden := strings.NewReplacer("{t}", m.ThreadId, "{m}", r.MessageId).Replace(rq.path)
			resp, body := e.do(rq.method, hidden, e.token("mallory"), rq.body)
			hiddenErr := wantError(t, resp, body, http.StatusNotFound, "NotFound")
			missing := strings.NewReplacer("{t}", unknown, "{m}", unknown).Replace(rq.path)
			resp, body = e.do(rq.method, missing, e.token("mallory"), rq.body)
			missingErr := wantError(t, resp, body, http.StatusNotFound, "NotFound")
			if hiddenErr.Message != missingErr.Message {
				t.Errorf("message for a hidden thread %q differs from a missing one %q", hiddenErr.Message, missingErr.Message)
			}
		})
	}

	t.Run("nothing changed", func(t *testing.T) {
		th := e.thread("alice", m.ThreadId)
		if !slices.Equal(th.ParticipantHandles, []string{"alice", "bob"}) || !th.LastActivityAt.Equal(r.CreatedAt) {
			t.Errorf("thread = %+v, want participants [alice bob] and last activity at bob's reply", th)
		}
		if !mapsEqual(th.Metadata, map[string]string{"priority": "high"}) {
			t.Errorf("metadata = %v, want {priority: high}", th.Metadata)
		}
		wantIDs(t, "messages", messageIDs(e.threadMessages("alice", m.ThreadId, agcomv1.ListThreadMessagesParams{}).Messages),
			[]string{m.MessageId, r.MessageId})
	})
	t.Run("never listed", func(t *testing.T) {
		for _, a := range []*bool{nil, valueOf(true), valueOf(false)} {
			page := e.threads("mallory", agcomv1.ListThreadsParams{Archived: a})
			if len(page.Threads) != 0 || page.Pagination.Total != 0 {
				t.Errorf("mallory lists threads %v (total %d), want none", threadIDs(page.Threads), page.Pagination.Total)
			}
		}
		page := e.messages("mallory", agcomv1.ListMessagesParams{})
		if len(page.Messages) != 0 || page.Pagination.Total != 0 {
			t.Errorf("mallory lists messages %v (total %d), want none", messageIDs(page.Messages), page.Pagination.Total)
		}
		for _, q := range []string{"secret", "dawn", "a", "ag", "Secret plan"} {
			if res := e.search("mallory", agcomv1.SearchMessagesParams{Query: q}); res.Count != 0 || len(res.Messages) != 0 {
				t.Errorf("mallory's search %q found %v", q, messageIDs(res.Messages))
			}
		}
		if res := e.search("mallory", agcomv1.SearchMessagesParams{Query: "dawn", FromHandle: valueOf("alice"), ToHandle: valueOf("bob")}); res.Count != 0 {
			t.Errorf("mallory's filtered search found %v", messageIDs(res.Messages))
		}
	})
}

func TestAdminSeesEveryThread(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) {
		c.AdminHandle = "root"
		c.AdminSecret = "root-secret-0123456789abcdef0123456789"
	})
	m := e.send("alice", []string{"bob"}, "Private", "between us")
	if page := e.threads("root", agcomv1.ListThreadsParams{}); !slices.Equal(threadIDs(page.Threads), []string{m.ThreadId}) {
		t.Errorf("admin lists threads %v, want [%s]", threadIDs(page.Threads), m.ThreadId)
	}
	if th := e.thread("root", m.ThreadId); !slices.Equal(th.ParticipantHandles, []string{"alice", "bob"}) {
		t.Errorf("admin reads participants %v; reading must not make the admin a participant", th.ParticipantHandles)
	}
	if page := e.messages("root", agcomv1.ListMessagesParams{}); page.Pagination.Total != 1 {
		t.Errorf("admin lists %d messages, want 1", page.Pagination.Total)
	}
	if res := e.search("root", agcomv1.SearchMessagesParams{Query: "between"}); res.Count != 1 {
		t.Errorf("admin search found %d, want 1", res.Count)
	}
}

func TestOrderingTiesBreakByID(t *testing.T) {
	e := newMsgEnv(t)
	// Every write gets the same instant: order then falls to the ids.
	e.App.Store.SetClock(frozenClock(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)))
	t1 := e.send("alice", []string{"bob"}, "One", "x")
	t2 := e.send("alice", []string{"bob"}, "Two", "x")
	t3 := e.send("alice", []string{"bob"}, "Three", "x")
	r1 := e.replyTo("bob", t1.MessageId, "y")
	r2 := e.replyTo("alice", r1.MessageId, "z")

	if !t1.CreatedAt.Equal(r2.CreatedAt) {
		t.Fatalf("clock not frozen: %v vs %v", t1.CreatedAt, r2.CreatedAt)
	}
	wantIDs(t, "threads, newest first, ties by id", threadIDs(e.threads("alice", agcomv1.ListThreadsParams{}).Threads),
		[]string{t3.ThreadId, t2.ThreadId, t1.ThreadId})
	wantIDs(t, "thread messages, oldest first, ties by id",
		messageIDs(e.threadMessages("alice", t1.ThreadId, agcomv1.ListThreadMessagesParams{}).Messages),
		[]string{t1.MessageId, r1.MessageId, r2.MessageId})
	wantIDs(t, "messages, newest first, ties by id", messageIDs(e.messages("alice", agcomv1.ListMessagesParams{}).Messages),
		[]string{r2.MessageId, r1.MessageId, t3.MessageId, t2.MessageId, t1.MessageId})
	wantIDs(t, "search, newest first, ties by id", messageIDs(e.search("alice", agcomv1.SearchMessagesParams{Query: "x"}).Messages),
		[]string{t3.MessageId, t2.MessageId, t1.MessageId})
	page := e.messages("alice", agcomv1.ListMessagesParams{Limit: valueOf(2), Offset: valueOf(2)})
	wantIDs(t, "second page", messageIDs(page.Messages), []string{t3.MessageId, t2.MessageId})
}
