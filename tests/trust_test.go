package tests

// Doors an attacker or a careless operator would try: open streams that
// outlive their caller's rights, streams that repeat themselves, text a
// store cannot hold, tokens that outlive a revocation or a key rotation,
// clocks a little apart.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testserver"
)

// trustKeepAlive is the keep-alive of the streams these tests open: short,
// so that a stream checks its caller again within the test's patience.
const trustKeepAlive = 200 * time.Millisecond

func withKeepAlive(d time.Duration) func(*config.Config) {
	return func(c *config.Config) { c.StreamKeepAlive = d }
}

// evEnd reads the stream until it ends, for at most d, and returns the
// comments and the events it sent meanwhile. ended is false when the
// stream was still open after d.
func (s *evStream) evEnd(d time.Duration) (comments, events []string, ended bool) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		f, ok := s.frame(time.Until(deadline))
		if !ok {
			select {
			case <-s.done:
				return comments, events, true
			default:
				return comments, events, false
			}
		}
		comments = append(comments, f.Comments...)
		if f.HasID {
			events = append(events, f.Event+"#"+f.ID)
		}
	}
}

// TestStreamEndsWhenCallerChanges: an open stream checks its caller again
// on every wake and keep-alive, and ends, without delivering, once the
// caller may no longer see what it saw.
func TestStreamEndsWhenCallerChanges(t *testing.T) {
	cases := []struct {
		name string
		// change takes bob's rights away; send says whether a message to
		// bob wakes the stream afterwards (else a keep-alive must do).
		change func(t *testing.T, e *senv, root *agcomv1.ClientWithResponses)
		send   bool
		reason string
	}{
		{"disabled, then a message", disableBob, true, "agent is disabled"},
		{"disabled, quiet", disableBob, false, "agent is disabled"},
		{"tokens revoked", func(t *testing.T, e *senv, root *agcomv1.ClientWithResponses) {
			if r, err := root.RevokeAgentTokensWithResponse(context.Background(), "bob"); err != nil || r.JSON200 == nil {
				t.Fatalf("revoke bob's tokens: %v %v", err, r.Status())
			}
		}, true, "revoked"},
		{"secret rotated", func(t *testing.T, e *senv, root *agcomv1.ClientWithResponses) {
			r, err := root.RotateAgentSecretWithResponse(context.Background(), "bob")
			if err != nil || r.JSON200 == nil {
				t.Fatalf("rotate bob's secret: %v %v", err, r.Status())
			}
			e.remember(r.JSON200.AgentSecret)
		}, true, "revoked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSEnv(t, withAdmin(rootHandle, rootSecret), withKeepAlive(trustKeepAlive))
			root := e.rootClient()
			bob := e.createAgent(root, "bob", false)
			stream := evOpen(t, e.env, e.login("bob", bob.AgentSecret), "", "")
			e.send("alice", []string{"bob"}, "before", "seen")
			stream.must("the message sent before the change")

			tc.change(t, e, root)
			if tc.send {
				e.send("alice", []string{"bob"}, "after", "must not be seen")
			}
			comments, events, ended := stream.evEnd(evQuick)
			if len(events) > 0 {
				t.Errorf("stream delivered %v after bob lost his rights", events)
			}
			if !ended {
				t.Fatalf("stream still open %s after the change", evQuick)
			}
			if !strings.Contains(strings.Join(comments, "\n"), tc.reason) {
				t.Errorf("closing comments %q, want one saying %q", comments, tc.reason)
			}
		})
	}
}

func disableBob(t *testing.T, _ *senv, root *agcomv1.ClientWithResponses) {
	t.Helper()
	if r, err := root.UpdateAgentWithResponse(context.Background(), "bob", agcomv1.AgentUpdate{Disabled: ptr(true)}); err != nil || r.JSON200 == nil {
		t.Fatalf("disable bob: %v", err)
	}
}

