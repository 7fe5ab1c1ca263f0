package sdk_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/sdk"
)

func TestTokenAuth(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	alice := s.client(t, "alice")

	msg, err := alice.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "hi", Body: "hello"})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	got, err := s.client(t, "bob").GetMessage(ctx, msg.MessageId)
	if err != nil {
		t.Fatalf("GetMessage as bob: %v", err)
	}
	if got.Body != "hello" || got.FromHandle != "alice" {
		t.Errorf("GetMessage = %+v, want alice's hello", got)
	}
	if tok, err := alice.Token(ctx); err != nil || tok == "" {
		t.Errorf("Token() = %q, %v; want the static token", tok, err)
	}

	for name, opts := range map[string][]sdk.Option{
		"no token":  nil,
		"bad token": {sdk.WithToken("not-a-token")},
	} {
		c, err := sdk.New(s.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListThreads(ctx, nil)
		apiErr, ok := errors.AsType[*sdk.Error](err)
		if !ok || !sdk.IsUnauthorized(err) {
			t.Fatalf("%s: ListThreads error = %v, want a 401 *sdk.Error", name, err)
		}
		if apiErr.Type != agcomv1.AuthenticationError || apiErr.Message == "" || apiErr.RequestID == "" {
			t.Errorf("%s: error = %+v, want AuthenticationError with a message and request id", name, apiErr)
		}
		if _, err := c.Health(ctx); err != nil {
			t.Errorf("%s: Health: %v, want no token needed", name, err)
		}
	}
}

