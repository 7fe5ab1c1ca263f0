package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// sendEndpoint is one of the two endpoints that open a single thread.
type sendEndpoint struct {
	name string
	path string
	call func(c *agcomv1.ClientWithResponses, r agcomv1.SendMessageRequest) (int, *agcomv1.Message, []byte)
}

var singleThreadSends = []sendEndpoint{
	{"messages", "/api/v1/messages", func(c *agcomv1.ClientWithResponses, r agcomv1.SendMessageRequest) (int, *agcomv1.Message, []byte) {
		resp, err := c.SendMessageWithResponse(context.Background(), nil, r)
		if err != nil {
			return 0, nil, []byte(err.Error())
		}
		return resp.StatusCode(), resp.JSON201, resp.Body
	}},
	{"group", "/api/v1/messages/group", func(c *agcomv1.ClientWithResponses, r agcomv1.SendMessageRequest) (int, *agcomv1.Message, []byte) {
		resp, err := c.SendGroupMessageWithResponse(context.Background(), nil, r)
		if err != nil {
			return 0, nil, []byte(err.Error())
		}
		return resp.StatusCode(), resp.JSON201, resp.Body
	}},
}

func handles(prefix string, n int) []string {
	hs := make([]string, n)
	for i := range hs {
		hs[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return hs
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestSendMessage201(t *testing.T) {
	long64 := strings.Repeat("a", 64)
	twenty := make([]string, 20)
	for i := range twenty {
		twenty[i] = fmt.Sprintf("t%d", i)
	}
	hundred := handles("r", 100)
	cases := []struct {
		name             string
		req              agcomv1.SendMessageRequest
		wantTo           []string // as a set
		wantParticipants []string
		wantTags         []string
	}{
		{"one recipient", sendReq([]string{"bob"}, "Hello", "First message"),
			[]string{"bob"}, []string{"alice", "bob"}, []string{}},
		{"recipients de-duplicated and sorted", sendReq([]string{"carol", "bob", "carol"}, "Plan", "Body", "b", "a", "b"),
			[]string{"bob", "carol"}, []string{"alice", "bob", "carol"}, []string{"b", "a"}},
		{"sender among recipients", sendReq([]string{"zed", "alice"}, "Note", "to self and zed"),
			[]string{"alice", "zed"}, []string{"alice", "zed"}, []string{}},
		{"only to self", sendReq([]string{"alice"}, "Memo", "remember"),
			[]string{"alice"}, []string{"alice"}, []string{}},
		{"subject of 200 multi-byte characters", sendReq([]string{"bob"}, strings.Repeat("é", 200), "Body"),
			[]string{"bob"}, []string{"alice", "bob"}, []string{}},
		{"body of 50000 characters", sendReq([]string{"bob"}, "Long", strings.Repeat("x", 50000)),
			[]string{"bob"}, []string{"alice", "bob"}, []string{}},
		{"body of 50000 multi-byte characters", sendReq([]string{"bob"}, "Long", strings.Repeat("日", 50000)),
			[]string{"bob"}, []string{"alice", "bob"}, []string{}},
		{"20 tags", sendReq([]string{"bob"}, "Tags", "Body", twenty...),
			[]string{"bob"}, []string{"alice", "bob"}, twenty},
		{"tag characters", sendReq([]string{"bob"}, "Tags", "Body", "a-b_c9", strings.Repeat("t", 30)),
			[]string{"bob"}, []string{"alice", "bob"}, []string{"a-b_c9", strings.Repeat("t", 30)}},
		{"handles of 2 and 64 characters", sendReq([]string{long64, "b2"}, "Edges", "Body"),
			[]string{long64, "b2"}, []string{long64, "alice", "b2"}, []string{}},
		{"handle with inner dot, dash, underscore", sendReq([]string{"_x.y-z_"}, "Chars", "Body"),
			[]string{"_x.y-z_"}, []string{"_x.y-z_", "alice"}, []string{}},
		{"100 recipients", sendReq(hundred, "Many", "Body"),
			hundred, append(slices.Clone(hundred), "alice"), []string{}},
	}
	for _, ep := range singleThreadSends {
		t.Run(ep.name, func(t *testing.T) {
			e := newMsgEnv(t)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					status, got, raw := ep.call(e.client("alice"), tc.req)
					if status != http.StatusCreated || got == nil {
						t.Fatalf("status = %d, want 201; body %s", status, raw)
					}
					if !ulidPattern.MatchString(got.MessageId) || !ulidPattern.MatchString(got.ThreadId) {
						t.Errorf("ids = %q, %q, want ULIDs", got.MessageId, got.ThreadId)
					}
					if got.FromHandle != "alice" {
						t.Errorf("from_handle = %q, want alice", got.FromHandle)
					}
					if g := sortedSet(got.ToHandles); !slices.Equal(g, sortedSet(tc.wantTo)) || len(got.ToHandles) != len(g) {
						t.Errorf("to_handles = %v, want %v without duplicates", got.ToHandles, tc.wantTo)
					}
					if got.Subject != tc.req.Subject || got.Body != tc.req.Body {
						t.Errorf("subject/body = %.40q/%.40q, want %.40q/%.40q", got.Subject, got.Body, tc.req.Subject, tc.req.Body)
					}
					if !slices.Equal(got.Tags, tc.wantTags) {
						t.Errorf("tags = %v, want %v", got.Tags, tc.wantTags)
					}
					if got.InReplyTo != nil {
						t.Errorf("in_reply_to = %q, want null", *got.InReplyTo)
					}
					wantUTC(t, "created_at", got.CreatedAt)

					th := e.thread("alice", got.ThreadId)
					slices.Sort(tc.wantParticipants)
					if !slices.Equal(th.ParticipantHandles, tc.wantParticipants) {
						t.Errorf("participant_handles = %v, want %v", th.ParticipantHandles, tc.wantParticipants)
					}
					if th.Subject != tc.req.Subject {
						t.Errorf("thread subject = %q, want %q", th.Subject, tc.req.Subject)
					}
					if !th.CreatedAt.Equal(got.CreatedAt) || !th.LastActivityAt.Equal(got.CreatedAt) {
						t.Errorf("thread created_at/last_activity_at = %v/%v, want both %v", th.CreatedAt, th.LastActivityAt, got.CreatedAt)
					}
					if len(th.Metadata) != 0 {
						t.Errorf("metadata = %v, want {}", th.Metadata)
					}
					// Every recipient sees the thread and the message.
					for _, to := range tc.wantTo[:min(len(tc.wantTo), 3)] {
						if th := e.thread(to, got.ThreadId); th.ThreadId != got.ThreadId {
							t.Errorf("%s reads thread %q, want %q", to, th.ThreadId, got.ThreadId)
						}
						msgs := e.threadMessages(to, got.ThreadId, agcomv1.ListThreadMessagesParams{})
						wantIDs(t, to+"'s thread messages", messageIDs(msgs.Messages), []string{got.MessageId})
					}
				})
			}
		})
	}
}