// TestStreamEndsWhenTokenExpires: a stream ends once its token expires.
func TestStreamEndsWhenTokenExpires(t *testing.T) {
	e := newEnv(t, withKeepAlive(trustKeepAlive), func(c *config.Config) { c.ClockSkew = 0 })
	tok, err := e.App.Keys.Mint("bob", "", 1500*time.Millisecond, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stream := evOpen(t, e, tok, "", "")
	time.Sleep(1600 * time.Millisecond)
	e.send("alice", []string{"bob"}, "late", "after the token expired")
	comments, events, ended := stream.evEnd(evQuick)
	if len(events) > 0 || !ended {
		t.Fatalf("after expiry: events %v, ended %v; want none, ended", events, ended)
	}
	if !strings.Contains(strings.Join(comments, "\n"), "expired") {
		t.Errorf("closing comments %q, want one about the expired token", comments)
	}
}

// TestStreamEndsWhenAdminDemoted: a demoted admin loses the admin's view
// of every thread at once, in an open stream too.
func TestStreamEndsWhenAdminDemoted(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret), withKeepAlive(time.Minute))
	root := e.rootClient()
	boss := e.createAgent(root, "boss", true)
	stream := evOpen(t, e.env, e.login("boss", boss.AgentSecret), "", "")
	e.send("alice", []string{"carol"}, "private", "boss sees it as an admin")
	stream.must("a message between others, seen as an admin")

	if r, err := root.UpdateAgentWithResponse(context.Background(), "boss", agcomv1.AgentUpdate{IsAdmin: ptr(false)}); err != nil || r.JSON200 == nil {
		t.Fatalf("demote boss: %v", err)
	}
	e.send("alice", []string{"carol"}, "private again", "boss must not see it")
	_, events, ended := stream.evEnd(evQuick)
	if len(events) > 0 || !ended {
		t.Fatalf("after demotion: events %v, ended %v; want none, ended", events, ended)
	}
}

// TestLongPollRechecksCaller: a waiting long-poll woken after its agent
// was disabled answers 401, not the new events.
func TestLongPollRechecksCaller(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	root := e.rootClient()
	bob := e.createAgent(root, "bob", false)
	tok := e.login("bob", bob.AgentSecret)
	head := evHead(t, e.env, tok)
	type answer struct {
		resp *http.Response
		body []byte
	}
	done := make(chan answer, 1)
	go func() {
		resp, body, _ := evGet(t, e.env, tok, "after="+head+"&wait=20")
		done <- answer{resp, body}
	}()
	time.Sleep(300 * time.Millisecond) // let the poll start waiting
	disableBob(t, e, root)
	e.send("alice", []string{"bob"}, "after", "must not be seen")
	select {
	case a := <-done:
		wantError(t, a.resp, a.body, http.StatusUnauthorized, "AuthenticationError")
	case <-time.After(10 * time.Second):
		t.Fatal("the long-poll still waits 10 s after the wake")
	}
}

// TestStreamKeepAliveDoesNotRepeat: keep-alives never send a batch again.
func TestStreamKeepAliveDoesNotRepeat(t *testing.T) {
	e := newEnv(t, withKeepAlive(50*time.Millisecond))
	tok := e.token("bob")
	head := evHead(t, e, tok)
	for i := 0; i < 3; i++ {
		e.send("alice", []string{"bob"}, "backlog", "one of three")
	}
	stream := evOpen(t, e, tok, head, "")
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		seen[stream.must("the backlog").Cursor] = true
	}
	// Many keep-alives pass: each one used to send the last batch again.
	keepAlives := 0
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) {
		f, ok := stream.frame(time.Until(deadline))
		if !ok {
			break
		}
		if f.HasID {
			t.Fatalf("event %s %s sent again after a keep-alive", f.Event, f.ID)
		}
		keepAlives += len(f.Comments)
	}
	if keepAlives < 3 {
		t.Fatalf("%d keep-alives in 600 ms at one per 50 ms; want several", keepAlives)
	}
	e.send("alice", []string{"bob"}, "live", "the fourth")
	if ev := stream.must("the live message"); seen[ev.Cursor] {
		t.Fatalf("live event has an old cursor %s", ev.Cursor)
	}
	stream.none(200*time.Millisecond, "exactly one live event")
}