func TestLoginRenewsBeforeExpiry(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.TokenTTL = 20 * time.Second })
	ctx := t.Context()
	c, err := sdk.New(s.URL, sdk.WithLogin("alice", aliceSecret))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	sdk.SetClock(c, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	logins := func() int { return s.seenCount("POST", "/api/v1/auth/token", http.StatusOK) }

	for range 3 {
		if _, err := c.ListThreads(ctx, nil); err != nil {
			t.Fatalf("ListThreads: %v", err)
		}
	}
	if n := logins(); n != 1 {
		t.Fatalf("logins after 3 calls = %d, want 1", n)
	}

	// Well before expiry: the token is kept.
	advance(10 * time.Second)
	if _, err := c.ListThreads(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := logins(); n != 1 {
		t.Fatalf("logins halfway through the token's life = %d, want 1", n)
	}

	// Close to expiry, many goroutines at once: one renewal for all.
	advance(8 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.ListThreads(ctx, nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent ListThreads: %v", err)
		}
	}
	if n := logins(); n != 2 {
		t.Errorf("logins after the renewal point = %d, want 2 (one shared renewal)", n)
	}
	if n := s.seenCount("GET", "/api/v1/threads", http.StatusUnauthorized); n != 0 {
		t.Errorf("%d requests were refused with 401; want the token renewed before it expires", n)
	}
}

func TestLoginAgainWhenTokenRefused(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	c, err := sdk.New(s.URL, sdk.WithLogin("alice", aliceSecret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(ctx); err != nil {
		t.Fatalf("Token: %v", err)
	}
	sdk.ReplaceToken(c, "expired-or-revoked")

	// A write, so the retry must replay the body.
	msg, err := c.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "s", Body: "after relogin"})
	if err != nil {
		t.Fatalf("SendMessage with a refused token: %v, want a new login and success", err)
	}
	if msg.Body != "after relogin" {
		t.Errorf("body = %q", msg.Body)
	}
	if got := s.seenCount("POST", "/api/v1/messages", http.StatusUnauthorized); got != 1 {
		t.Errorf("401s = %d, want 1", got)
	}
	if got := s.seenCount("POST", "/api/v1/auth/token", http.StatusOK); got != 2 {
		t.Errorf("logins = %d, want 2", got)
	}
}

func TestLoginWrongSecret(t *testing.T) {
	s := newServer(t)
	c, err := sdk.New(s.URL, sdk.WithLogin("alice", "wrong-secret"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListThreads(t.Context(), nil)
	if !sdk.IsUnauthorized(err) {
		t.Fatalf("ListThreads with a wrong secret: %v, want 401", err)
	}
	if got := s.seenCount("POST", "/api/v1/auth/token", http.StatusUnauthorized); got != 1 {
		t.Errorf("failed logins = %d, want 1 (no second login after a refused login)", got)
	}
}

// recordSleeps makes c's waits instant and returns the waits asked for.
func recordSleeps(c *sdk.Client, also func()) *[]time.Duration {
	var sleeps []time.Duration
	sdk.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		if also != nil {
			also()
		}
		return ctx.Err()
	})
	return &sleeps
}

func TestRetry429HonoursRetryAfter(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.RateLimits, c.RateWrite = true, 1 })
	ctx := t.Context()
	send := agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "s", Body: "b"}
	c := s.client(t, "alice", sdk.WithRetry(3, time.Minute))
	sleeps := recordSleeps(c, nil)

	if _, err := c.SendMessage(ctx, send); err != nil {
		t.Fatalf("first send: %v", err)
	}
	_, err := c.SendMessage(ctx, send)
	apiErr, ok := errors.AsType[*sdk.Error](err)
	if !ok || !sdk.IsRateLimited(err) || apiErr.Type != agcomv1.RateLimitExceeded {
		t.Fatalf("second send: %v, want RateLimitExceeded after retries", err)
	}
	if apiErr.RetryAfter <= 0 || apiErr.RetryAfter > time.Minute {
		t.Errorf("RetryAfter = %v, want within the minute window", apiErr.RetryAfter)
	}
	if got := s.seenCount("POST", "/api/v1/messages", http.StatusTooManyRequests); got != 3 {
		t.Errorf("429s = %d, want 3 (bounded attempts)", got)
	}
	if len(*sleeps) != 2 {
		t.Fatalf("waits = %v, want 2", *sleeps)
	}
	for _, d := range *sleeps {
		if d < time.Second || d > time.Minute {
			t.Errorf("wait %v, want the server's Retry-After (1s..60s)", d)
		}
	}
	page, err := c.ListMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Pagination.Total != 1 {
		t.Errorf("messages stored = %d, want 1", page.Pagination.Total)
	}

	// A Retry-After longer than the client will wait: no wait at all.
	impatient := s.client(t, "alice", sdk.WithRetry(3, 10*time.Millisecond))
	impatientSleeps := recordSleeps(impatient, nil)
	if _, err := impatient.SendMessage(ctx, send); !sdk.IsRateLimited(err) {
		t.Fatalf("impatient send: %v, want 429", err)
	}
	if len(*impatientSleeps) != 0 {
		t.Errorf("waits = %v, want none", *impatientSleeps)
	}

	// The caller's context ends the wait.
	patient := s.client(t, "alice", sdk.WithRetry(3, time.Minute))
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = patient.SendMessage(short, send)
	if !errors.Is(err, context.DeadlineExceeded) || !sdk.IsRateLimited(err) {
		t.Errorf("send with a short deadline: %v, want the deadline and the 429", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("gave up after %v, want at the deadline", took)
	}
}

func TestRetry429ThenSuccess(t *testing.T) {
	s := newServer(t)
	var once sync.Once
	s.setInject(func(r *http.Request) (int, string, bool) {
		hit := false
		if r.Method == "POST" && r.URL.Path == "/api/v1/messages" {
			once.Do(func() { hit = true })
		}
		return http.StatusTooManyRequests,
			`{"error":{"type":"RateLimitExceeded","message":"slow down","request_id":"x","retry_after":1}}`, hit
	})
	c := s.client(t, "alice")
	sleeps := recordSleeps(c, nil)
	msg, err := c.SendMessage(t.Context(), agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "s", Body: "b"})
	if err != nil {
		t.Fatalf("send: %v, want success on the retry", err)
	}
	if msg.MessageId == "" {
		t.Errorf("no message id")
	}
	if len(*sleeps) != 1 || (*sleeps)[0] != time.Second {
		t.Errorf("waits = %v, want [1s] from Retry-After", *sleeps)
	}
}

