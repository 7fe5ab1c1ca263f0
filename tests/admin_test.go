package tests

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

// agentHandles lists the handles of agents, in order.
func agentHandles(as []agcomv1.Agent) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Handle
	}
	return out
}

func TestAdminCreateAgent(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	ctx := context.Background()
	root := e.rootClient()

	tests := []struct {
		name        string
		body        agcomv1.AgentCreate
		wantStatus  int
		wantType    string
		wantAdmin   bool
		wantDisplay string
	}{
		{"create201 plain", agcomv1.AgentCreate{Handle: "bob", DisplayName: ptr("Bob")}, http.StatusCreated, "", false, "Bob"},
		{"create201 admin", agcomv1.AgentCreate{Handle: "ann", IsAdmin: ptr(true)}, http.StatusCreated, "", true, "<null>"},
		{"create409 duplicate", agcomv1.AgentCreate{Handle: "bob"}, http.StatusConflict, "Conflict", false, ""},
		{"create409 bootstrap admin", agcomv1.AgentCreate{Handle: rootHandle}, http.StatusConflict, "Conflict", false, ""},
	}
	secrets := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := root.CreateAgentWithResponse(ctx, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantStatus != http.StatusCreated {
				wantError(t, resp.HTTPResponse, resp.Body, tt.wantStatus, tt.wantType)
				return
			}
			if resp.JSON201 == nil {
				t.Fatalf("status = %d, want 201; body %s", resp.StatusCode(), resp.Body)
			}
			got := resp.JSON201
			e.remember(got.AgentSecret)
			secrets[tt.body.Handle] = got.AgentSecret
			if got.Agent.Handle != tt.body.Handle || got.Agent.IsAdmin != tt.wantAdmin || got.Agent.Disabled ||
				str(got.Agent.DisplayName) != tt.wantDisplay {
				t.Errorf("agent = %+v (display %s), want %s admin=%t enabled display %s",
					got.Agent, str(got.Agent.DisplayName), tt.body.Handle, tt.wantAdmin, tt.wantDisplay)
			}
			if len(got.AgentSecret) < 32 {
				t.Errorf("agent_secret = %q, want at least 32 characters", got.AgentSecret)
			}
			// The secret works at the token endpoint.
			tok := e.login(tt.body.Handle, got.AgentSecret)
			if c := jwtClaims(t, tok); c["agent_handle"] != tt.body.Handle {
				t.Errorf("token agent_handle = %v, want %s", c["agent_handle"], tt.body.Handle)
			}
		})
	}
	if secrets["bob"] != "" && secrets["bob"] == secrets["ann"] {
		t.Errorf("two agents got the same secret")
	}

	// A failed duplicate changed nothing: bob's secret still works, root is still admin.
	e.login("bob", secrets["bob"])
	e.login(rootHandle, rootSecret)

	t.Run("list", func(t *testing.T) {
		resp, body := e.do(http.MethodGet, "/api/v1/admin/agents", e.login(rootHandle, rootSecret), "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		for h, s := range secrets {
			if strings.Contains(string(body), s) {
				t.Errorf("GET /admin/agents shows %s's secret", h)
			}
		}
		if strings.Contains(string(body), hashMarker) || strings.Contains(string(body), "secret") {
			t.Errorf("GET /admin/agents shows secret material: %s", body)
		}
		list, err := root.ListAgentsWithResponse(ctx, &agcomv1.ListAgentsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if list.JSON200 == nil {
			t.Fatalf("status %d: %s", list.StatusCode(), list.Body)
		}
		if got, want := agentHandles(list.JSON200.Agents), []string{"ann", "bob", rootHandle}; !slices.Equal(got, want) {
			t.Errorf("agents = %v, want %v (by handle)", got, want)
		}
		if list.JSON200.Pagination.Total != 3 {
			t.Errorf("total = %d, want 3", list.JSON200.Pagination.Total)
		}
		page, err := root.ListAgentsWithResponse(ctx, &agcomv1.ListAgentsParams{Limit: ptr(1), Offset: ptr(1)})
		if err != nil {
			t.Fatal(err)
		}
		if page.JSON200 == nil {
			t.Fatalf("status %d: %s", page.StatusCode(), page.Body)
		}
		if got := agentHandles(page.JSON200.Agents); !slices.Equal(got, []string{"bob"}) || !page.JSON200.Pagination.HasMore ||
			page.JSON200.Pagination.Total != 3 {
			t.Errorf("page limit 1 offset 1 = %v %+v, want [bob] total 3 has_more", got, page.JSON200.Pagination)
		}
	})
}

