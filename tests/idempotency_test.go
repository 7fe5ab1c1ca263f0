package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

// idemAnswer is one raw HTTP answer.
type idemAnswer struct {
	status   int
	body     []byte
	replayed string
	resp     *http.Response
}

// idemTry sends a POST with an Idempotency-Key (none when key is empty);
// it returns an error rather than failing, so goroutines may use it.
func idemTry(e *env, path, token, key, body string) (idemAnswer, error) {
	req, err := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(body))
	if err != nil {
		return idemAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return idemAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return idemAnswer{}, err
	}
	return idemAnswer{status: resp.StatusCode, body: b, replayed: resp.Header.Get("Idempotent-Replayed"), resp: resp}, nil
}

// idemPost is idemTry that fails the test on a transport error.
func idemPost(e *env, path, who, key, body string) idemAnswer {
	e.t.Helper()
	a, err := idemTry(e, path, e.token(who), key, body)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	return a
}

// idemWantFresh checks a first answer: the status, and no replay header.
func idemWantFresh(t *testing.T, what string, a idemAnswer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status = %d, want %d; body %s", what, a.status, status, a.body)
	}
	if a.replayed != "" {
		t.Errorf("%s: Idempotent-Replayed = %q on a first answer, want absent", what, a.replayed)
	}
}

// idemWantReplay checks that again is the replay of first: same status,
// identical bytes, Idempotent-Replayed: true.
func idemWantReplay(t *testing.T, what string, first, again idemAnswer) {
	t.Helper()
	if again.status != first.status {
		t.Errorf("%s: replay status = %d, want %d; body %s", what, again.status, first.status, again.body)
	}
	if !bytes.Equal(again.body, first.body) {
		t.Errorf("%s: replay body differs:\n first %s\nreplay %s", what, first.body, again.body)
	}
	if again.replayed != "true" {
		t.Errorf("%s: Idempotent-Replayed = %q, want \"true\"", what, again.replayed)
	}
	if ct := again.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: replay Content-Type = %q", what, ct)
	}
}

// idemMessageID decodes the message_id of a Message body.
func idemMessageID(t *testing.T, body []byte) string {
	t.Helper()
	var m agcomv1.Message
	if err := json.Unmarshal(body, &m); err != nil || m.MessageId == "" {
		t.Fatalf("not a message: %v: %s", err, body)
	}
	return m.MessageId
}

// idemTotal is how many messages who can see.
func idemTotal(e *env, who string) int {
	e.t.Helper()
	return e.messages(who, agcomv1.ListMessagesParams{}).Pagination.Total
}

// idemSendBody is a POST /messages body.
func idemSendBody(to []string, subject, body string) string {
	b, _ := json.Marshal(agcomv1.SendMessageRequest{ToHandles: to, Subject: subject, Body: body})
	return string(b)
}

func TestIdempotentSendReplays(t *testing.T) {
	e := newMsgEnv(t)
	body := idemSendBody([]string{"bob"}, "Once", "only once")
	first := idemPost(e, "/api/v1/messages", "alice", "key-1", body)
	idemWantFresh(t, "first send", first, http.StatusCreated)
	id := idemMessageID(t, first.body)
	for i := 0; i < 3; i++ {
		again := idemPost(e, "/api/v1/messages", "alice", "key-1", body)
		idemWantReplay(t, fmt.Sprintf("retry %d", i+1), first, again)
	}
	if n := idemTotal(e, "alice"); n != 1 {
		t.Errorf("alice sees %d messages after retries, want 1", n)
	}
	if n := idemTotal(e, "bob"); n != 1 {
		t.Errorf("bob sees %d messages after retries, want 1", n)
	}
	if th := e.threads("bob", agcomv1.ListThreadsParams{}); th.Pagination.Total != 1 || th.Threads[0].UnreadCount != 1 {
		t.Errorf("bob's threads = %+v, want one thread with one unread message", th)
	}
	// The message is the one first answered.
	if got := e.messages("bob", agcomv1.ListMessagesParams{}).Messages[0].MessageId; got != id {
		t.Errorf("stored message = %s, want %s", got, id)
	}

	// Without a key, the same request creates again.
	plain := idemPost(e, "/api/v1/messages", "alice", "", body)
	idemWantFresh(t, "send without key", plain, http.StatusCreated)
	if idemMessageID(t, plain.body) == id {
		t.Errorf("a send without key answered the keyed message")
	}
	// A new key creates again.
	other := idemPost(e, "/api/v1/messages", "alice", "key-2", body)
	idemWantFresh(t, "send with a new key", other, http.StatusCreated)
	if n := idemTotal(e, "alice"); n != 3 {
		t.Errorf("alice sees %d messages, want 3", n)
	}
}

