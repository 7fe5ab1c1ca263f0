package sdk_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

// keyRecorder is an HTTP client that records the Idempotency-Key of
// every POST, and can lose the answer to one after the server acted on
// it: fail decides, from the attempt's number (1 for the first POST),
// what the caller gets instead.
type keyRecorder struct {
	mu   sync.Mutex
	keys []string
	fail func(attempt int, resp *http.Response) (*http.Response, error)
}

func (k *keyRecorder) client() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if r.Method != http.MethodPost || err != nil {
			return resp, err
		}
		k.mu.Lock()
		k.keys = append(k.keys, r.Header.Get("Idempotency-Key"))
		attempt, fail := len(k.keys), k.fail
		k.mu.Unlock()
		if fail != nil {
			return fail(attempt, resp)
		}
		return resp, nil
	})}
}

func (k *keyRecorder) reset(fail func(int, *http.Response) (*http.Response, error)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys, k.fail = nil, fail
}

func (k *keyRecorder) sent() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.keys...)
}

// lost503 replaces the first attempt's answer, after the server acted on
// it, with a 503 from "a proxy".
func lost503(attempt int, resp *http.Response) (*http.Response, error) {
	if attempt > 1 {
		return resp, nil
	}
	resp.Body.Close()
	return &http.Response{
		StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}},
		Body: io.NopCloser(strings.NewReader("upstream timed out")), Request: resp.Request,
	}, nil
}

// lostConnection drops the first attempt's answer, after the server acted
// on it, as if the connection broke.
func lostConnection(attempt int, resp *http.Response) (*http.Response, error) {
	if attempt > 1 {
		return resp, nil
	}
	resp.Body.Close()
	return nil, errors.New("connection reset by peer")
}

func TestIdempotentRetries(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	var rec keyRecorder
	alice := s.client(t, "alice", sdk.WithHTTPClient(rec.client()))
	recordSleeps(alice, nil)
	bob := s.client(t, "bob")
	limitedOnce := func() {
		var once sync.Once
		s.setInject(func(r *http.Request) (int, string, bool) {
			hit := false
			if r.Method == http.MethodPost {
				once.Do(func() { hit = true })
			}
			return http.StatusTooManyRequests, `{"error":{"type":"RateLimitExceeded","message":"slow down","request_id":"x","retry_after":1}}`, hit
		})
	}

	for _, tt := range []struct {
		name  string
		setup func()
		fail  func(int, *http.Response) (*http.Response, error)
	}{
		{"503 after the write", nil, lost503},
		{"connection lost after the write", nil, lostConnection},
		{"429 before the write", limitedOnce, nil},
	} {
		rec.reset(tt.fail)
		s.setInject(nil)
		if tt.setup != nil {
			tt.setup()
		}
		msg, err := alice.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: tt.name, Body: "once"})
		s.setInject(nil)
		if err != nil {
			t.Fatalf("%s: SendMessage: %v, want success on the retry", tt.name, err)
		}
		keys := rec.sent()
		if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
			t.Errorf("%s: Idempotency-Keys sent = %q, want one key, twice", tt.name, keys)
		}
		page, err := bob.Inbox(ctx, &agcomv1.ListInboxParams{Limit: new(100)})
		if err != nil {
			t.Fatal(err)
		}
		var stored []string
		for _, m := range page.Messages {
			if m.Subject == tt.name {
				stored = append(stored, m.MessageId)
			}
		}
		if len(stored) != 1 || stored[0] != msg.MessageId {
			t.Errorf("%s: messages stored = %v, want exactly the one returned, %s", tt.name, stored, msg.MessageId)
		}
	}

	// Every create carries a key of its own.
	rec.reset(nil)
	m, err := alice.SendGroupMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob", "carol"}, Subject: "g", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	calls := []error{err}
	_, err = alice.BroadcastMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob", "carol"}, Subject: "b", Body: "b"})
	calls = append(calls, err)
	_, err = alice.ReplyToMessage(ctx, m.MessageId, agcomv1.ReplyRequest{Body: "r"})
	calls = append(calls, err)
	_, err = alice.ReplyToThread(ctx, m.ThreadId, agcomv1.ReplyRequest{Body: "r"})
	calls = append(calls, err)
	_, err = alice.CreateContact(ctx, agcomv1.ContactCreate{Handle: "dave"})
	calls = append(calls, err)
	for i, err := range calls {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	keys := rec.sent()
	distinct := map[string]bool{}
	for _, k := range keys {
		if k != "" {
			distinct[k] = true
		}
	}
	if len(keys) != 5 || len(distinct) != 5 {
		t.Errorf("keys of 5 creates = %q, want 5 different keys", keys)
	}

	// The caller's own key makes two calls one.
	keyed := sdk.WithIdempotencyKey(ctx, "my-key-1")
	req := agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "keyed", Body: "b"}
	first, err := alice.SendMessage(keyed, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := alice.SendMessage(keyed, req)
	if err != nil || again.MessageId != first.MessageId {
		t.Errorf("repeated keyed send = %v, %v; want the first message %s", again.MessageId, err, first.MessageId)
	}
	req.Body = "different"
	if _, err := alice.SendMessage(keyed, req); !sdk.IsConflict(err) {
		t.Errorf("the key for a different request: %v, want 409 IdempotencyKeyReused", err)
	}
	if keys := rec.sent(); keys[len(keys)-1] != "my-key-1" {
		t.Errorf("keys sent = %q, want the caller's", keys)
	}
}

// Without a key, a write that lost its answer is not sent again.
func TestNoRetryWithoutKey(t *testing.T) {
	s := newServer(t)
	var rec keyRecorder
	rec.reset(lostConnection)
	alice := s.client(t, "alice", sdk.WithHTTPClient(rec.client()))
	recordSleeps(alice, nil)
	_, err := alice.ArchiveThread(context.Background(), "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	if err == nil || len(rec.sent()) != 1 {
		t.Errorf("archive with a lost answer: %v after %d attempts, want the error after 1", err, len(rec.sent()))
	}
}