func TestRetry503DatabaseBusy(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.DBBusyTimeout = 100 * time.Millisecond })
	ctx := t.Context()
	c := s.client(t, "alice")
	release := holdWriteLock(t, s.App.Config.DBPath)
	sleeps := recordSleeps(c, release)

	msg, err := c.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "s", Body: "busy"})
	if err != nil {
		t.Fatalf("send while the database is busy: %v, want success on the retry", err)
	}
	if got := s.seenCount("POST", "/api/v1/messages", http.StatusServiceUnavailable); got != 1 {
		t.Errorf("503s = %d, want 1", got)
	}
	if len(*sleeps) != 1 || (*sleeps)[0] != time.Second {
		t.Errorf("waits = %v, want [1s] from Retry-After", *sleeps)
	}
	page, err := c.ListMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Pagination.Total != 1 || page.Messages[0].MessageId != msg.MessageId {
		t.Errorf("messages = %+v, want exactly the one sent", page.Messages)
	}
}

// holdWriteLock takes SQLite's write lock on path and returns a function
// that releases it (once).
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("BEGIN IMMEDIATE: %v", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Errorf("ROLLBACK: %v", err)
			}
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

func TestRetryable(t *testing.T) {
	busy := &sdk.Error{Status: 503, Type: agcomv1.DatabaseBusy}
	unavailable := &sdk.Error{Status: 503, Type: agcomv1.ServiceUnavailable}
	limited := &sdk.Error{Status: 429, Type: agcomv1.RateLimitExceeded}
	proxy := &sdk.Error{Status: 503}
	tests := []struct {
		method     string
		idempotent bool
		err        *sdk.Error
		want       bool
	}{
		{"GET", false, busy, true},
		{"GET", false, unavailable, true},
		{"GET", false, proxy, true},
		{"GET", false, limited, true},
		{"POST", false, limited, true},
		{"DELETE", false, limited, true},
		{"POST", false, busy, true},
		{"PUT", false, busy, true},
		{"PATCH", false, busy, true},
		{"POST", false, unavailable, false},
		{"PUT", false, proxy, false},
		{"DELETE", false, unavailable, false},
		{"POST", true, unavailable, true},
		{"POST", true, proxy, true},
	}
	for _, tt := range tests {
		if got := sdk.Retryable(tt.method, tt.idempotent, tt.err); got != tt.want {
			t.Errorf("retryable(%s, key %v, %d %s) = %v, want %v", tt.method, tt.idempotent, tt.err.Status, tt.err.Type, got, tt.want)
		}
	}
}