func TestIdempotencyKeyReused409(t *testing.T) {
	e := newMsgEnv(t)
	first := idemPost(e, "/api/v1/messages", "alice", "reuse", idemSendBody([]string{"bob"}, "S", "first"))
	idemWantFresh(t, "first", first, http.StatusCreated)
	for _, c := range []struct{ name, path, body string }{
		{"different body", "/api/v1/messages", idemSendBody([]string{"bob"}, "S", "second")},
		{"different recipients", "/api/v1/messages", idemSendBody([]string{"carol"}, "S", "first")},
		{"different endpoint", "/api/v1/messages/group", idemSendBody([]string{"bob"}, "S", "first")},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := idemPost(e, c.path, "alice", "reuse", c.body)
			wantError(t, a.resp, a.body, http.StatusConflict, "IdempotencyKeyReused")
			if a.replayed != "" {
				t.Errorf("Idempotent-Replayed = %q on a 409", a.replayed)
			}
		})
	}
	if n := idemTotal(e, "alice"); n != 1 {
		t.Errorf("alice sees %d messages, want 1: a reused key created something", n)
	}
	if n := idemTotal(e, "carol"); n != 0 {
		t.Errorf("carol sees %d messages, want 0", n)
	}
	// The original request still replays.
	again := idemPost(e, "/api/v1/messages", "alice", "reuse", idemSendBody([]string{"bob"}, "S", "first"))
	idemWantReplay(t, "original after 409", first, again)
}

func TestIdempotencyKeysPerAgent(t *testing.T) {
	e := newMsgEnv(t)
	body := idemSendBody([]string{"carol"}, "Same", "same body")
	a := idemPost(e, "/api/v1/messages", "alice", "shared-key", body)
	idemWantFresh(t, "alice", a, http.StatusCreated)
	b := idemPost(e, "/api/v1/messages", "bob", "shared-key", body)
	idemWantFresh(t, "bob with alice's key", b, http.StatusCreated)
	if idemMessageID(t, a.body) == idemMessageID(t, b.body) {
		t.Errorf("bob got alice's message for the same key")
	}
	// bob may use the key for a different request, too.
	b2 := idemPost(e, "/api/v1/messages", "dave", "shared-key", idemSendBody([]string{"carol"}, "Other", "other"))
	idemWantFresh(t, "dave, different request", b2, http.StatusCreated)
	if n := idemTotal(e, "carol"); n != 3 {
		t.Errorf("carol sees %d messages, want 3", n)
	}
	// Each agent's own retry replays its own answer.
	idemWantReplay(t, "alice retry", a, idemPost(e, "/api/v1/messages", "alice", "shared-key", body))
	idemWantReplay(t, "bob retry", b, idemPost(e, "/api/v1/messages", "bob", "shared-key", body))
	if n := idemTotal(e, "carol"); n != 3 {
		t.Errorf("carol sees %d messages after retries, want 3", n)
	}
}

func TestIdempotentOtherCreates(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Start", "start")
	base := idemTotal(e, "bob")

	t.Run("reply to message", func(t *testing.T) {
		path, body := "/api/v1/messages/"+m.MessageId+"/reply", `{"body":"reply once"}`
		first := idemPost(e, path, "bob", "r-1", body)
		idemWantFresh(t, "reply", first, http.StatusCreated)
		idemWantReplay(t, "reply retry", first, idemPost(e, path, "bob", "r-1", body))
		idemWantReused(t, idemPost(e, path, "bob", "r-1", `{"body":"other"}`))
	})
	t.Run("reply to thread", func(t *testing.T) {
		path, body := "/api/v1/threads/"+m.ThreadId+"/reply", `{"body":"thread reply once"}`
		first := idemPost(e, path, "alice", "t-1", body)
		idemWantFresh(t, "thread reply", first, http.StatusCreated)
		idemWantReplay(t, "thread reply retry", first, idemPost(e, path, "alice", "t-1", body))
		idemWantReused(t, idemPost(e, path, "alice", "t-1", `{"body":"other"}`))
	})
	if got := e.threadMessages("bob", m.ThreadId, agcomv1.ListThreadMessagesParams{}).Pagination.Total; got != 3 {
		t.Errorf("thread has %d messages, want 3 (start and one of each reply)", got)
	}
	if got := idemTotal(e, "bob"); got != base+2 {
		t.Errorf("bob sees %d messages, want %d", got, base+2)
	}

	t.Run("broadcast", func(t *testing.T) {
		body := idemSendBody([]string{"carol", "dave", "erin"}, "All", "broadcast once")
		first := idemPost(e, "/api/v1/messages/broadcast", "alice", "b-1", body)
		idemWantFresh(t, "broadcast", first, http.StatusCreated)
		idemWantReplay(t, "broadcast retry", first, idemPost(e, "/api/v1/messages/broadcast", "alice", "b-1", body))
		idemWantReused(t, idemPost(e, "/api/v1/messages/broadcast", "alice", "b-1", idemSendBody([]string{"carol"}, "All", "broadcast once")))
		for _, who := range []string{"carol", "dave", "erin"} {
			if n := idemTotal(e, who); n != 1 {
				t.Errorf("%s sees %d messages, want 1", who, n)
			}
		}
	})
	t.Run("group", func(t *testing.T) {
		body := idemSendBody([]string{"frank", "gina"}, "Group", "group once")
		first := idemPost(e, "/api/v1/messages/group", "alice", "g-1", body)
		idemWantFresh(t, "group", first, http.StatusCreated)
		idemWantReplay(t, "group retry", first, idemPost(e, "/api/v1/messages/group", "alice", "g-1", body))
		idemWantReused(t, idemPost(e, "/api/v1/messages/group", "alice", "g-1", idemSendBody([]string{"frank"}, "Group", "group once")))
		for _, who := range []string{"frank", "gina"} {
			if n := idemTotal(e, who); n != 1 {
				t.Errorf("%s sees %d messages, want 1", who, n)
			}
		}
	})
	t.Run("contact", func(t *testing.T) {
		body := `{"handle":"zed","display_name":"Zed"}`
		first := idemPost(e, "/api/v1/contacts", "alice", "c-1", body)
		idemWantFresh(t, "contact", first, http.StatusCreated)
		// Without the key, the same create is a conflict; with it, a replay.
		dup := idemPost(e, "/api/v1/contacts", "alice", "", body)
		if dup.status == http.StatusCreated {
			t.Errorf("second contact create without key: 201, want a conflict")
		}
		idemWantReplay(t, "contact retry", first, idemPost(e, "/api/v1/contacts", "alice", "c-1", body))
		idemWantReused(t, idemPost(e, "/api/v1/contacts", "alice", "c-1", `{"handle":"yan"}`))
		resp, err := e.client("alice").GetContactWithResponse(context.Background(), "yan")
		if err != nil || resp.StatusCode() != http.StatusNotFound {
			t.Errorf("contact yan: status %d, want 404: the reused key created it", resp.StatusCode())
		}
	})
}

