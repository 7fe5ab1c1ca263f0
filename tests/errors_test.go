package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/config"
)

func TestUnknownPath404(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Hi", "x")
	cases := []struct {
		name, method, path string
		token              bool
	}{
		{"unknown endpoint", http.MethodGet, "/api/v1/nope", true},
		{"unknown endpoint without a token", http.MethodGet, "/api/v1/nope", false},
		{"outside the API", http.MethodGet, "/nope", false},
		{"other API version", http.MethodGet, "/api/v2/messages", true},
		{"API root", http.MethodGet, "/api/v1/", true},
		{"below a message", http.MethodGet, "/api/v1/messages/" + m.MessageId + "/nope", true},
		{"below a metadata key", http.MethodGet, "/api/v1/threads/" + m.ThreadId + "/metadata/a/b", true},
		{"unknown POST", http.MethodPost, "/api/v1/threads/" + m.ThreadId + "/delete", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			if tc.token {
				tok = e.token("alice")
			}
			resp, body := e.do(tc.method, tc.path, tok, "")
			wantError(t, resp, body, http.StatusNotFound, "NotFound")
		})
	}
}

func TestWrongMethod405(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Hi", "x")
	cases := []struct{ method, path string }{
		{http.MethodDelete, "/api/v1/messages"},
		{http.MethodPut, "/api/v1/messages"},
		{http.MethodPut, "/api/v1/threads"},
		{http.MethodPost, "/api/v1/threads"},
		{http.MethodPatch, "/api/v1/messages/" + m.MessageId},
		{http.MethodDelete, "/api/v1/messages/" + m.MessageId},
		{http.MethodPost, "/api/v1/threads/" + m.ThreadId},
		{http.MethodGet, "/api/v1/threads/" + m.ThreadId + "/reply"},
		{http.MethodGet, "/api/v1/messages/" + m.MessageId + "/reply"},
		{http.MethodDelete, "/api/v1/threads/" + m.ThreadId + "/metadata"},
		{http.MethodPut, "/api/v1/threads/" + m.ThreadId + "/metadata/priority"},
		{http.MethodGet, "/api/v1/threads/" + m.ThreadId + "/archive"},
		{http.MethodPost, "/api/v1/health"},
		{http.MethodPost, "/api/v1/messages/search"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, e.token("alice"), "")
			wantError(t, resp, body, http.StatusMethodNotAllowed, "MethodNotAllowed")
		})
	}
	if th := e.thread("alice", m.ThreadId); len(th.Metadata) != 0 || !th.LastActivityAt.Equal(m.CreatedAt) {
		t.Errorf("thread = %+v, want it untouched", th)
	}
}

func TestAuthentication401(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Hi", "x")
	before := e.snapshot("alice", "bob")

	otherKeys, err := auth.NewKeys("another-secret-key-0123456789abcdef0123")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := otherKeys.Mint("alice", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	expired, err := e.App.Keys.Mint("alice", "", time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	good := e.token("alice")
	tampered := good[:len(good)-4] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, good[len(good)-4:])

	auths := []struct{ name, header string }{
		{"missing", ""},
		{"scheme only", "Bearer "},
		{"garbage", "Bearer not-a-jwt"},
		{"three garbage parts", "Bearer aaa.bbb.ccc"},
		{"basic auth", "Basic YWxpY2U6c2VjcmV0"},
		{"token without scheme", good},
		{"signed with another key", "Bearer " + foreign},
		{"expired", "Bearer " + expired},
		{"tampered signature", "Bearer " + tampered},
	}
	endpoints := []struct{ name, method, path, body string }{
		{"list threads", http.MethodGet, "/api/v1/threads", ""},
		{"list messages", http.MethodGet, "/api/v1/messages", ""},
		{"get message", http.MethodGet, "/api/v1/messages/" + m.MessageId, ""},
		{"search", http.MethodGet, "/api/v1/messages/search?query=hi", ""},
		{"send", http.MethodPost, "/api/v1/messages", `{"to_handles":["bob"],"subject":"s","body":"b"}`},
		{"broadcast", http.MethodPost, "/api/v1/messages/broadcast", `{"to_handles":["bob"],"subject":"s","body":"b"}`},
		{"reply", http.MethodPost, "/api/v1/messages/" + m.MessageId + "/reply", `{"body":"b"}`},
		{"thread reply", http.MethodPost, "/api/v1/threads/" + m.ThreadId + "/reply", `{"body":"b"}`},
		{"put metadata", http.MethodPut, "/api/v1/threads/" + m.ThreadId + "/metadata", `{"key":"k","value":"v"}`},
		{"archive", http.MethodPost, "/api/v1/threads/" + m.ThreadId + "/archive", ""},
	}
	for _, a := range auths {
		for _, ep := range endpoints {
			t.Run(a.name+"/"+ep.name, func(t *testing.T) {
				resp, body := e.doAuth(ep.method, ep.path, a.header, ep.body)
				wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
			})
		}
	}
	e.wantCounts(before)
	if th := e.thread("alice", m.ThreadId); len(th.Metadata) != 0 {
		t.Errorf("metadata = %v, want none written by unauthenticated calls", th.Metadata)
	}
	t.Run("lower-case scheme is accepted", func(t *testing.T) {
		resp, body := e.doAuth(http.MethodGet, "/api/v1/threads", "bearer "+good, "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status = %d, want 200; body %s", resp.StatusCode, body)
		}
	})
}