func TestBroadcastMessage201(t *testing.T) {
	e := newMsgEnv(t)
	resp, err := e.client("alice").BroadcastMessageWithResponse(context.Background(), nil,
		sendReq([]string{"bob", "carol", "bob", "dave"}, "Announcement", "Release at noon", "news"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON201 == nil {
		t.Fatalf("status = %d, want 201; body %s", resp.StatusCode(), resp.Body)
	}
	got := resp.JSON201
	if got.Count != 3 || len(got.Messages) != 3 {
		t.Fatalf("count = %d with %d messages, want 3 (one per distinct recipient)", got.Count, len(got.Messages))
	}
	threadOf := map[string]string{}
	for _, m := range got.Messages {
		if len(m.ToHandles) != 1 {
			t.Fatalf("to_handles = %v, want exactly one recipient per message", m.ToHandles)
		}
		to := m.ToHandles[0]
		if _, dup := threadOf[to]; dup {
			t.Errorf("recipient %s got two messages", to)
		}
		threadOf[to] = m.ThreadId
		if m.FromHandle != "alice" || m.Subject != "Announcement" || m.Body != "Release at noon" || !slices.Equal(m.Tags, []string{"news"}) {
			t.Errorf("message = %+v, want alice's announcement tagged news", m)
		}
		th := e.thread(to, m.ThreadId)
		if want := sortedSet([]string{"alice", to}); !slices.Equal(th.ParticipantHandles, want) {
			t.Errorf("thread of %s: participants = %v, want %v", to, th.ParticipantHandles, want)
		}
	}
	if len(threadOf) != 3 || threadOf["bob"] == "" || threadOf["carol"] == "" || threadOf["dave"] == "" {
		t.Fatalf("recipients = %v, want bob, carol, dave", threadOf)
	}
	if threadOf["bob"] == threadOf["carol"] || threadOf["carol"] == threadOf["dave"] || threadOf["bob"] == threadOf["dave"] {
		t.Errorf("threads = %v, want one distinct thread per recipient", threadOf)
	}
	if n := e.threads("alice", agcomv1.ListThreadsParams{}).Pagination.Total; n != 3 {
		t.Errorf("alice has %d threads, want 3", n)
	}
	bobs := e.threads("bob", agcomv1.ListThreadsParams{})
	wantIDs(t, "bob's threads", threadIDs(bobs.Threads), []string{threadOf["bob"]})
	// Recipients of a broadcast do not see each other's threads.
	r, body := e.do(http.MethodGet, "/api/v1/threads/"+threadOf["carol"], e.token("bob"), "")
	wantError(t, r, body, http.StatusNotFound, "NotFound")

	t.Run("100 recipients", func(t *testing.T) {
		resp, err := e.client("zoe").BroadcastMessageWithResponse(context.Background(), nil, sendReq(handles("r", 100), "All", "Hi"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON201 == nil || resp.JSON201.Count != 100 || len(resp.JSON201.Messages) != 100 {
			t.Fatalf("status %d, body %.200s; want 201 with 100 messages", resp.StatusCode(), resp.Body)
		}
		if n := e.threads("zoe", agcomv1.ListThreadsParams{}).Pagination.Total; n != 100 {
			t.Errorf("zoe has %d threads, want 100", n)
		}
	})
}

// badSendBodies are request bodies every send endpoint must reject with
// 400 ValidationError, writing nothing.
func badSendBodies() []struct{ name, body string } {
	obj := func(fields map[string]any) string {
		b, err := json.Marshal(fields)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	ok := func(override map[string]any) string {
		m := map[string]any{"to_handles": []string{"bob"}, "subject": "Hi", "body": "Hello"}
		for k, v := range override {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return obj(m)
	}
	tags := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("t%d", i)
		}
		return out
	}
	return []struct{ name, body string }{
		{"uppercase handle", ok(map[string]any{"to_handles": []string{"Bob"}})},
		{"handle starting with dot", ok(map[string]any{"to_handles": []string{".bob"}})},
		{"handle ending with dash", ok(map[string]any{"to_handles": []string{"bob-"}})},
		{"handle of 1 character", ok(map[string]any{"to_handles": []string{"b"}})},
		{"handle of 65 characters", ok(map[string]any{"to_handles": []string{strings.Repeat("a", 65)}})},
		{"handle with a space", ok(map[string]any{"to_handles": []string{"bo b"}})},
		{"one bad handle among good ones", ok(map[string]any{"to_handles": []string{"bob", "Carol"}})},
		{"empty to_handles", ok(map[string]any{"to_handles": []string{}})},
		{"missing to_handles", ok(map[string]any{"to_handles": nil})},
		{"to_handles not a list", ok(map[string]any{"to_handles": "bob"})},
		{"101 recipients", ok(map[string]any{"to_handles": handles("r", 101)})},
		{"blank subject", ok(map[string]any{"subject": "   \t "})},
		{"empty subject", ok(map[string]any{"subject": ""})},
		{"missing subject", ok(map[string]any{"subject": nil})},
		{"subject of 201 characters", ok(map[string]any{"subject": strings.Repeat("s", 201)})},
		{"subject of 201 multi-byte characters", ok(map[string]any{"subject": strings.Repeat("é", 201)})},
		{"subject not a string", ok(map[string]any{"subject": 42})},
		{"blank body", ok(map[string]any{"body": "\n \n"})},
		{"empty body", ok(map[string]any{"body": ""})},
		{"missing body", ok(map[string]any{"body": nil})},
		{"body of 50001 characters", ok(map[string]any{"body": strings.Repeat("b", 50001)})},
		{"21 tags", ok(map[string]any{"tags": tags(21)})},
		{"uppercase tag", ok(map[string]any{"tags": []string{"Urgent"}})},
		{"tag with a dot", ok(map[string]any{"tags": []string{"a.b"}})},
		{"empty tag", ok(map[string]any{"tags": []string{""}})},
		{"tag of 31 characters", ok(map[string]any{"tags": []string{strings.Repeat("t", 31)}})},
		{"unknown field from_handle", ok(map[string]any{"from_handle": "mallory"})},
		{"unknown field thread_id", ok(map[string]any{"thread_id": "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K"})},
		{"unknown field created_at", ok(map[string]any{"created_at": "2020-01-01T00:00:00Z"})},
		{"not JSON", "to_handles=bob&subject=Hi&body=Hello"},
		{"truncated JSON", `{"to_handles": ["bob"], "subject": "Hi", "body": "Hel`},
		{"JSON array", `[{"to_handles": ["bob"], "subject": "Hi", "body": "Hello"}]`},
		{"JSON string", `"hello"`},
		{"JSON null", `null`},
		{"invalid UTF-8 in body", "{\"to_handles\": [\"bob\"], \"subject\": \"Hi\", \"body\": \"Hel\xff\xfelo\"}"},
		{"invalid UTF-8 in subject", "{\"to_handles\": [\"bob\"], \"subject\": \"\xc3\x28\", \"body\": \"Hello\"}"},
	}
}

func TestSendMessage400(t *testing.T) {
	e := newMsgEnv(t)
	e.send("alice", []string{"bob"}, "Existing", "so totals are not zero")
	tok := e.token("alice")
	before := e.snapshot("alice", "bob")
	for _, path := range []string{"/api/v1/messages", "/api/v1/messages/group", "/api/v1/messages/broadcast"} {
		for _, tc := range badSendBodies() {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				resp, body := e.do(http.MethodPost, path, tok, tc.body)
				wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
			})
		}
		t.Run(path+"/wrong Content-Type", func(t *testing.T) {
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
				resp, body := e.doRaw(http.MethodPost, path, tok, ct, []byte(`{"to_handles":["bob"],"subject":"Hi","body":"Hello"}`))
				wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
			}
		})
		t.Run(path+"/no body", func(t *testing.T) {
			resp, body := e.doRaw(http.MethodPost, path, tok, "application/json", nil)
			wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
		})
	}
	e.wantCounts(before)
}

func TestSendMessageValidationNamesField(t *testing.T) {
	e := newMsgEnv(t)
	cases := []struct {
		name, body, wantField string
	}{
		{"subject", `{"to_handles":["bob"],"subject":"","body":"x"}`, "subject"},
		{"body", `{"to_handles":["bob"],"subject":"s","body":""}`, "body"},
		{"to_handles", `{"to_handles":[],"subject":"s","body":"x"}`, "to_handles"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPost, "/api/v1/messages", e.token("alice"), tc.body)
			eb := wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
			if !strings.Contains(eb.Message, tc.wantField) {
				t.Errorf("message = %q, want it to name %q", eb.Message, tc.wantField)
			}
		})
	}
}