func TestAdminUpdateAgent(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	root := e.rootClient()
	bob := e.createAgent(root, "bob", false)

	tests := []struct {
		name        string
		handle      string
		body        string
		wantStatus  int
		wantType    string
		wantAdmin   bool
		wantOff     bool
		wantDisplay string
	}{
		{"patch200 display_name", "bob", `{"display_name": "Robert"}`, http.StatusOK, "", false, false, "Robert"},
		{"patch200 is_admin", "bob", `{"is_admin": true}`, http.StatusOK, "", true, false, "Robert"},
		{"patch200 disabled", "bob", `{"disabled": true}`, http.StatusOK, "", true, true, "Robert"},
		{"patch200 all three", "bob", `{"disabled": false, "is_admin": false, "display_name": "Bob"}`, http.StatusOK, "", false, false, "Bob"},
		{"patch404 unknown", "nobody", `{"is_admin": true}`, http.StatusNotFound, "NotFound", false, false, ""},
		{"patch400 empty", "bob", `{}`, http.StatusBadRequest, "ValidationError", false, false, ""},
		{"patch400 blank display_name", "bob", `{"display_name": "   "}`, http.StatusBadRequest, "ValidationError", false, false, ""},
		{"patch400 secret is not patchable", "bob", `{"agent_secret": "mine"}`, http.StatusBadRequest, "ValidationError", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPatch, "/api/v1/admin/agents/"+tt.handle, e.login(rootHandle, rootSecret), tt.body)
			if tt.wantStatus != http.StatusOK {
				wantError(t, resp, body, tt.wantStatus, tt.wantType)
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
			}
			list, err := root.ListAgentsWithResponse(context.Background(), &agcomv1.ListAgentsParams{})
			if err != nil || list.JSON200 == nil {
				t.Fatalf("list agents: %v", err)
			}
			i := slices.Index(agentHandles(list.JSON200.Agents), tt.handle)
			if i < 0 {
				t.Fatalf("%s is not listed", tt.handle)
			}
			got := list.JSON200.Agents[i]
			if got.IsAdmin != tt.wantAdmin || got.Disabled != tt.wantOff || str(got.DisplayName) != tt.wantDisplay {
				t.Errorf("after PATCH: admin %t disabled %t display %s; want %t %t %s",
					got.IsAdmin, got.Disabled, str(got.DisplayName), tt.wantAdmin, tt.wantOff, tt.wantDisplay)
			}
			if got.UpdatedAt.Before(got.CreatedAt) {
				t.Errorf("updated_at %v is before created_at %v", got.UpdatedAt, got.CreatedAt)
			}
		})
	}
	// The secret never changed through PATCH.
	e.login("bob", bob.AgentSecret)
}