func TestTypedErrors(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	c := s.client(t, "alice")

	_, err := c.GetThread(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Type != agcomv1.NotFound || !sdk.IsNotFound(err) {
		t.Errorf("GetThread unknown: %v, want 404 NotFound", err)
	}

	_, err = c.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: " ", Body: "b"})
	if !errors.As(err, &apiErr) || !sdk.IsValidation(err) || apiErr.Details["field"] != "subject" {
		t.Errorf("blank subject: %v (details %v), want 400 about the subject", err, apiErr.Details)
	}

	ct, err := c.CreateContact(ctx, agcomv1.ContactCreate{Handle: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContact(ctx, agcomv1.ContactCreate{Handle: "carol"}); !sdk.IsConflict(err) || sdk.IsVersionConflict(err) {
		t.Errorf("duplicate contact: %v, want 409 Conflict", err)
	}
	_, err = c.UpdateContact(ctx, "carol", agcomv1.ContactUpdate{ExpectedVersion: ct.Version + 5})
	if !sdk.IsVersionConflict(err) || !sdk.IsConflict(err) {
		t.Errorf("stale version: %v, want 409 VersionConflict", err)
	}
	if !errors.As(err, &apiErr) || apiErr.RequestID == "" || apiErr.Error() == "" {
		t.Errorf("error = %#v, want a request id", apiErr)
	}

	_, err = s.client(t, "bob").ListAgents(ctx, nil)
	if !sdk.IsForbidden(err) {
		t.Errorf("ListAgents as an ordinary agent: %v, want 403", err)
	}
}

// TestOperations walks through every wrapped operation once.
func TestOperations(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	alice := s.client(t, "alice")
	bob := s.client(t, "bob")
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	group, err := alice.SendGroupMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob", "carol"}, Subject: "plan", Body: "group hello"})
	check("SendGroupMessage", err)
	bc, err := alice.BroadcastMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob", "carol"}, Subject: "news", Body: "broadcast"})
	check("BroadcastMessage", err)
	if bc.Count != 2 {
		t.Errorf("broadcast count = %d, want 2", bc.Count)
	}
	r1, err := bob.ReplyToMessage(ctx, group.MessageId, agcomv1.ReplyRequest{Body: "reply one"})
	check("ReplyToMessage", err)
	r2, err := alice.ReplyToThread(ctx, group.ThreadId, agcomv1.ReplyRequest{Body: "reply two"})
	check("ReplyToThread", err)
	if r2.InReplyTo == nil || *r2.InReplyTo != r1.MessageId {
		t.Errorf("thread reply in_reply_to = %v, want %s", r2.InReplyTo, r1.MessageId)
	}
	th, err := bob.GetThread(ctx, group.ThreadId)
	check("GetThread", err)
	if th.Subject != "plan" {
		t.Errorf("thread subject = %q", th.Subject)
	}
	msgs, err := bob.ListThreadMessages(ctx, group.ThreadId, nil)
	check("ListThreadMessages", err)
	if len(msgs.Messages) != 3 || msgs.Messages[0].MessageId != group.MessageId {
		t.Errorf("thread messages = %d, want 3 oldest first", len(msgs.Messages))
	}
	found, err := bob.SearchMessages(ctx, &agcomv1.SearchMessagesParams{Query: "REPLY"})
	check("SearchMessages", err)
	if found.Count != 2 {
		t.Errorf("search count = %d, want 2", found.Count)
	}

	_, err = alice.PutThreadMetadata(ctx, group.ThreadId, "priority", new("high"))
	check("PutThreadMetadata", err)
	entry, err := bob.GetThreadMetadataKey(ctx, group.ThreadId, "priority")
	check("GetThreadMetadataKey", err)
	if entry.Value != "high" {
		t.Errorf("metadata value = %q", entry.Value)
	}
	_, err = alice.ArchiveThread(ctx, group.ThreadId)
	check("ArchiveThread", err)
	md, err := alice.GetThreadMetadata(ctx, group.ThreadId)
	check("GetThreadMetadata", err)
	if md.Metadata["archived"] != "true" || md.Metadata["priority"] != "high" {
		t.Errorf("metadata = %v", md.Metadata)
	}
	st, err := alice.UnarchiveThread(ctx, group.ThreadId)
	check("UnarchiveThread", err)
	if st.Archived {
		t.Errorf("still archived after UnarchiveThread")
	}
	page, err := bob.ListThreads(ctx, &agcomv1.ListThreadsParams{Limit: new(1)})
	check("ListThreads", err)
	if len(page.Threads) != 1 || page.Threads[0].ThreadId != group.ThreadId || !page.Pagination.HasMore {
		t.Errorf("ListThreads limit 1 = %+v, want the busiest thread first and more to come", page)
	}

	_, err = alice.CreateContact(ctx, agcomv1.ContactCreate{Handle: "bob", DisplayName: new("Bob"), Tags: &[]string{"ops"}})
	check("CreateContact", err)
	ct, err := bob.GetContact(ctx, "bob")
	check("GetContact", err)
	ct, err = bob.UpdateContact(ctx, "bob", agcomv1.ContactUpdate{ExpectedVersion: ct.Version, DisplayName: new("Bobby"), Tags: &[]string{"ops"}})
	check("UpdateContact", err)
	if *ct.DisplayName != "Bobby" {
		t.Errorf("display name = %q", *ct.DisplayName)
	}
	cs, err := alice.SearchContacts(ctx, &agcomv1.SearchContactsParams{Query: new("bob")})
	check("SearchContacts", err)
	if len(cs.Contacts) != 1 {
		t.Errorf("contact search = %d results, want 1", len(cs.Contacts))
	}
	gone, err := alice.DeactivateContact(ctx, "bob")
	check("DeactivateContact", err)
	if gone.IsActive {
		t.Errorf("still active")
	}
	all, err := alice.ListContacts(ctx, &agcomv1.ListContactsParams{ActiveOnly: new(false)})
	check("ListContacts", err)
	if len(all.Contacts) != 1 || all.Contacts[0].IsActive {
		t.Errorf("contacts = %+v, want bob, inactive", all.Contacts)
	}

	events, err := alice.ListAuditEvents(ctx, &agcomv1.ListAuditEventsParams{EventType: new(agcomv1.AuditEventTypeAddressBookUpdate)})
	check("ListAuditEvents", err)
	if len(events.Events) == 0 {
		t.Errorf("no address_book_update events")
	}
	h, err := alice.Health(ctx)
	check("Health", err)
	if h.Status != agcomv1.Healthy {
		t.Errorf("health = %q", h.Status)
	}
	_, err = alice.Readiness(ctx)
	check("Readiness", err)

	// The admin operations, as the bootstrap admin logging in.
	root, err := sdk.New(s.URL, sdk.WithLogin("alice", aliceSecret))
	check("New", err)
	creds, err := root.CreateAgent(ctx, agcomv1.AgentCreate{Handle: "dave"})
	check("CreateAgent", err)
	dave, err := sdk.New(s.URL, sdk.WithLogin("dave", creds.AgentSecret))
	check("New", err)
	_, err = dave.ListThreads(ctx, nil)
	check("ListThreads as dave", err)
	_, err = root.UpdateAgent(ctx, "dave", agcomv1.AgentUpdate{DisplayName: new("Dave")})
	check("UpdateAgent", err)
	_, err = root.RotateAgentSecret(ctx, "dave")
	check("RotateAgentSecret", err)
	revoked, err := root.RevokeAgentTokens(ctx, "dave")
	check("RevokeAgentTokens", err)
	if revoked.Handle != "dave" {
		t.Errorf("RevokeAgentTokens returned %q, want dave", revoked.Handle)
	}
	agents, err := root.ListAgents(ctx, nil)
	check("ListAgents", err)
	if len(agents.Agents) != 2 {
		t.Errorf("agents = %d, want 2", len(agents.Agents))
	}
	stats, err := root.GetStats(ctx)
	check("GetStats", err)
	if stats.Threads != 3 {
		t.Errorf("stats threads = %d, want 3", stats.Threads)
	}
	// The escape hatch carries the same authentication.
	raw, err := root.API().GetStatsWithResponse(ctx)
	check("API().GetStats", err)
	if raw.JSON200 == nil {
		t.Errorf("API().GetStats: status %d", raw.StatusCode())
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		base, want string
	}{
		{"http://127.0.0.1:8000", "http://127.0.0.1:8000/api/v1"},
		{"http://127.0.0.1:8000/", "http://127.0.0.1:8000/api/v1"},
		{"https://agcom.example/api/v1/", "https://agcom.example/api/v1"},
		{"https://example.com/agcom", "https://example.com/agcom/api/v1"},
	} {
		if got, err := sdk.APIURL(tt.base); err != nil || got != tt.want {
			t.Errorf("apiURL(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
	for name, args := range map[string]struct {
		base string
		opts []sdk.Option
	}{
		"no scheme":         {"localhost:8000", nil},
		"token and login":   {"http://x", []sdk.Option{sdk.WithToken("t"), sdk.WithLogin("a", "b")}},
		"func and token":    {"http://x", []sdk.Option{sdk.WithTokenFunc(func(context.Context) (string, error) { return "", nil }), sdk.WithAPIKey("agk_x")}},
		"login w/o secret":  {"http://x", []sdk.Option{sdk.WithLogin("a", "")}},
		"no attempts":       {"http://x", []sdk.Option{sdk.WithRetry(0, time.Second)}},
		"not http":          {"ftp://x", nil},
		"unparseable":       {"http://[::1", nil},
		"empty":             {"", nil},
		"negative max wait": {"http://x", []sdk.Option{sdk.WithRetry(2, -time.Second)}},
	} {
		if _, err := sdk.New(args.base, args.opts...); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}