func TestGetMessage(t *testing.T) {
	e := newMsgEnv(t)
	resp, err := e.client("alice").SendGroupMessageWithResponse(context.Background(), nil,
		sendReq([]string{"bob", "carol"}, "Group", "Hello both", "x"))
	if err != nil || resp.JSON201 == nil {
		t.Fatalf("send: %v %s", err, resp.Body)
	}
	sent := *resp.JSON201
	cases := []struct {
		name, who, id string
		status        int
		typ           string
	}{
		{"get200 sender", "alice", sent.MessageId, 200, ""},
		{"get200 recipient", "bob", sent.MessageId, 200, ""},
		{"get200 second recipient", "carol", sent.MessageId, 200, ""},
		{"get404 non-participant", "mallory", sent.MessageId, 404, "NotFound"},
		{"get404 unknown id", "bob", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", 404, "NotFound"},
		{"get400 not a ULID", "bob", "not-a-ulid", 400, "ValidationError"},
		{"get400 lower-case ULID", "bob", strings.ToLower(sent.MessageId), 400, "ValidationError"},
		{"get400 27 characters", "bob", sent.MessageId + "0", 400, "ValidationError"},
		{"get400 25 characters", "bob", sent.MessageId[:25], 400, "ValidationError"},
		{"get400 letter I", "bob", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2I", 400, "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status != 200 {
				r, body := e.do(http.MethodGet, "/api/v1/messages/"+url.PathEscape(tc.id), e.token(tc.who), "")
				wantError(t, r, body, tc.status, tc.typ)
				return
			}
			got, err := e.client(tc.who).GetMessageWithResponse(context.Background(), tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if got.JSON200 == nil {
				t.Fatalf("status = %d, want 200; body %s", got.StatusCode(), got.Body)
			}
			m := got.JSON200
			if m.MessageId != sent.MessageId || m.ThreadId != sent.ThreadId || m.FromHandle != "alice" ||
				!slices.Equal(m.ToHandles, sent.ToHandles) || m.Subject != "Group" || m.Body != "Hello both" ||
				!slices.Equal(m.Tags, []string{"x"}) || m.InReplyTo != nil || !m.CreatedAt.Equal(sent.CreatedAt) {
				t.Errorf("got %+v, want %+v", *m, sent)
			}
		})
	}
}

func TestListMessages(t *testing.T) {
	e := newMsgEnv(t)
	m1 := e.send("alice", []string{"bob"}, "One", "first")
	m2 := e.send("carol", []string{"alice"}, "Two", "second")
	m3 := e.send("bob", []string{"carol"}, "Three", "not for alice")
	m4 := e.send("alice", []string{"bob"}, "Four", "fourth")
	m5 := e.replyTo("bob", m1.MessageId, "reply to one")
	all := []string{m5.MessageId, m4.MessageId, m2.MessageId, m1.MessageId}

	t.Run("list200 newest first, only visible", func(t *testing.T) {
		wantIDs(t, "alice's messages", messageIDs(e.messages("alice", agcomv1.ListMessagesParams{}).Messages), all)
		wantIDs(t, "bob's messages", messageIDs(e.messages("bob", agcomv1.ListMessagesParams{}).Messages),
			[]string{m5.MessageId, m4.MessageId, m3.MessageId, m1.MessageId})
		page := e.messages("mallory", agcomv1.ListMessagesParams{})
		wantIDs(t, "mallory's messages", messageIDs(page.Messages), nil)
		wantPagination(t, page.Pagination, agcomv1.Pagination{Offset: 0, Limit: 50, Total: 0, HasMore: false})
	})

	pages := []struct {
		name          string
		limit, offset *int
		want          []string
		wantPage      agcomv1.Pagination
	}{
		{"default limit 50", nil, nil, all, agcomv1.Pagination{Offset: 0, Limit: 50, Total: 4}},
		{"limit 100", valueOf(100), nil, all, agcomv1.Pagination{Offset: 0, Limit: 100, Total: 4}},
		{"first page of 2", valueOf(2), valueOf(0), all[:2], agcomv1.Pagination{Offset: 0, Limit: 2, Total: 4, HasMore: true}},
		{"last full page of 2", valueOf(2), valueOf(2), all[2:], agcomv1.Pagination{Offset: 2, Limit: 2, Total: 4}},
		{"page of 3 at offset 1", valueOf(3), valueOf(1), all[1:], agcomv1.Pagination{Offset: 1, Limit: 3, Total: 4}},
		{"page of 2 at offset 1", valueOf(2), valueOf(1), all[1:3], agcomv1.Pagination{Offset: 1, Limit: 2, Total: 4, HasMore: true}},
		{"offset at total", valueOf(2), valueOf(4), nil, agcomv1.Pagination{Offset: 4, Limit: 2, Total: 4}},
		{"offset beyond total", nil, valueOf(100), nil, agcomv1.Pagination{Offset: 100, Limit: 50, Total: 4}},
	}
	for _, tc := range pages {
		t.Run("list200 "+tc.name, func(t *testing.T) {
			page := e.messages("alice", agcomv1.ListMessagesParams{Limit: tc.limit, Offset: tc.offset})
			wantIDs(t, "messages", messageIDs(page.Messages), tc.want)
			wantPagination(t, page.Pagination, tc.wantPage)
		})
	}

	t.Run("list200 thread_id filter", func(t *testing.T) {
		page := e.messages("alice", agcomv1.ListMessagesParams{ThreadId: &m1.ThreadId})
		wantIDs(t, "thread messages", messageIDs(page.Messages), []string{m5.MessageId, m1.MessageId})
		wantPagination(t, page.Pagination, agcomv1.Pagination{Offset: 0, Limit: 50, Total: 2})
		page = e.messages("alice", agcomv1.ListMessagesParams{ThreadId: &m1.ThreadId, Limit: valueOf(1)})
		wantIDs(t, "first page", messageIDs(page.Messages), []string{m5.MessageId})
		wantPagination(t, page.Pagination, agcomv1.Pagination{Offset: 0, Limit: 1, Total: 2, HasMore: true})
	})
	t.Run("list200 thread_id filter hides other threads", func(t *testing.T) {
		// GET /messages documents no 404: a thread the caller cannot see,
		// or that does not exist, has no messages for it.
		for _, tc := range []struct{ who, thread string }{
			{"alice", m3.ThreadId},
			{"mallory", m1.ThreadId},
			{"alice", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K"},
		} {
			resp, err := e.client(tc.who).ListMessagesWithResponse(context.Background(), &agcomv1.ListMessagesParams{ThreadId: &tc.thread})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() == http.StatusOK {
				wantIDs(t, tc.who+" filtering on "+tc.thread, messageIDs(resp.JSON200.Messages), nil)
				if resp.JSON200.Pagination.Total != 0 {
					t.Errorf("%s filtering on %s: total = %d, want 0", tc.who, tc.thread, resp.JSON200.Pagination.Total)
				}
				continue
			}
			t.Errorf("%s filtering on %s: status %d, want 200 with no messages; body %s", tc.who, tc.thread, resp.StatusCode(), resp.Body)
		}
	})

	for _, q := range []string{"limit=0", "limit=101", "limit=-1", "limit=abc", "offset=-1", "offset=x", "offset=1000001", "thread_id=nope", "thread_id=" + strings.ToLower(m1.ThreadId)} {
		t.Run("list400 "+q, func(t *testing.T) {
			resp, body := e.do(http.MethodGet, "/api/v1/messages?"+q, e.token("alice"), "")
			wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
		})
	}
}

func TestReplyToMessage201(t *testing.T) {
	e := newMsgEnv(t)
	m0resp, err := e.client("alice").SendGroupMessageWithResponse(context.Background(), nil,
		sendReq([]string{"carol", "bob"}, "Kickoff", "Shall we start?"))
	if err != nil || m0resp.JSON201 == nil {
		t.Fatalf("send: %v %s", err, m0resp.Body)
	}
	m0 := *m0resp.JSON201
	ids := map[string]string{"m0": m0.MessageId}
	participants := []string{"alice", "bob", "carol"}
	cases := []struct {
		name, who, replyTo, save string
		tags                     []string
		wantTo                   []string
		wantTags                 []string
	}{
		{"recipient replies: goes to the original sender", "bob", "m0", "r1", nil, []string{"alice"}, []string{}},
		{"original sender replies: goes to the original recipients", "alice", "m0", "r2", []string{"x", "y", "x"}, []string{"carol", "bob"}, []string{"x", "y"}},
		{"third participant replies to a reply: goes to its sender", "carol", "r1", "r3", nil, []string{"bob"}, []string{}},
		{"sender of a reply replies to it: goes to its recipients", "bob", "r1", "r4", nil, []string{"alice"}, []string{}},
		{"original sender replies to a reply", "alice", "r3", "r5", nil, []string{"carol"}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.thread("alice", m0.ThreadId)
			req := agcomv1.ReplyRequest{Body: "re: " + tc.save}
			if tc.tags != nil {
				req.Tags = &tc.tags
			}
			resp, err := e.client(tc.who).ReplyToMessageWithResponse(context.Background(), ids[tc.replyTo], nil, req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.JSON201 == nil {
				t.Fatalf("status = %d, want 201; body %s", resp.StatusCode(), resp.Body)
			}
			r := *resp.JSON201
			ids[tc.save] = r.MessageId
			if r.FromHandle != tc.who {
				t.Errorf("from_handle = %q, want %q", r.FromHandle, tc.who)
			}
			if !slices.Equal(r.ToHandles, tc.wantTo) {
				t.Errorf("to_handles = %v, want %v", r.ToHandles, tc.wantTo)
			}
			if r.ThreadId != m0.ThreadId {
				t.Errorf("thread_id = %q, want %q", r.ThreadId, m0.ThreadId)
			}
			if r.Subject != "Kickoff" {
				t.Errorf("subject = %q, want the thread's %q", r.Subject, "Kickoff")
			}
			if r.InReplyTo == nil || *r.InReplyTo != ids[tc.replyTo] {
				t.Errorf("in_reply_to = %v, want %q", r.InReplyTo, ids[tc.replyTo])
			}
			if r.Body != req.Body || !slices.Equal(r.Tags, tc.wantTags) {
				t.Errorf("body/tags = %q/%v, want %q/%v", r.Body, r.Tags, req.Body, tc.wantTags)
			}
			after := e.thread(tc.who, m0.ThreadId)
			if !slices.Equal(after.ParticipantHandles, participants) {
				t.Errorf("participants = %v, want %v", after.ParticipantHandles, participants)
			}
			if after.Subject != "Kickoff" || !after.CreatedAt.Equal(before.CreatedAt) {
				t.Errorf("thread subject/created_at = %q/%v, want unchanged %q/%v", after.Subject, after.CreatedAt, "Kickoff", before.CreatedAt)
			}
			if !after.LastActivityAt.Equal(r.CreatedAt) || !after.LastActivityAt.After(before.LastActivityAt) {
				t.Errorf("last_activity_at = %v, want the reply's %v (after %v)", after.LastActivityAt, r.CreatedAt, before.LastActivityAt)
			}
			got, err := e.client(tc.wantTo[0]).GetMessageWithResponse(context.Background(), r.MessageId)
			if err != nil || got.JSON200 == nil || !got.JSON200.CreatedAt.Equal(r.CreatedAt) {
				t.Errorf("recipient %s cannot read the reply as created: %v %s", tc.wantTo[0], err, got.Body)
			}
		})
	}
	msgs := e.threadMessages("carol", m0.ThreadId, agcomv1.ListThreadMessagesParams{})
	wantIDs(t, "thread messages, oldest first", messageIDs(msgs.Messages),
		[]string{ids["m0"], ids["r1"], ids["r2"], ids["r3"], ids["r4"], ids["r5"]})
}

func TestReplyToMessageNewParticipant(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) {
		c.AdminHandle = "root"
		c.AdminSecret = "root-secret-0123456789abcdef0123456789"
	})
	ctx := context.Background()
	root := e.client("root")
	created, err := root.CreateAgentWithResponse(ctx, agcomv1.AgentCreate{Handle: "auditor", IsAdmin: valueOf(true)})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create admin agent: %v %s", err, created.Body)
	}
	m := e.send("alice", []string{"bob"}, "Private", "just us")

	r := e.replyTo("auditor", m.MessageId, "an admin chimes in")
	if !slices.Equal(r.ToHandles, []string{"alice"}) || r.Subject != "Private" {
		t.Errorf("admin reply to_handles/subject = %v/%q, want [alice]/Private", r.ToHandles, r.Subject)
	}
	if th := e.thread("bob", m.ThreadId); !slices.Equal(th.ParticipantHandles, []string{"alice", "auditor", "bob"}) {
		t.Errorf("participants = %v, want the replying admin to join: [alice auditor bob]", th.ParticipantHandles)
	}

	// Once no longer an admin, the new participant still sees the thread,
	// as a participant.
	upd, err := root.UpdateAgentWithResponse(ctx, "auditor", agcomv1.AgentUpdate{IsAdmin: valueOf(false)})
	if err != nil || upd.JSON200 == nil || upd.JSON200.IsAdmin {
		t.Fatalf("demote: %v %s", err, upd.Body)
	}
	page := e.threads("auditor", agcomv1.ListThreadsParams{})
	wantIDs(t, "auditor's threads", threadIDs(page.Threads), []string{m.ThreadId})
	msgs := e.threadMessages("auditor", m.ThreadId, agcomv1.ListThreadMessagesParams{})
	wantIDs(t, "auditor's view of the thread", messageIDs(msgs.Messages), []string{m.MessageId, r.MessageId})
	if res := e.search("auditor", agcomv1.SearchMessagesParams{Query: "just us"}); res.Count != 1 {
		t.Errorf("auditor's search found %d, want the thread's first message", res.Count)
	}
	// bob's reply to the admin goes to the admin.
	r2 := e.replyTo("bob", r.MessageId, "welcome")
	if !slices.Equal(r2.ToHandles, []string{"auditor"}) {
		t.Errorf("reply to the admin's message: to_handles = %v, want [auditor]", r2.ToHandles)
	}
}