func TestAdminRotateSecret(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	ctx := context.Background()
	root := e.rootClient()
	old := e.createAgent(root, "bob", false)
	oldToken := e.login("bob", old.AgentSecret)

	resp, err := root.RotateAgentSecretWithResponse(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("rotate: status %d, want 200; body %s", resp.StatusCode(), resp.Body)
	}
	rotated := resp.JSON200
	e.remember(rotated.AgentSecret)
	if rotated.AgentSecret == "" || rotated.AgentSecret == old.AgentSecret {
		t.Fatalf("new secret %q, want a fresh one", rotated.AgentSecret)
	}
	if rotated.Agent.Handle != "bob" {
		t.Errorf("rotate returned agent %q, want bob", rotated.Agent.Handle)
	}

	tests := []struct {
		name       string
		secret     string
		wantStatus int
	}{
		{"old secret401", old.AgentSecret, http.StatusUnauthorized},
		{"new secret200", rotated.AgentSecret, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.issueToken("bob", tt.secret)
			if tt.wantStatus == http.StatusOK {
				if r.JSON200 == nil {
					t.Fatalf("status = %d, want 200; body %s", r.StatusCode(), r.Body)
				}
				return
			}
			wantError(t, r.HTTPResponse, r.Body, tt.wantStatus, "AuthenticationError")
		})
	}
	// Rotation ends the tokens issued before it, too.
	resp401, body := e.do("GET", "/api/v1/threads", oldToken, "")
	wantError(t, resp401, body, http.StatusUnauthorized, "AuthenticationError")

	r404, err := root.RotateAgentSecretWithResponse(ctx, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r404.HTTPResponse, r404.Body, http.StatusNotFound, "NotFound")

	// Admin changes are audited, without secrets (the scanner checks this body
	// too), and so is the failed login with the old secret, aimed at bob.
	audit := auditEvents(t, root, agcomv1.ListAuditEventsParams{TargetHandle: ptr("bob")})
	var types []string
	for _, ev := range audit.Events {
		types = append(types, string(ev.EventType))
		if str(ev.ActorHandle) != rootHandle && ev.EventType != agcomv1.AuditEventTypeTokenIssueFailure {
			t.Errorf("%s event by %q, want by %s", ev.EventType, str(ev.ActorHandle), rootHandle)
		}
	}
	if want := []string{"token_issue_failure", "agent_secret_rotate", "agent_create"}; !slices.Equal(types, want) {
		t.Errorf("audit events aimed at bob = %v, want %v", types, want)
	}
}

func TestAdminStats(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	ctx := context.Background()
	root := e.rootClient()
	stats := func(t *testing.T) agcomv1.Stats {
		t.Helper()
		r, err := root.GetStatsWithResponse(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.JSON200 == nil {
			t.Fatalf("stats: status %d: %s", r.StatusCode(), r.Body)
		}
		return *r.JSON200
	}

	steps := []struct {
		name string
		act  func(t *testing.T)
		want agcomv1.Stats
	}{
		{"empty but for the admin", func(t *testing.T) {}, agcomv1.Stats{Agents: 1}},
		{"a send: one thread, one message", func(t *testing.T) {
			e.send("alice", []string{"bob", "carol"}, "One", "first")
		}, agcomv1.Stats{Threads: 1, Messages: 1, Agents: 1}},
		{"a reply: one more message, no thread", func(t *testing.T) {
			m := e.send("alice", []string{"bob"}, "Two", "second")
			r, err := e.client("bob").ReplyToMessageWithResponse(ctx, m.MessageId, nil, agcomv1.ReplyRequest{Body: "re"})
			if err != nil || r.JSON201 == nil {
				t.Fatalf("reply: %v", err)
			}
		}, agcomv1.Stats{Threads: 2, Messages: 3, Agents: 1}},
		{"a broadcast to two: two threads", func(t *testing.T) {
			r, err := e.client("carol").BroadcastMessageWithResponse(ctx, nil, agcomv1.SendMessageRequest{
				ToHandles: []string{"alice", "bob"}, Subject: "All", Body: "hello all",
			})
			if err != nil || r.JSON201 == nil {
				t.Fatalf("broadcast: %v", err)
			}
		}, agcomv1.Stats{Threads: 4, Messages: 5, Agents: 1}},
		{"registered agents", func(t *testing.T) {
			e.createAgent(root, "bob", false)
			e.createAgent(root, "carol", true)
		}, agcomv1.Stats{Threads: 4, Messages: 5, Agents: 3}},
		{"contacts", func(t *testing.T) {
			createContact(t, e.client("alice"), agcomv1.ContactCreate{Handle: "dave"})
			createContact(t, e.client("alice"), agcomv1.ContactCreate{Handle: "erin"})
		}, agcomv1.Stats{Threads: 4, Messages: 5, Agents: 3, Contacts: 2}},
		{"tokens minted for unregistered handles add no agent", func(t *testing.T) {
			listThreads(t, e.client("someone-new"))
		}, agcomv1.Stats{Threads: 4, Messages: 5, Agents: 3, Contacts: 2}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.act(t)
			if got := stats(t); got != st.want {
				t.Errorf("stats = %+v, want %+v", got, st.want)
			}
		})
	}
}

