package tests

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	contract "github.com/agcom/agcom"
	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// Alice sends to Bob with send_message; Bob sees it with list_inbox, and
// wait_for_events returns it from the cursor he held, waking as it
// arrives.
func TestMCPConversation(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.mcpAs(t, "alice"), e.mcpAs(t, "bob")

	var head agcomv1.EventPage
	bob.ok("wait_for_events", map[string]any{"wait": 0}, &head)
	if len(head.Events) != 0 {
		t.Fatalf("events before anything happened: %+v", head.Events)
	}

	woke := make(chan agcomv1.EventPage, 1)
	start := time.Now()
	go func() {
		var page agcomv1.EventPage
		res, err := bob.cs.CallTool(context.Background(), &mcp.CallToolParams{
			Name: "wait_for_events", Arguments: map[string]any{"after": head.NextCursor, "wait": 20},
		})
		if err == nil && !res.IsError {
			b, _ := json.Marshal(res.StructuredContent)
			json.Unmarshal(b, &page)
		}
		woke <- page
	}()
	time.Sleep(300 * time.Millisecond) // let the wait begin

	var sent agcomv1.Message
	alice.ok("send_message", map[string]any{
		"to_handles": []string{"bob"}, "subject": "Deploy", "body": "Ship it Friday?", "tags": []string{"ops"},
		"idempotency_key": "deploy-1",
	}, &sent)
	if sent.FromHandle != "alice" || !slices.Equal(sent.ToHandles, []string{"bob"}) || sent.Subject != "Deploy" {
		t.Fatalf("send_message answered %+v", sent)
	}

	select {
	case page := <-woke:
		if len(page.Events) != 1 || page.Events[0].Type != agcomv1.MessageCreated || page.Events[0].ThreadId != sent.ThreadId {
			t.Fatalf("wait_for_events returned %+v, want the message.created of thread %s", page, sent.ThreadId)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("wait_for_events returned after %v: it did not wake on the event", d)
		}
		var again agcomv1.EventPage
		bob.ok("wait_for_events", map[string]any{"after": page.NextCursor, "wait": 0}, &again)
		if len(again.Events) != 0 || again.NextCursor != page.NextCursor {
			t.Errorf("after the last cursor: %+v, want no events and the same cursor", again)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("wait_for_events did not return")
	}

	var inbox agcomv1.InboxPage
	bob.ok("list_inbox", nil, &inbox)
	if len(inbox.Messages) != 1 || inbox.Messages[0].MessageId != sent.MessageId || inbox.Messages[0].ReadAt != nil {
		t.Fatalf("bob's inbox: %+v, want the unread message %s", inbox.Messages, sent.MessageId)
	}

	// The same key again is the same send: the REST API's idempotency.
	var replay agcomv1.Message
	alice.ok("send_message", map[string]any{
		"to_handles": []string{"bob"}, "subject": "Deploy", "body": "Ship it Friday?", "tags": []string{"ops"},
		"idempotency_key": "deploy-1",
	}, &replay)
	if replay.MessageId != sent.MessageId {
		t.Errorf("a retry with the same idempotency key sent %s again as %s", sent.MessageId, replay.MessageId)
	}

	var reply agcomv1.Message
	bob.ok("reply_to_message", map[string]any{"message_id": sent.MessageId, "body": "Yes."}, &reply)
	if reply.InReplyTo == nil || *reply.InReplyTo != sent.MessageId || !slices.Equal(reply.ToHandles, []string{"alice"}) {
		t.Errorf("reply_to_message answered %+v", reply)
	}

	// Through the REST API, the same thread: one use case, two doors.
	resp, err := e.client("alice").ListThreadMessagesWithResponse(t.Context(), sent.ThreadId, nil)
	if err != nil || resp.JSON200 == nil || len(resp.JSON200.Messages) != 2 {
		t.Fatalf("the thread through REST: %v %s", err, resp.Body)
	}

	// And the audit trail has the send, by alice.
	var audit agcomv1.AuditEventPage
	alice.ok("list_audit_events", map[string]any{"event_type": "message_send"}, &audit)
	if len(audit.Events) != 1 || str(audit.Events[0].ActorHandle) != "alice" {
		t.Errorf("audit of the send: %+v", audit.Events)
	}
}

// Every operation an agent calls is a tool, derived from openapi.yaml:
// named after its operationId in snake_case, described by its summary and
// description, taking its parameters and its body's properties. Admin
// operations are listed to admins only.
func TestMCPToolsFromContract(t *testing.T) {
	e := newEnv(t, withAdmin(rootHandle, rootSecret))
	doc, err := openapi3.NewLoader().LoadFromData(contract.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	asAdmin, asAgent := e.mcpAs(t, rootHandle).tools(), e.mcpAs(t, "alice").tools()

	for _, name := range []string{"send_message", "list_inbox", "reply_to_message", "wait_for_events"} {
		if asAgent[name] == nil {
			t.Errorf("no tool %s", name)
		}
	}
	// The attachment operations' tools are made by hand (see
	// mcp_attachments_test.go); every other tool is derived.
	handMade := map[string]bool{"upload_attachment": true, "get_attachment": true}
	want := map[string]bool{"wait_for_events": true, "upload_attachment": true, "get_attachment": true}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := snake(op.OperationID)
			if handMade[name] {
				if asAgent[name] == nil {
					t.Errorf("%s %s: no tool %s", method, path, name)
				}
				continue
			}
			public := op.Security != nil && len(*op.Security) == 0
			answersJSON := false
			for code, r := range op.Responses.Map() {
				answersJSON = answersJSON || strings.HasPrefix(code, "2") && r.Value.Content["application/json"] != nil
			}
			jsonBody := op.RequestBody == nil || op.RequestBody.Value.Content["application/json"] != nil
			if public || !answersJSON || !jsonBody {
				if asAdmin[name] != nil {
					t.Errorf("%s %s (%s) is a tool, but needs no token, answers no JSON or takes a body that is not JSON", method, path, name)
				}
				continue
			}
			want[name] = true
			tool := asAdmin[name]
			if tool == nil {
				t.Errorf("%s %s: no tool %s", method, path, name)
				continue
			}
			admin := slices.Contains(op.Tags, "admin")
			if (asAgent[name] != nil) == admin {
				t.Errorf("tool %s: listed to a non-admin = %v, admin operation = %v", name, asAgent[name] != nil, admin)
			}
			if !strings.Contains(tool.Description, strings.TrimSpace(op.Summary)) ||
				!strings.Contains(tool.Description, strings.TrimSpace(op.Description)) {
				t.Errorf("tool %s: description %q lacks the operation's summary or description", name, tool.Description)
			}
			checkToolSchema(t, name, tool, item, op)
		}
	}
	for name := range asAdmin {
		if !want[name] {
			t.Errorf("tool %s has no operation in openapi.yaml", name)
		}
	}
	// wait_for_events takes list_events's arguments, and waits by default.
	wait, list := asAgent["wait_for_events"].InputSchema.(map[string]any), asAgent["list_events"].InputSchema.(map[string]any)
	waitProps, listProps := wait["properties"].(map[string]any), list["properties"].(map[string]any)
	if len(waitProps) != len(listProps) || waitProps["wait"].(map[string]any)["default"] != float64(30) ||
		waitProps["wait"].(map[string]any)["maximum"] != listProps["wait"].(map[string]any)["maximum"] {
		t.Errorf("wait_for_events takes %v, list_events %v", waitProps, listProps)
	}
}