// TestEventStreamLimits: streams and waiting long-polls are bounded per
// agent and in all, with 429 and the limit in the envelope.
func TestEventStreamLimits(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.StreamsPerAgent, c.Streams = 2, 3 })
	bob, alice, carol := e.token("bob"), e.token("alice"), e.token("carol")
	first := evOpen(t, e, bob, "", "")
	evOpen(t, e, bob, "", "")
	wantLimit := func(t *testing.T, resp *http.Response, body []byte, scope string, limit int) {
		t.Helper()
		eb := wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
		hardRetryAfter(t, resp, body)
		if eb.Details == nil || (*eb.Details)["scope"] != scope || (*eb.Details)["limit"] != float64(limit) {
			t.Errorf("details = %v, want scope %s, limit %d", eb.Details, scope, limit)
		}
	}
	resp, body := evStreamError(t, e, bob, "", "")
	wantLimit(t, resp, body, "agent", 2)
	// A waiting long-poll counts as a stream; one that does not wait does not.
	resp, body, _ = evGet(t, e, bob, "wait=1")
	wantLimit(t, resp, body, "agent", 2)
	if resp, body, _ := evGet(t, e, bob, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("a long-poll without wait: status %d, body %s", resp.StatusCode, body)
	}

	evOpen(t, e, alice, "", "")
	resp, body = evStreamError(t, e, carol, "", "")
	wantLimit(t, resp, body, "server", 3)

	// A closed stream gives its slot back.
	first.close()
	deadline := time.Now().Add(evQuick)
	for {
		resp, cancel := evStreamRequest(t, e, carol, "", "")
		ok := resp.StatusCode == http.StatusOK
		cancel()
		resp.Body.Close()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot %s after a stream closed: status %d", evQuick, resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNULRejected: text with U+0000, which PostgreSQL cannot store, is a
// 400 ValidationError on every store, wherever it is sent.
func TestNULRejected(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	msg := e.send("alice", []string{"bob"}, "s", "b")
	cases := []struct {
		name, method, path, body string
	}{
		{"message body", "POST", "/api/v1/messages", `{"to_handles":["bob"],"subject":"s","body":"a\u0000b"}`},
		{"message subject", "POST", "/api/v1/messages", `{"to_handles":["bob"],"subject":"\u0000","body":"b"}`},
		{"reply", "POST", "/api/v1/messages/" + msg.MessageId + "/reply", `{"body":"x\u0000"}`},
		{"broadcast", "POST", "/api/v1/messages/broadcast", `{"to_handles":["bob"],"subject":"s","body":"\u0000"}`},
		{"metadata key", "PUT", "/api/v1/threads/" + msg.ThreadId + "/metadata", `{"key":"k\u0000","value":"v"}`},
		{"metadata value", "PUT", "/api/v1/threads/" + msg.ThreadId + "/metadata", `{"key":"k","value":"v\u0000"}`},
		{"contact", "POST", "/api/v1/contacts", `{"handle":"dave","display_name":"D\u0000"}`},
		{"search query", "GET", "/api/v1/messages/search?query=a%00b", ""},
		{"contact search", "GET", "/api/v1/contacts/search?query=%00", ""},
		{"metadata key in the path", "GET", "/api/v1/threads/" + msg.ThreadId + "/metadata/k%00", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, alice, tc.body)
			eb := wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
			if !strings.Contains(eb.Message, "NUL") {
				t.Errorf("message %q, want it to name the NUL character", eb.Message)
			}
		})
	}
	// The six characters of the escape, as text, are fine.
	text := `a\u0000b`
	b, _ := json.Marshal(map[string]any{"to_handles": []string{"bob"}, "subject": "escape", "body": text})
	resp, body := e.do("POST", "/api/v1/messages", alice, string(b))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a backslash-u as text: status %d, body %s", resp.StatusCode, body)
	}
	var got agcomv1.Message
	if err := json.Unmarshal(body, &got); err != nil || got.Body != text {
		t.Errorf("stored body %q (%v), want %q", got.Body, err, text)
	}
}

// TestRevokeTokens: revoking an agent's tokens (or rotating its secret)
// ends every earlier token at once, on every node of the store; a new
// login works.
func TestRevokeTokens(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	ctx := context.Background()
	root := e.rootClient()
	bob := e.createAgent(root, "bob", false)
	before := e.login("bob", bob.AgentSecret)
	minted := e.token("bob") // minted with the key: generation 0

	// A second node on the same database.
	other := testserver.New(t, testserver.Options{Config: []func(*config.Config){func(c *config.Config) {
		c.DBPath, c.DatabaseURL = e.App.Config.DBPath, e.App.Config.DatabaseURL
	}}})
	otherEnv := &env{t: t, URL: other.URL, App: other.App}
	for _, node := range []*env{e.env, otherEnv} {
		if got := listThreads(t, node.clientWithToken(before)); got.Pagination.Total != 0 {
			t.Fatalf("bob's token before the revocation: %+v", got)
		}
	}

	// Only admins may revoke; an unknown handle is 404.
	if r, err := e.clientWithToken(before).RevokeAgentTokensWithResponse(ctx, "bob"); err != nil {
		t.Fatal(err)
	} else {
		wantError(t, r.HTTPResponse, r.Body, http.StatusForbidden, "PermissionDenied")
	}
	if r, err := root.RevokeAgentTokensWithResponse(ctx, "nobody"); err != nil {
		t.Fatal(err)
	} else {
		wantError(t, r.HTTPResponse, r.Body, http.StatusNotFound, "NotFound")
	}

	r, err := root.RevokeAgentTokensWithResponse(ctx, "bob")
	if err != nil || r.JSON200 == nil || r.JSON200.Handle != "bob" {
		t.Fatalf("revoke: %v, status %d, body %s", err, r.StatusCode(), r.Body)
	}
	for _, node := range []*env{e.env, otherEnv} {
		for name, tok := range map[string]string{"issued": before, "minted": minted} {
			resp, body := node.do("GET", "/api/v1/threads", tok, "")
			eb := wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
			if !strings.Contains(eb.Message, "revoked") {
				t.Errorf("%s token on %s: message %q, want it to say revoked", name, node.URL, eb.Message)
			}
		}
	}
	after := e.login("bob", bob.AgentSecret)
	for _, node := range []*env{e.env, otherEnv} {
		listThreads(t, node.clientWithToken(after))
	}
	page := auditEvents(t, root, agcomv1.ListAuditEventsParams{EventType: ptr(agcomv1.AuditEventType("agent_tokens_revoke"))})
	if len(page.Events) != 1 || str(page.Events[0].ActorHandle) != rootHandle || str(page.Events[0].TargetHandle) != "bob" {
		t.Errorf("agent_tokens_revoke events = %+v, want one by %s on bob", page.Events, rootHandle)
	}
}