func TestReplyToMessage400404(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Topic", "Opening")
	other := e.send("carol", []string{"dave"}, "Elsewhere", "not for bob")
	before := e.snapshot("alice", "bob", "carol", "mallory")
	cases := []struct {
		name, who, id, body string
		status              int
		typ                 string
	}{
		{"reply404 non-participant", "mallory", m.MessageId, `{"body":"let me in"}`, 404, "NotFound"},
		{"reply404 participant of another thread", "bob", other.MessageId, `{"body":"hi"}`, 404, "NotFound"},
		{"reply404 unknown id", "bob", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", `{"body":"hi"}`, 404, "NotFound"},
		{"reply400 malformed id", "bob", "12345", `{"body":"hi"}`, 400, "ValidationError"},
		{"reply400 empty body", "bob", m.MessageId, `{"body":""}`, 400, "ValidationError"},
		{"reply400 blank body", "bob", m.MessageId, `{"body":"  \n\t"}`, 400, "ValidationError"},
		{"reply400 missing body", "bob", m.MessageId, `{"tags":["a"]}`, 400, "ValidationError"},
		{"reply400 body of 50001 characters", "bob", m.MessageId, `{"body":"` + strings.Repeat("b", 50001) + `"}`, 400, "ValidationError"},
		{"reply400 21 tags", "bob", m.MessageId, `{"body":"x","tags":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u"]}`, 400, "ValidationError"},
		{"reply400 bad tag", "bob", m.MessageId, `{"body":"x","tags":["Bad Tag"]}`, 400, "ValidationError"},
		{"reply400 unknown field subject", "bob", m.MessageId, `{"body":"x","subject":"new subject"}`, 400, "ValidationError"},
		{"reply400 unknown field to_handles", "bob", m.MessageId, `{"body":"x","to_handles":["mallory"]}`, 400, "ValidationError"},
		{"reply400 unknown field from_handle", "bob", m.MessageId, `{"body":"x","from_handle":"alice"}`, 400, "ValidationError"},
		{"reply400 not JSON", "bob", m.MessageId, `body=x`, 400, "ValidationError"},
		{"reply400 JSON array", "bob", m.MessageId, `[{"body":"x"}]`, 400, "ValidationError"},
		{"reply400 invalid UTF-8", "bob", m.MessageId, "{\"body\":\"\xff\"}", 400, "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPost, "/api/v1/messages/"+tc.id+"/reply", e.token(tc.who), tc.body)
			wantError(t, resp, body, tc.status, tc.typ)
		})
	}
	e.wantCounts(before)
	if th := e.thread("alice", m.ThreadId); !slices.Equal(th.ParticipantHandles, []string{"alice", "bob"}) {
		t.Errorf("participants = %v, want [alice bob]: a refused reply adds no one", th.ParticipantHandles)
	}
}