// checkToolSchema compares a tool's input schema with its operation: one
// property per parameter (a header's name in snake_case) and per body
// property, the same required ones, and the same types and bounds.
func checkToolSchema(t *testing.T, name string, tool *mcp.Tool, item *openapi3.PathItem, op *openapi3.Operation) {
	t.Helper()
	var schema struct {
		Type                 string                    `json:"type"`
		Properties           map[string]map[string]any `json:"properties"`
		Required             []string                  `json:"required"`
		AdditionalProperties *bool                     `json:"additionalProperties"`
	}
	b, _ := json.Marshal(tool.InputSchema)
	if err := json.Unmarshal(b, &schema); err != nil || schema.Type != "object" {
		t.Errorf("tool %s: input schema %s is not an object schema", name, b)
		return
	}
	if schema.AdditionalProperties == nil || *schema.AdditionalProperties {
		t.Errorf("tool %s: input schema accepts unknown arguments", name)
	}
	wantProps := map[string]*openapi3.Schema{}
	var wantRequired []string
	for _, ps := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range ps {
			arg := p.Value.Name
			if p.Value.In == "header" {
				arg = strings.ReplaceAll(strings.ToLower(arg), "-", "_")
			}
			wantProps[arg] = p.Value.Schema.Value
			if p.Value.Required {
				wantRequired = append(wantRequired, arg)
			}
		}
	}
	if op.RequestBody != nil {
		body := op.RequestBody.Value.Content.Get("application/json").Schema.Value
		for prop, s := range body.Properties {
			wantProps[prop] = s.Value
		}
		if op.RequestBody.Value.Required {
			wantRequired = append(wantRequired, body.Required...)
		}
	}
	slices.Sort(wantRequired)
	slices.Sort(schema.Required)
	if !slices.Equal(schema.Required, wantRequired) {
		t.Errorf("tool %s: required %v, want %v", name, schema.Required, wantRequired)
	}
	for arg, s := range wantProps {
		got, ok := schema.Properties[arg]
		if !ok {
			t.Errorf("tool %s: no argument %s", name, arg)
			continue
		}
		if s.Type == nil || len(*s.Type) != 1 {
			t.Errorf("tool %s: %s has no single type in openapi.yaml", name, arg)
			continue
		}
		wantType := any(s.Type.Slice()[0])
		if s.Nullable {
			wantType = []any{s.Type.Slice()[0], "null"}
		}
		if asJSON(got["type"]) != asJSON(wantType) {
			t.Errorf("tool %s: %s has type %v, want %v", name, arg, got["type"], wantType)
		}
		if s.Pattern != "" && got["pattern"] != s.Pattern {
			t.Errorf("tool %s: %s has pattern %v, want %q", name, arg, got["pattern"], s.Pattern)
		}
		if s.MaxLength != nil && got["maxLength"] != float64(*s.MaxLength) {
			t.Errorf("tool %s: %s has maxLength %v, want %d", name, arg, got["maxLength"], *s.MaxLength)
		}
		if s.Max != nil && got["maximum"] != *s.Max {
			t.Errorf("tool %s: %s has maximum %v, want %v", name, arg, got["maximum"], *s.Max)
		}
		if len(s.Enum) > 0 && asJSON(got["enum"]) != asJSON(s.Enum) {
			t.Errorf("tool %s: %s has enum %v, want %v", name, arg, got["enum"], s.Enum)
		}
		if s.Items != nil {
			items, _ := got["items"].(map[string]any)
			if items == nil || items["type"] != s.Items.Value.Type.Slice()[0] {
				t.Errorf("tool %s: %s has items %v, want type %v", name, arg, got["items"], s.Items.Value.Type)
			}
		}
	}
	if len(schema.Properties) != len(wantProps) {
		t.Errorf("tool %s: %d arguments, want %d (%v)", name, len(schema.Properties), len(wantProps), wantProps)
	}
}