func TestAdminEndpointsForbidden(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	root := e.rootClient()
	bob := e.createAgent(root, "bob", false)
	callers := []struct {
		name  string
		token string
	}{
		{"registered non-admin", e.login("bob", bob.AgentSecret)},
		{"unregistered minted token", e.token("alice")},
	}
	endpoints := []struct {
		method, path, body string
	}{
		{http.MethodGet, "/api/v1/admin/agents", ""},
		{http.MethodPost, "/api/v1/admin/agents", `{"handle": "zed", "is_admin": true}`},
		{http.MethodPatch, "/api/v1/admin/agents/bob", `{"is_admin": true}`},
		{http.MethodPatch, "/api/v1/admin/agents/root", `{"disabled": true}`},
		{http.MethodPost, "/api/v1/admin/agents/root/rotate-secret", ""},
		{http.MethodGet, "/api/v1/admin/stats", ""},
	}
	for _, c := range callers {
		for _, ep := range endpoints {
			t.Run(c.name+" "+ep.method+" "+ep.path, func(t *testing.T) {
				resp, body := e.do(ep.method, ep.path, c.token, ep.body)
				wantError(t, resp, body, http.StatusForbidden, "PermissionDenied")
			})
		}
	}

	// Nothing the forbidden calls asked for happened.
	list, err := root.ListAgentsWithResponse(context.Background(), &agcomv1.ListAgentsParams{})
	if err != nil || list.JSON200 == nil {
		t.Fatalf("list agents: %v", err)
	}
	if got := agentHandles(list.JSON200.Agents); !slices.Equal(got, []string{"bob", rootHandle}) {
		t.Errorf("agents = %v, want [bob root]: a forbidden create went through", got)
	}
	for _, a := range list.JSON200.Agents {
		if a.Handle == "bob" && a.IsAdmin {
			t.Errorf("bob became an admin through a forbidden PATCH")
		}
		if a.Handle == rootHandle && (a.Disabled || !a.IsAdmin) {
			t.Errorf("root changed through a forbidden PATCH: %+v", a)
		}
	}
	e.login(rootHandle, rootSecret) // the forbidden rotation did not change root's secret
}