func TestSearchMessages(t *testing.T) {
	e := newMsgEnv(t)
	m1 := e.send("alice", []string{"bob"}, "Deploy Plan", "We ship on Friday")
	m2 := e.send("bob", []string{"alice"}, "Lunch", "100% sure_thing at noon")
	m3 := e.send("carol", []string{"dave"}, "Deploy secret", "not for alice")
	m4 := e.send("alice", []string{"carol"}, "Über café", "naïve résumé")
	m5resp, err := e.client("bob").SendGroupMessageWithResponse(context.Background(), nil,
		sendReq([]string{"alice", "carol"}, "Status", "deploy went fine"))
	if err != nil || m5resp.JSON201 == nil {
		t.Fatalf("send: %v %s", err, m5resp.Body)
	}
	m5 := *m5resp.JSON201
	f := false
	tr := true
	cases := []struct {
		name string
		who  string
		p    agcomv1.SearchMessagesParams
		want []agcomv1.Message
	}{
		{"3+ characters, subject and body, newest first", "alice", agcomv1.SearchMessagesParams{Query: "deploy"}, []agcomv1.Message{m5, m1}},
		{"3+ characters, upper case", "alice", agcomv1.SearchMessagesParams{Query: "DEPLOY"}, []agcomv1.Message{m5, m1}},
		{"3+ characters, mixed case inside a word", "alice", agcomv1.SearchMessagesParams{Query: "pLaN"}, []agcomv1.Message{m1}},
		{"3+ characters, across a space", "alice", agcomv1.SearchMessagesParams{Query: "ship on fri"}, []agcomv1.Message{m1}},
		{"2 characters", "alice", agcomv1.SearchMessagesParams{Query: "de"}, []agcomv1.Message{m5, m1}},
		{"2 characters, upper case", "alice", agcomv1.SearchMessagesParams{Query: "DE"}, []agcomv1.Message{m5, m1}},
		{"1 character", "alice", agcomv1.SearchMessagesParams{Query: "y"}, []agcomv1.Message{m5, m1}},
		{"1 character, upper case", "alice", agcomv1.SearchMessagesParams{Query: "Y"}, []agcomv1.Message{m5, m1}},
		{"no match", "alice", agcomv1.SearchMessagesParams{Query: "zzz"}, nil},
		{"percent is literal (1 character)", "alice", agcomv1.SearchMessagesParams{Query: "%"}, []agcomv1.Message{m2}},
		{"underscore is literal (1 character)", "alice", agcomv1.SearchMessagesParams{Query: "_"}, []agcomv1.Message{m2}},
		{"percent is literal (2 characters)", "alice", agcomv1.SearchMessagesParams{Query: "0%"}, []agcomv1.Message{m2}},
		{"percent is not a wildcard (2 characters)", "alice", agcomv1.SearchMessagesParams{Query: "1%"}, nil},
		{"underscore is not a wildcard (2 characters)", "alice", agcomv1.SearchMessagesParams{Query: "0_"}, nil},
		{"percent is literal (3+ characters)", "alice", agcomv1.SearchMessagesParams{Query: "% s"}, []agcomv1.Message{m2}},
		{"underscore is literal (3+ characters)", "alice", agcomv1.SearchMessagesParams{Query: "e_t"}, []agcomv1.Message{m2}},
		{"percent is not a wildcard (3+ characters)", "alice", agcomv1.SearchMessagesParams{Query: "1%0"}, nil},
		{"underscore is not a wildcard (3+ characters)", "alice", agcomv1.SearchMessagesParams{Query: "1_0"}, nil},
		{"double quote is literal", "alice", agcomv1.SearchMessagesParams{Query: `"deploy"`}, nil},
		{"backslash is literal (1 character)", "alice", agcomv1.SearchMessagesParams{Query: `\`}, nil},
		{"backslash before percent (2 characters)", "alice", agcomv1.SearchMessagesParams{Query: `\%`}, nil},
		{"subject only: body text not found", "alice", agcomv1.SearchMessagesParams{Query: "friday", InSubject: &tr, InBody: &f}, nil},
		{"body only: body text found", "alice", agcomv1.SearchMessagesParams{Query: "friday", InSubject: &f, InBody: &tr}, []agcomv1.Message{m1}},
		{"subject only: subject text found", "alice", agcomv1.SearchMessagesParams{Query: "plan", InBody: &f}, []agcomv1.Message{m1}},
		{"body only: subject text not found", "alice", agcomv1.SearchMessagesParams{Query: "plan", InSubject: &f}, nil},
		{"subject only, 2 characters", "alice", agcomv1.SearchMessagesParams{Query: "fr", InBody: &f}, nil},
		{"body only, 2 characters", "alice", agcomv1.SearchMessagesParams{Query: "fr", InSubject: &f}, []agcomv1.Message{m1}},
		{"from_handle", "alice", agcomv1.SearchMessagesParams{Query: "noon", FromHandle: valueOf("bob")}, []agcomv1.Message{m2}},
		{"from_handle excludes other senders", "alice", agcomv1.SearchMessagesParams{Query: "noon", FromHandle: valueOf("alice")}, nil},
		{"from_handle, short query", "alice", agcomv1.SearchMessagesParams{Query: "e", FromHandle: valueOf("bob")}, []agcomv1.Message{m5, m2}},
		{"to_handle", "alice", agcomv1.SearchMessagesParams{Query: "e", ToHandle: valueOf("carol")}, []agcomv1.Message{m5, m4}},
		{"to_handle, one recipient", "alice", agcomv1.SearchMessagesParams{Query: "deploy", ToHandle: valueOf("bob")}, []agcomv1.Message{m1}},
		{"from and to", "alice", agcomv1.SearchMessagesParams{Query: "e", FromHandle: valueOf("bob"), ToHandle: valueOf("alice")}, []agcomv1.Message{m5, m2}},
		{"limit", "alice", agcomv1.SearchMessagesParams{Query: "deploy", Limit: valueOf(1)}, []agcomv1.Message{m5}},
		{"non-ASCII, 3+ characters, other case", "alice", agcomv1.SearchMessagesParams{Query: "üBER"}, []agcomv1.Message{m4}},
		{"non-ASCII, 3+ characters, same case", "alice", agcomv1.SearchMessagesParams{Query: "résumé"}, []agcomv1.Message{m4}},
		{"non-ASCII, 2 characters, same case", "alice", agcomv1.SearchMessagesParams{Query: "fé"}, []agcomv1.Message{m4}},
		{"non-ASCII, 1 character, other case", "alice", agcomv1.SearchMessagesParams{Query: "É"}, []agcomv1.Message{m4}},
		{"non-ASCII, 2 characters, other case", "alice", agcomv1.SearchMessagesParams{Query: "üB"}, []agcomv1.Message{m4}},
		{"another agent sees its own", "carol", agcomv1.SearchMessagesParams{Query: "deploy"}, []agcomv1.Message{m5, m3}},
		{"non-participant sees nothing", "mallory", agcomv1.SearchMessagesParams{Query: "deploy"}, nil},
		{"non-participant sees nothing, short query", "mallory", agcomv1.SearchMessagesParams{Query: "e"}, nil},
		{"to_handle does not reveal others' threads", "mallory", agcomv1.SearchMessagesParams{Query: "secret", ToHandle: valueOf("dave")}, nil},
	}
	for _, tc := range cases {
		t.Run("search200 "+tc.name, func(t *testing.T) {
			got := e.search(tc.who, tc.p)
			if got.Query != tc.p.Query {
				t.Errorf("query = %q, want %q", got.Query, tc.p.Query)
			}
			if got.Count != len(got.Messages) {
				t.Errorf("count = %d, but %d messages", got.Count, len(got.Messages))
			}
			wantIDs(t, "results", messageIDs(got.Messages), messageIDs(tc.want))
			for i := range min(len(got.Messages), len(tc.want)) {
				g, w := got.Messages[i], tc.want[i]
				if g.Subject != w.Subject || g.Body != w.Body || g.FromHandle != w.FromHandle || !g.CreatedAt.Equal(w.CreatedAt) {
					t.Errorf("result %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}

	bad := []string{
		"query=x&in_subject=false&in_body=false",
		"query=",
		"",
		"in_subject=true",
		"query=" + strings.Repeat("q", 201),
		"query=x&from_handle=Bob",
		"query=x&to_handle=b",
		"query=x&limit=0",
		"query=x&limit=101",
		"query=x&in_subject=maybe",
	}
	for _, q := range bad {
		t.Run("search400 "+q, func(t *testing.T) {
			resp, body := e.do(http.MethodGet, "/api/v1/messages/search?"+q, e.token("alice"), "")
			wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
		})
	}
	t.Run("search200 limit 100", func(t *testing.T) {
		if got := e.search("alice", agcomv1.SearchMessagesParams{Query: "e", Limit: valueOf(100)}); got.Count != 4 {
			t.Errorf("count = %d, want 4", got.Count)
		}
	})
}

// rfc3339UTC is a timestamp in RFC 3339 with a Z offset.
var rfc3339UTC = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)

func TestCreatedAtRoundTrip(t *testing.T) {
	e := newMsgEnv(t)
	ctx := context.Background()
	alice := e.client("alice")

	sent, err := alice.SendMessageWithResponse(ctx, nil, sendReq([]string{"bob"}, "Time", "check"))
	if err != nil || sent.JSON201 == nil {
		t.Fatalf("send: %v %s", err, sent.Body)
	}
	group, err := alice.SendGroupMessageWithResponse(ctx, nil, sendReq([]string{"bob", "carol"}, "Time", "group"))
	if err != nil || group.JSON201 == nil {
		t.Fatalf("group: %v %s", err, group.Body)
	}
	bc, err := alice.BroadcastMessageWithResponse(ctx, nil, sendReq([]string{"bob", "carol"}, "Time", "broadcast"))
	if err != nil || bc.JSON201 == nil {
		t.Fatalf("broadcast: %v %s", err, bc.Body)
	}
	reply, err := e.client("bob").ReplyToMessageWithResponse(ctx, sent.JSON201.MessageId, nil, agcomv1.ReplyRequest{Body: "ack"})
	if err != nil || reply.JSON201 == nil {
		t.Fatalf("reply: %v %s", err, reply.Body)
	}
	treply, err := alice.ReplyToThreadWithResponse(ctx, group.JSON201.ThreadId, nil, agcomv1.ReplyRequest{Body: "ack"})
	if err != nil || treply.JSON201 == nil {
		t.Fatalf("thread reply: %v %s", err, treply.Body)
	}

	cases := []struct {
		name    string
		created agcomv1.Message
		raw     []byte
	}{
		{"send", *sent.JSON201, sent.Body},
		{"group", *group.JSON201, group.Body},
		{"broadcast", bc.JSON201.Messages[1], nil},
		{"reply", *reply.JSON201, reply.Body},
		{"thread reply", *treply.JSON201, treply.Body},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.raw != nil {
				var m map[string]any
				if err := json.Unmarshal(tc.raw, &m); err != nil {
					t.Fatal(err)
				}
				if s, _ := m["created_at"].(string); !rfc3339UTC.MatchString(s) {
					t.Errorf("created_at = %q, want RFC 3339 in UTC with Z", s)
				}
			}
			got, err := e.client("alice").GetMessageWithResponse(ctx, tc.created.MessageId)
			if err != nil || got.JSON200 == nil {
				t.Fatalf("get: %v %s", err, got.Body)
			}
			if !got.JSON200.CreatedAt.Equal(tc.created.CreatedAt) {
				t.Errorf("GET created_at = %v, create returned %v", got.JSON200.CreatedAt, tc.created.CreatedAt)
			}
			list := e.threadMessages("alice", tc.created.ThreadId, agcomv1.ListThreadMessagesParams{})
			found := false
			for _, m := range list.Messages {
				if m.MessageId == tc.created.MessageId {
					found = true
					if !m.CreatedAt.Equal(tc.created.CreatedAt) {
						t.Errorf("listed created_at = %v, create returned %v", m.CreatedAt, tc.created.CreatedAt)
					}
				}
			}
			if !found {
				t.Errorf("message %s not in its thread", tc.created.MessageId)
			}
			th := e.thread("alice", tc.created.ThreadId)
			latest := list.Messages[len(list.Messages)-1]
			if !th.LastActivityAt.Equal(latest.CreatedAt) {
				t.Errorf("thread last_activity_at = %v, want the latest message's %v", th.LastActivityAt, latest.CreatedAt)
			}
			if tc.created.InReplyTo == nil && !th.CreatedAt.Equal(tc.created.CreatedAt) {
				t.Errorf("thread created_at = %v, want its first message's %v", th.CreatedAt, tc.created.CreatedAt)
			}
		})
	}
}

// TestDefaultLimit50: lists and search return 50 items unless asked for
// more, and at most 100.
func TestDefaultLimit50(t *testing.T) {
	e := newMsgEnv(t)
	resp, err := e.client("alice").BroadcastMessageWithResponse(context.Background(), nil, sendReq(handles("r", 55), "Needle", "haystack"))
	if err != nil || resp.JSON201 == nil || resp.JSON201.Count != 55 {
		t.Fatalf("broadcast: %v %.200s", err, resp.Body)
	}
	cases := []struct {
		name      string
		limit     *int
		wantN     int
		wantLimit int
		wantMore  bool
	}{
		{"default", nil, 50, 50, true},
		{"limit 100", valueOf(100), 55, 100, false},
		{"limit 55", valueOf(55), 55, 55, false},
		{"limit 54", valueOf(54), 54, 54, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs := e.messages("alice", agcomv1.ListMessagesParams{Limit: tc.limit})
			wantPagination(t, msgs.Pagination, agcomv1.Pagination{Limit: tc.wantLimit, Total: 55, HasMore: tc.wantMore})
			if len(msgs.Messages) != tc.wantN {
				t.Errorf("messages: %d, want %d", len(msgs.Messages), tc.wantN)
			}
			ths := e.threads("alice", agcomv1.ListThreadsParams{Limit: tc.limit})
			wantPagination(t, ths.Pagination, agcomv1.Pagination{Limit: tc.wantLimit, Total: 55, HasMore: tc.wantMore})
			if len(ths.Threads) != tc.wantN {
				t.Errorf("threads: %d, want %d", len(ths.Threads), tc.wantN)
			}
			for _, q := range []string{"needle", "ne"} {
				if res := e.search("alice", agcomv1.SearchMessagesParams{Query: q, Limit: tc.limit}); res.Count != tc.wantN || len(res.Messages) != tc.wantN {
					t.Errorf("search %q: count %d with %d messages, want %d", q, res.Count, len(res.Messages), tc.wantN)
				}
			}
		})
	}
}