// snake is the tool name of an operationId: sendMessage → send_message.
func snake(id string) string {
	var b strings.Builder
	for i, r := range id {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Carol reads nothing of a thread between Alice and Bob, through any tool
// that names it or lists what she can see, and changes nothing in it.
func TestMCPVisibility(t *testing.T) {
	e := newEnv(t)
	const subject, body = "Secret plan 7f3a", "Only for bob 9c1e"
	msg := e.send("alice", []string{"bob"}, subject, body)
	carol := e.mcpAs(t, "carol")

	fill := map[string]any{
		"thread_id": msg.ThreadId, "message_id": msg.MessageId, "query": "Secret plan",
		"key": "status", "value": "leaked", "body": "carol was here",
	}
	tried := map[string]bool{}
	for name, tool := range carol.tools() {
		var schema struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		}
		b, _ := json.Marshal(tool.InputSchema)
		json.Unmarshal(b, &schema)
		args := map[string]any{}
		for prop := range schema.Properties {
			if v, ok := fill[prop]; ok {
				args[prop] = v
			}
		}
		if name == "wait_for_events" || name == "list_events" {
			args = map[string]any{"after": "0", "wait": 0}
		}
		missing := slices.ContainsFunc(schema.Required, func(r string) bool { _, ok := args[r]; return !ok })
		if missing {
			continue // a create, or an operation on something else (a contact)
		}
		tried[name] = true
		res := carol.call(name, args)
		text := resultText(res)
		if strings.Contains(text, subject) || strings.Contains(text, body) || strings.Contains(asJSON(res.StructuredContent), body) {
			t.Errorf("carol's %s(%v) shows the thread: %s", name, args, text)
		}
		// An operation on the thread or one of its messages: it does not
		// exist for her.
		if slices.Contains(schema.Required, "thread_id") || slices.Contains(schema.Required, "message_id") {
			if typ := errorType(res); typ != "NotFound" {
				t.Errorf("carol's %s(%v) = %s, want the tool error NotFound", name, args, text)
			}
		}
	}
	for _, name := range []string{
		"get_thread", "list_thread_messages", "reply_to_thread", "get_thread_metadata", "put_thread_metadata",
		"get_thread_metadata_key", "archive_thread", "unarchive_thread", "mark_thread_read", "get_message",
		"reply_to_message", "mark_message_read", "mark_message_unread", "list_threads", "list_messages",
		"search_messages", "list_inbox", "list_events", "wait_for_events", "list_audit_events",
	} {
		if !tried[name] {
			t.Errorf("carol never tried %s", name)
		}
	}
	// Nothing of carol's reached the thread.
	th := e.thread("alice", msg.ThreadId)
	if !slices.Equal(th.ParticipantHandles, []string{"alice", "bob"}) {
		t.Errorf("participants now %v", th.ParticipantHandles)
	}
	if md := e.metadata("alice", msg.ThreadId); len(md) != 0 {
		t.Errorf("metadata now %v", md)
	}
}

// A failed call is a tool error carrying the envelope's type and message,
// with the MCP request's id; arguments that make no request fail the
// same way.
func TestMCPErrors(t *testing.T) {
	e := newEnv(t, hardLimits(100, 3, 100, 100, 100))
	c, err := mcpConnectVia(t, e.URL, mcpAuth{token: e.token("alice"), requestID: "mcp-req-42", base: http.DefaultTransport})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tool string
		args map[string]any
		typ  string
	}{
		{"get400", "get_thread", map[string]any{"thread_id": "not-a-ulid"}, "ValidationError"},
		{"get404", "get_thread", map[string]any{"thread_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "NotFound"},
		{"send400", "send_message", map[string]any{"to_handles": []string{"bob"}, "subject": " ", "body": "x"}, "ValidationError"},
		{"unknownArgument400", "list_threads", map[string]any{"colour": "red"}, "ValidationError"},
		{"missingPath400", "get_thread", map[string]any{}, "ValidationError"},
		{"contact404", "update_contact", map[string]any{"handle": "nobody", "expected_version": 1}, "NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			got := c.fails(tt.tool, tt.args, tt.typ)
			if got.RequestID != "mcp-req-42" {
				t.Errorf("request id %q, want the MCP request's mcp-req-42", got.RequestID)
			}
		})
	}
	c.t = t
	// The read limit is the REST API's, per agent: 3 a minute, and two
	// reads above were answered (the 400 from the validator and the 404).
	c.ok("list_threads", nil, nil)
	c.fails("list_threads", nil, "RateLimitExceeded")
}

// Admin tools are listed to admins only, and refused to others as the
// REST API refuses them.
func TestMCPAdminTools(t *testing.T) {
	e := newEnv(t, withAdmin(rootHandle, rootSecret))
	if r, err := e.client(rootHandle).CreateAgentWithResponse(t.Context(), agcomv1.AgentCreate{Handle: "alice"}); err != nil || r.JSON201 == nil {
		t.Fatalf("create alice: %v", err)
	}
	root, alice := e.mcpAs(t, rootHandle), e.mcpAs(t, "alice")
	for _, name := range []string{"create_agent", "list_agents", "update_agent", "rotate_agent_secret", "revoke_agent_tokens", "get_stats"} {
		if root.tools()[name] == nil {
			t.Errorf("admin does not see %s", name)
		}
		if alice.tools()[name] != nil {
			t.Errorf("alice sees %s", name)
		}
	}
	alice.fails("get_stats", nil, "PermissionDenied")
	alice.fails("create_agent", map[string]any{"handle": "mallory"}, "PermissionDenied")

	var created agcomv1.AgentCredentials
	root.ok("create_agent", map[string]any{"handle": "bob", "display_name": "Bob"}, &created)
	if created.Agent.Handle != "bob" || created.AgentSecret == "" {
		t.Fatalf("create_agent answered %+v", created)
	}
	var stats agcomv1.Stats
	root.ok("get_stats", nil, &stats)
	if stats.Agents < 2 {
		t.Errorf("stats %+v", stats)
	}

	// Promotion takes effect on the session's next request.
	root.ok("update_agent", map[string]any{"handle": "alice", "is_admin": true}, nil)
	if alice.tools()["get_stats"] == nil {
		t.Error("promoted alice does not see get_stats")
	}
	alice.ok("get_stats", nil, nil)
}

// /mcp needs a token, as the REST API does: none or a bad one is 401 with
// WWW-Authenticate: Bearer, in the error envelope.
func TestMCPUnauthenticated(t *testing.T) {
	e := newEnv(t)
	initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`
	for _, authorization := range []string{"", "Bearer not-a-token", "Basic YWxpY2U6c2VjcmV0"} {
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/mcp", strings.NewReader(initialize))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Error toolError }
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || env.Error.Type != "AuthenticationError" {
			t.Errorf("Authorization %q: %d %+v, want 401 AuthenticationError", authorization, resp.StatusCode, env.Error)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("Authorization %q: WWW-Authenticate %q, want Bearer", authorization, got)
		}
		if env.Error.RequestID == "" || env.Error.RequestID != resp.Header.Get("X-Request-ID") {
			t.Errorf("request id %q, header %q", env.Error.RequestID, resp.Header.Get("X-Request-ID"))
		}
	}
	if _, err := e.mcpConnect(t, ""); err == nil {
		t.Error("the SDK client connected without a token")
	}

	// A session belongs to the agent that opened it: another agent's token
	// cannot use it.
	alice := e.mcpAs(t, "alice")
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+e.token("mallory"))
	req.Header.Set("Mcp-Session-Id", alice.cs.ID())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Error toolError }
	json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || env.Error.Type != "PermissionDenied" {
		t.Errorf("mallory in alice's session: %d %+v, want 403 PermissionDenied", resp.StatusCode, env.Error)
	}

	// A session checks its caller on every request: once alice's token is
	// revoked (she is disabled), her open session is refused.
	e2 := newEnv(t, withAdmin(rootHandle, rootSecret))
	root := e2.client(rootHandle)
	if r, err := root.CreateAgentWithResponse(t.Context(), agcomv1.AgentCreate{Handle: "dave"}); err != nil || r.JSON201 == nil {
		t.Fatalf("create dave: %v", err)
	}
	dave := e2.mcpAs(t, "dave")
	dave.ok("list_threads", nil, nil)
	disabled := true
	if r, err := root.UpdateAgentWithResponse(t.Context(), "dave", agcomv1.AgentUpdate{Disabled: &disabled}); err != nil || r.JSON200 == nil {
		t.Fatalf("disable dave: %v", err)
	}
	if _, err := dave.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "list_threads", Arguments: map[string]any{}}); err == nil {
		t.Error("a disabled agent's session still answers")
	}
}

// Sessions are bounded per agent, with the limit in the error envelope; a
// session ended frees its slot, and an idle one is closed.
func TestMCPSessionLimits(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.MCPSessionsPerAgent, c.MCPSessions = 2, 3 })
	first := e.mcpAs(t, "alice")
	e.mcpAs(t, "alice")
	e.mcpAs(t, "bob") // others keep their own slots

	full := func(handle string, limit float64, scope string) {
		t.Helper()
		initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/mcp", strings.NewReader(initialize))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+e.token(handle))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Error toolError }
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || env.Error.Type != "RateLimitExceeded" ||
			env.Error.Details["limit"] != limit || env.Error.Details["scope"] != scope || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("one more session for %s: %d %+v, want 429 RateLimitExceeded with limit %v, scope %s", handle, resp.StatusCode, env.Error, limit, scope)
		}
	}
	full("alice", 2, "agent")
	full("carol", 3, "server")

	first.cs.Close() // DELETE: the slot is free again
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := e.mcpConnect(t, e.token("alice")); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no session after closing one: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMCPIdleSession(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.MCPSessionIdle = 300 * time.Millisecond })
	req := func(id string) *http.Response {
		r, _ := http.NewRequest(http.MethodPost, e.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("Authorization", "Bearer "+e.token("alice"))
		r.Header.Set("Mcp-Session-Id", id)
		r.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// A raw session, without the SDK client's notification stream (which
	// keeps a session in use).
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`
	r, _ := http.NewRequest(http.MethodPost, e.URL+"/mcp", strings.NewReader(init))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	r.Header.Set("Authorization", "Bearer "+e.token("alice"))
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, id)
	}
	if got := req(id).StatusCode; got != http.StatusOK {
		t.Fatalf("a request in the session: %d", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for req(id).StatusCode != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the idle session was never closed")
		}
		time.Sleep(400 * time.Millisecond)
	}
}