func TestAdminStatusIsLive(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	ctx := context.Background()
	root := e.rootClient()
	x := e.createAgent(root, "xavier", false)
	tokX := e.login("xavier", x.AgentSecret) // issued once, used throughout
	xc := e.clientWithToken(tokX)

	others := e.send("alice", []string{"bob"}, "Not for xavier", "private")
	own := e.send("xavier", []string{"carol"}, "Xavier's", "mine")

	steps := []struct {
		name        string
		patch       agcomv1.AgentUpdate
		wantStatus  int // of GET /threads with the same token
		wantThreads []string
		wantOthers  int // status of GET /threads/{others}
		wantStats   int // status of GET /admin/stats
		wantLogin   int // status of POST /auth/token with xavier's secret
	}{
		{"before any change", agcomv1.AgentUpdate{}, http.StatusOK, []string{own.ThreadId},
			http.StatusNotFound, http.StatusForbidden, http.StatusOK},
		{"promoted", agcomv1.AgentUpdate{IsAdmin: ptr(true)}, http.StatusOK, []string{own.ThreadId, others.ThreadId},
			http.StatusOK, http.StatusOK, http.StatusOK},
		{"demoted", agcomv1.AgentUpdate{IsAdmin: ptr(false)}, http.StatusOK, []string{own.ThreadId},
			http.StatusNotFound, http.StatusForbidden, http.StatusOK},
		{"disabled", agcomv1.AgentUpdate{Disabled: ptr(true)}, http.StatusUnauthorized, nil,
			http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized},
		{"enabled", agcomv1.AgentUpdate{Disabled: ptr(false)}, http.StatusOK, []string{own.ThreadId},
			http.StatusNotFound, http.StatusForbidden, http.StatusOK},
		{"disabled while admin", agcomv1.AgentUpdate{IsAdmin: ptr(true), Disabled: ptr(true)}, http.StatusUnauthorized, nil,
			http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.patch != (agcomv1.AgentUpdate{}) {
				r, err := root.UpdateAgentWithResponse(ctx, "xavier", st.patch)
				if err != nil || r.JSON200 == nil {
					t.Fatalf("PATCH xavier: %v", err)
				}
			}
			resp, err := xc.ListThreadsWithResponse(ctx, &agcomv1.ListThreadsParams{})
			if err != nil {
				t.Fatal(err)
			}
			if st.wantStatus != http.StatusOK {
				wantError(t, resp.HTTPResponse, resp.Body, st.wantStatus, "AuthenticationError")
			} else {
				if resp.JSON200 == nil {
					t.Fatalf("GET /threads: status %d, want 200; body %s", resp.StatusCode(), resp.Body)
				}
				var ids []string
				for _, th := range resp.JSON200.Threads {
					ids = append(ids, th.ThreadId)
				}
				slices.Sort(ids)
				want := slices.Sorted(slices.Values(st.wantThreads))
				if !slices.Equal(ids, want) || resp.JSON200.Pagination.Total != len(want) {
					t.Errorf("threads = %v (total %d), want %v", ids, resp.JSON200.Pagination.Total, want)
				}
			}
			if r, body := e.do(http.MethodGet, "/api/v1/threads/"+others.ThreadId, tokX, ""); r.StatusCode != st.wantOthers {
				t.Errorf("GET alice's thread: status %d, want %d; body %s", r.StatusCode, st.wantOthers, body)
			}
			if r, body := e.do(http.MethodGet, "/api/v1/admin/stats", tokX, ""); r.StatusCode != st.wantStats {
				t.Errorf("GET /admin/stats: status %d, want %d; body %s", r.StatusCode, st.wantStats, body)
			}
			if r := e.issueToken("xavier", x.AgentSecret); r.StatusCode() != st.wantLogin {
				t.Errorf("POST /auth/token: status %d, want %d; body %s", r.StatusCode(), st.wantLogin, r.Body)
			}
		})
	}
}

// TestSecretScanner checks the helper that the other tests rely on to find
// leaked secrets and hashes.
func TestSecretScanner(t *testing.T) {
	const secret = "a-remembered-secret-0123456789abcdefgh"
	tests := []struct {
		name, method, path, body string
		wantViolation            bool
	}{
		{"hash anywhere", http.MethodGet, "/api/v1/admin/agents", `{"h":"$argon2id$v=19$m=19456"}`, true},
		{"hash even in create", http.MethodPost, "/api/v1/admin/agents", `{"h":"$argon2id$v=19"}`, true},
		{"secret in a list", http.MethodGet, "/api/v1/admin/agents", `{"s":"` + secret + `"}`, true},
		{"secret in audit", http.MethodGet, "/api/v1/audit/events", `{"s":"` + secret + `"}`, true},
		{"secret in create", http.MethodPost, "/api/v1/admin/agents", `{"agent_secret":"` + secret + `"}`, false},
		{"secret in rotate", http.MethodPost, "/api/v1/admin/agents/bob/rotate-secret", `{"agent_secret":"` + secret + `"}`, false},
		{"clean body", http.MethodGet, "/api/v1/threads", `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &secretScanner{secrets: map[string]bool{secret: true}}
			req, err := http.NewRequest(tt.method, "http://x"+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.inspect(req, []byte(tt.body))
			if got := len(s.violations) > 0; got != tt.wantViolation {
				t.Errorf("violation = %t, want %t (%v)", got, tt.wantViolation, s.violations)
			}
		})
	}
}