// TestKeyRotation: with SECRET_KEY_PREVIOUS, tokens signed with the
// previous key keep working while new ones are signed with the new key.
func TestKeyRotation(t *testing.T) {
	const oldKey, newKey = testSecretKey, "a-brand-new-signing-key-0123456789abcdef"
	old := newEnv(t)
	oldToken := old.token("alice")

	rotated := newEnv(t, func(c *config.Config) { c.SecretKey, c.SecretKeyPrevious = newKey, oldKey })
	listThreads(t, rotated.clientWithToken(oldToken))
	newToken := rotated.token("alice")
	msg, err := jws.Parse([]byte(newToken))
	if err != nil {
		t.Fatal(err)
	}
	if kid, _ := msg.Signatures()[0].ProtectedHeaders().KeyID(); kid == "" || kid != rotated.App.Keys.KeyID() || kid == old.App.Keys.KeyID() {
		t.Errorf("new token's kid = %q, want the new key's id %q", kid, rotated.App.Keys.KeyID())
	}
	// A token without a kid, signed with either accepted key, verifies.
	now := time.Now()
	noKid := signHS(t, jwa.HS256(), oldKey, func(b *jwt.Builder) *jwt.Builder {
		return b.Claim("agent_handle", "alice").IssuedAt(now).Expiration(now.Add(time.Hour))
	})
	listThreads(t, rotated.clientWithToken(noKid))

	// Once the previous key is dropped, its tokens stop working.
	done := newEnv(t, func(c *config.Config) { c.SecretKey = newKey })
	listThreads(t, done.clientWithToken(newToken))
	for _, tok := range []string{oldToken, noKid} {
		resp, body := done.do("GET", "/api/v1/threads", tok, "")
		wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
	}
	// A kid that names the other accepted key does not verify.
	wrongKid := signWithKid(t, oldKey, rotated.App.Keys.KeyID())
	resp, body := rotated.do("GET", "/api/v1/threads", wrongKid, "")
	wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
}

// signWithKid signs a valid token for alice with key, naming kid.
func signWithKid(t *testing.T, key, kid string) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewBuilder().Claim("agent_handle", "alice").IssuedAt(now).Expiration(now.Add(time.Hour)).Build()
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), []byte(key), jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// TestClockSkew: a node a little ahead or behind accepts fresh tokens,
// within JWT_CLOCK_SKEW; beyond it, or with no skew allowed, it refuses.
func TestClockSkew(t *testing.T) {
	mint := func(iat, nbf, exp time.Duration) string {
		now := time.Now()
		return signHS(t, jwa.HS256(), testSecretKey, func(b *jwt.Builder) *jwt.Builder {
			return b.Claim("agent_handle", "alice").IssuedAt(now.Add(iat)).NotBefore(now.Add(nbf)).Expiration(now.Add(exp))
		})
	}
	lenient := newEnv(t) // the default, 30 s
	strict := newEnv(t, func(c *config.Config) { c.ClockSkew = 0 })
	cases := []struct {
		name          string
		token         string
		lenientOK, ok bool
	}{
		{"issued 10 s ahead", mint(10*time.Second, 0, time.Hour), true, false},
		{"not before 10 s ahead", mint(0, 10*time.Second, time.Hour), true, false},
		{"expired 10 s ago", mint(-time.Hour, -time.Hour, -10*time.Second), true, false},
		{"expired a minute ago", mint(-time.Hour, -time.Hour, -time.Minute), false, false},
		{"issued a minute ahead", mint(time.Minute, 0, time.Hour), false, false},
		{"fresh", mint(0, 0, time.Hour), true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, node := range []struct {
				e  *env
				ok bool
			}{{lenient, tc.lenientOK}, {strict, tc.ok}} {
				resp, body := node.e.do("GET", "/api/v1/threads", tc.token, "")
				if node.ok && resp.StatusCode != http.StatusOK {
					t.Errorf("skew %s: status %d, want 200; body %s", node.e.App.Config.ClockSkew, resp.StatusCode, body)
				}
				if !node.ok {
					wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
				}
			}
		})
	}
}