// A subscriber of agcom://inbox is told when a message arrives for it, and
// reads it there; nobody else is told.
func TestMCPInboxSubscription(t *testing.T) {
	e := newEnv(t)
	bob, carol := e.mcpAs(t, "bob"), e.mcpAs(t, "carol")
	for _, c := range []*mcpClient{bob, carol} {
		if err := c.cs.Subscribe(t.Context(), &mcp.SubscribeParams{URI: "agcom://inbox"}); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
	}
	if err := bob.cs.Subscribe(t.Context(), &mcp.SubscribeParams{URI: "agcom://outbox"}); err == nil {
		t.Error("subscribed to a resource that does not exist")
	}
	msg := e.send("alice", []string{"bob"}, "Lunch?", "At noon")
	if !bob.waitNotified(10 * time.Second) {
		t.Fatal("bob was not told of the message")
	}
	res, err := bob.cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: "agcom://inbox"})
	if err != nil {
		t.Fatal(err)
	}
	var inbox agcomv1.InboxPage
	if len(res.Contents) != 1 || json.Unmarshal([]byte(res.Contents[0].Text), &inbox) != nil ||
		len(inbox.Messages) != 1 || inbox.Messages[0].MessageId != msg.MessageId {
		t.Fatalf("bob's inbox resource: %+v", res.Contents)
	}
	// Bob's own send is not mail for him; marking read elsewhere changes
	// his inbox.
	e.send("bob", []string{"alice"}, "Re: Lunch?", "Yes")
	if _, err := e.client("bob").MarkMessageReadWithResponse(t.Context(), msg.MessageId); err != nil {
		t.Fatal(err)
	}
	if !bob.waitNotified(10 * time.Second) {
		t.Fatal("bob was not told his read state changed")
	}
	if carol.waitNotified(500 * time.Millisecond) {
		t.Errorf("carol was told of bob's mail: %v", carol.updated)
	}

	// After unsubscribing, nothing more.
	if err := bob.cs.Unsubscribe(t.Context(), &mcp.UnsubscribeParams{URI: "agcom://inbox"}); err != nil {
		t.Fatal(err)
	}
	for bob.waitNotified(300 * time.Millisecond) {
	}
	e.send("alice", []string{"bob"}, "Again", "Hi")
	if bob.waitNotified(time.Second) {
		t.Error("told after unsubscribing")
	}
}