func TestPayloadTooLarge413(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) { c.MaxBodyBytes = 2048 })
	m := e.send("alice", []string{"bob"}, "Hi", "x")
	before := e.snapshot("alice", "bob")
	tok := e.token("alice")
	big := strings.Repeat("b", 3000)
	cases := []struct{ name, method, path, body string }{
		{"send", http.MethodPost, "/api/v1/messages", `{"to_handles":["bob"],"subject":"s","body":"` + big + `"}`},
		{"group", http.MethodPost, "/api/v1/messages/group", `{"to_handles":["bob"],"subject":"s","body":"` + big + `"}`},
		{"broadcast", http.MethodPost, "/api/v1/messages/broadcast", `{"to_handles":["bob"],"subject":"s","body":"` + big + `"}`},
		{"reply", http.MethodPost, "/api/v1/messages/" + m.MessageId + "/reply", `{"body":"` + big + `"}`},
		{"thread reply", http.MethodPost, "/api/v1/threads/" + m.ThreadId + "/reply", `{"body":"` + big + `"}`},
		{"put metadata", http.MethodPut, "/api/v1/threads/" + m.ThreadId + "/metadata", `{"key":"k","value":"` + big + `"}`},
		{"not even JSON", http.MethodPost, "/api/v1/messages", big},
	}
	for _, tc := range cases {
		t.Run("413 "+tc.name, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, tok, tc.body)
			wantError(t, resp, body, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		})
	}
	t.Run("413 without Content-Length", func(t *testing.T) {
		body := `{"to_handles":["bob"],"subject":"s","body":"` + big + `"}`
		// A reader of unknown length is sent chunked.
		req, err := http.NewRequest(http.MethodPost, e.URL+"/api/v1/messages", io.MultiReader(strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		if req.ContentLength != 0 {
			t.Fatalf("ContentLength = %d, want unknown", req.ContentLength)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		wantError(t, resp, b, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	})
	e.wantCounts(before)
	t.Run("201 just under the limit", func(t *testing.T) {
		body := `{"to_handles":["bob"],"subject":"s","body":"` + strings.Repeat("b", 1900) + `"}`
		resp, b := e.do(http.MethodPost, "/api/v1/messages", tok, body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status = %d, want 201; body %.200s", resp.StatusCode, b)
		}
	})
}

// TestBodyShape400 sends malformed bodies to every write endpoint of
// messages and threads.
func TestBodyShape400(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Hi", "x")
	before := e.snapshot("alice", "bob")
	tok := e.token("alice")
	endpoints := []struct{ name, method, path, valid string }{
		{"send", http.MethodPost, "/api/v1/messages", `{"to_handles":["bob"],"subject":"s","body":"b"}`},
		{"group", http.MethodPost, "/api/v1/messages/group", `{"to_handles":["bob"],"subject":"s","body":"b"}`},
		{"broadcast", http.MethodPost, "/api/v1/messages/broadcast", `{"to_handles":["bob"],"subject":"s","body":"b"}`},
		{"reply", http.MethodPost, "/api/v1/messages/" + m.MessageId + "/reply", `{"body":"b"}`},
		{"thread reply", http.MethodPost, "/api/v1/threads/" + m.ThreadId + "/reply", `{"body":"b"}`},
		{"put metadata", http.MethodPut, "/api/v1/threads/" + m.ThreadId + "/metadata", `{"key":"k","value":"v"}`},
	}
	shapes := []struct {
		name        string
		contentType string
		body        func(valid string) []byte
	}{
		{"not JSON", "application/json", func(string) []byte { return []byte("hello there") }},
		{"JSON array", "application/json", func(v string) []byte { return []byte("[" + v + "]") }},
		{"JSON number", "application/json", func(string) []byte { return []byte("42") }},
		{"empty object", "application/json", func(string) []byte { return []byte("{}") }},
		{"unknown field", "application/json", func(v string) []byte { return []byte(strings.TrimSuffix(v, "}") + `,"from_handle":"mallory"}`) }},
		{"invalid UTF-8", "application/json", func(v string) []byte { return []byte(strings.TrimSuffix(v, `"}`) + "\xff\"}") }},
		{"invalid UTF-8 in a key", "application/json", func(v string) []byte { return []byte(strings.Replace(v, `{`, "{\"\xfe\":1,", 1)) }},
		{"text/plain", "text/plain", func(v string) []byte { return []byte(v) }},
		{"form", "application/x-www-form-urlencoded", func(v string) []byte { return []byte(v) }},
		{"no Content-Type", "", func(v string) []byte { return []byte(v) }},
		{"empty body", "application/json", func(string) []byte { return []byte{} }},
	}
	for _, ep := range endpoints {
		for _, sh := range shapes {
			t.Run(ep.name+"/"+sh.name, func(t *testing.T) {
				resp, body := e.doRaw(ep.method, ep.path, tok, sh.contentType, sh.body(ep.valid))
				wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
			})
		}
	}
	e.wantCounts(before)
	if md := e.metadata("alice", m.ThreadId); len(md) != 0 {
		t.Errorf("metadata = %v, want nothing written", md)
	}
}

// TestTrailingDataAfterJSONBody400: a body is one JSON object; anything
// after it makes the body invalid, and nothing is written.
func TestTrailingDataAfterJSONBody400(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Hi", "x")
	before := e.snapshot("alice", "bob")
	tok := e.token("alice")
	endpoints := []struct{ name, method, path, valid string }{
		{"send", http.MethodPost, "/api/v1/messages", `{"to_handles":["bob"],"subject":"s","body":"b"}`},
		{"broadcast", http.MethodPost, "/api/v1/messages/broadcast", `{"to_handles":["bob"],"subject":"s","body":"b"}`},
		{"reply", http.MethodPost, "/api/v1/messages/" + m.MessageId + "/reply", `{"body":"b"}`},
		{"put metadata", http.MethodPut, "/api/v1/threads/" + m.ThreadId + "/metadata", `{"key":"k","value":"v"}`},
	}
	trailers := []struct{ name, trailer string }{
		{"a second object", `{"body":"again"}`},
		{"garbage", ` garbage`},
		{"a closing brace", `}`},
	}
	for _, ep := range endpoints {
		for _, tr := range trailers {
			t.Run(ep.name+"/"+tr.name, func(t *testing.T) {
				resp, body := e.do(ep.method, ep.path, tok, ep.valid+tr.trailer)
				wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
			})
		}
	}
	e.wantCounts(before)
	if md := e.metadata("alice", m.ThreadId); len(md) != 0 {
		t.Errorf("metadata = %v, want nothing written", md)
	}
}

func TestRequestIDs(t *testing.T) {
	e := newMsgEnv(t)
	seen := map[string]bool{}
	reqs := []struct {
		name, method, path, token string
		status                    int
	}{
		{"200", http.MethodGet, "/api/v1/threads", e.token("alice"), 200},
		{"400", http.MethodGet, "/api/v1/threads?limit=0", e.token("alice"), 400},
		{"401", http.MethodGet, "/api/v1/threads", "", 401},
		{"404", http.MethodGet, "/api/v1/nope", "", 404},
		{"405", http.MethodDelete, "/api/v1/threads", e.token("alice"), 405},
	}
	for _, rq := range reqs {
		t.Run(rq.name, func(t *testing.T) {
			resp, body := e.do(rq.method, rq.path, rq.token, "")
			if resp.StatusCode != rq.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, rq.status, body)
			}
			id := resp.Header.Get("X-Request-ID")
			if id == "" {
				t.Fatalf("no X-Request-ID header")
			}
			if seen[id] {
				t.Errorf("X-Request-ID %q reused", id)
			}
			seen[id] = true
			if rq.status >= 400 {
				var env agcomv1.ErrorEnvelope
				if err := json.Unmarshal(body, &env); err != nil || env.Error.RequestId != id {
					t.Errorf("error.request_id = %q, header %q (%v)", env.Error.RequestId, id, err)
				}
			}
		})
	}
}