// idemWantReused checks a 409 IdempotencyKeyReused answer.
func idemWantReused(t *testing.T, a idemAnswer) {
	t.Helper()
	wantError(t, a.resp, a.body, http.StatusConflict, "IdempotencyKeyReused")
}

func TestIdempotentConcurrentRetries(t *testing.T) {
	e := newMsgEnv(t)
	tok := e.token("alice")
	body := idemSendBody([]string{"bob", "carol"}, "Race", "ten retries, one message")
	const n = 10
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		answers = make([]idemAnswer, n)
		errs    = make([]error, n)
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			answers[i], errs[i] = idemTry(e, "/api/v1/messages", tok, "race-key", body)
		}(i)
	}
	close(start)
	wg.Wait()
	fresh := 0
	var ids []string
	for i, a := range answers {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if a.status != http.StatusCreated {
			t.Errorf("request %d: status %d, want 201; body %s", i, a.status, a.body)
			continue
		}
		ids = append(ids, idemMessageID(t, a.body))
		if !bytes.Equal(a.body, answers[0].body) {
			t.Errorf("request %d: body differs from request 0:\n%s\n%s", i, a.body, answers[0].body)
		}
		switch a.replayed {
		case "":
			fresh++
		case "true":
		default:
			t.Errorf("request %d: Idempotent-Replayed = %q", i, a.replayed)
		}
	}
	if fresh != 1 {
		t.Errorf("%d answers were fresh, want exactly 1 (the others replays)", fresh)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("message ids differ: %v", ids)
			break
		}
	}
	for _, who := range []string{"alice", "bob", "carol"} {
		if got := idemTotal(e, who); got != 1 {
			t.Errorf("%s sees %d messages, want exactly 1", who, got)
		}
	}
	for _, who := range []string{"bob", "carol"} {
		if th := e.threads(who, agcomv1.ListThreadsParams{}); th.Pagination.Total != 1 || th.Threads[0].UnreadCount != 1 {
			t.Errorf("%s's threads = %+v, want one thread, one unread", who, th)
		}
	}
}

func TestIdempotencyKeyInvalid400(t *testing.T) {
	e := newMsgEnv(t)
	body := idemSendBody([]string{"bob"}, "Bad key", "no")
	for name, key := range map[string]string{
		"too long":  strings.Repeat("k", 256),
		"space":     "has space",
		"non-ascii": "clé",
	} {
		t.Run(name, func(t *testing.T) {
			a := idemPost(e, "/api/v1/messages", "alice", key, body)
			wantError(t, a.resp, a.body, http.StatusBadRequest, "ValidationError")
		})
	}
	if n := idemTotal(e, "alice"); n != 0 {
		t.Errorf("alice sees %d messages, want 0: an invalid key created one", n)
	}
	// The longest valid key works.
	key := strings.Repeat("k", 255)
	first := idemPost(e, "/api/v1/messages", "alice", key, body)
	idemWantFresh(t, "255-char key", first, http.StatusCreated)
	idemWantReplay(t, "255-char key retry", first, idemPost(e, "/api/v1/messages", "alice", key, body))
}