// errorType is the envelope's type of a tool error, "" for a success.
func errorType(res *mcp.CallToolResult) string {
	if !res.IsError {
		return ""
	}
	var env struct{ Error toolError }
	b, _ := json.Marshal(res.StructuredContent)
	json.Unmarshal(b, &env)
	return env.Error.Type
}

// The MCP endpoint's own HTTP errors are the API's error envelope.
func TestMCPHTTPErrors(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.MaxBodyBytes = 4096 })
	token := e.token("alice")
	tests := []struct {
		name, method, contentType, session, body string
		status                                   int
		typ                                      string
	}{
		{"tooLarge413", http.MethodPost, "application/json", "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":"` + strings.Repeat("a", 5000) + `"}}`, 413, "PayloadTooLarge"},
		{"unknownSession404", http.MethodPost, "application/json", "NOSUCHSESSION", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, 404, "NotFound"},
		{"notJSON400", http.MethodPost, "text/plain", "", `hello`, 400, "ValidationError"},
		{"put405", http.MethodPut, "application/json", "", `{}`, 405, "MethodNotAllowed"},
		{"getWithoutSession400", http.MethodGet, "", "", "", 400, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.URL+"/mcp", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Authorization", "Bearer "+token)
			if tt.session != "" {
				req.Header.Set("Mcp-Session-Id", tt.session)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := wantError(t, resp, b, tt.status, tt.typ)
			if tt.status == 413 && (got.Details == nil || (*got.Details)["max_bytes"] != float64(4096)) {
				t.Errorf("413 details %v, want max_bytes 4096", got.Details)
			}
		})
	}
}

// A tool call is counted in the metrics as the operation it calls, beside
// the /mcp request that carried it.
func TestMCPMetrics(t *testing.T) {
	e := newEnv(t)
	alice := e.mcpAs(t, "alice")
	var sent agcomv1.Message
	alice.ok("send_message", map[string]any{"to_handles": []string{"bob"}, "subject": "Counted", "body": "once"}, &sent)
	alice.fails("get_thread", map[string]any{"thread_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "NotFound")

	samples := hardScrape(t, e)
	const reqs = "agcom_http_requests_total"
	if got := hardValue(t, samples, reqs, map[string]string{"route": "/api/v1/messages", "method": "POST", "status": "201"}); got != 1 {
		t.Errorf(`%s{route="/api/v1/messages",method="POST",status="201"} = %v, want 1`, reqs, got)
	}
	if got := hardValue(t, samples, reqs, map[string]string{"route": "/api/v1/threads/{thread_id}", "method": "GET", "status": "404"}); got != 1 {
		t.Errorf(`%s{route="/api/v1/threads/{thread_id}",status="404"} = %v, want 1`, reqs, got)
	}
	if got := hardFind(samples, reqs, map[string]string{"route": "/mcp", "method": "POST", "status": "200"}); len(got) != 1 || got[0].value < 2 {
		t.Errorf(`%s{route="/mcp",method="POST",status="200"} = %v, want the initialize and both calls`, reqs, got)
	}
}
