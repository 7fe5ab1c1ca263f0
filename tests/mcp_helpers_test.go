package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpAuth sends every request with a bearer token (none when empty) and,
// when set, an X-Request-ID.
type mcpAuth struct {
	token     string
	requestID string
	base      http.RoundTripper
}

func (a mcpAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if a.requestID != "" {
		req.Header.Set("X-Request-ID", a.requestID)
	}
	return a.base.RoundTrip(req)
}

// mcpClient is one agent's MCP session with the server, through the SDK's
// own client, and the inbox notifications it has received.
type mcpClient struct {
	t  *testing.T
	cs *mcp.ClientSession

	mu      sync.Mutex
	updated []string // URIs of notifications/resources/updated
	notify  chan struct{}
}

// mcpConnect opens an MCP session at e's /mcp as the holder of token.
func (e *env) mcpConnect(t *testing.T, token string) (*mcpClient, error) {
	t.Helper()
	return mcpConnectVia(t, e.URL, mcpAuth{token: token, base: http.DefaultTransport})
}

func mcpConnectVia(t *testing.T, url string, rt http.RoundTripper) (*mcpClient, error) {
	t.Helper()
	c := &mcpClient{t: t, notify: make(chan struct{}, 16)}
	client := mcp.NewClient(&mcp.Implementation{Name: "agcom-tests", Version: "1.0.0"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			c.mu.Lock()
			c.updated = append(c.updated, req.Params.URI)
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: url + "/mcp", HTTPClient: &http.Client{Transport: rt}, MaxRetries: -1,
	}, nil)
	if err != nil {
		return nil, err
	}
	c.cs = cs
	t.Cleanup(func() { cs.Close() })
	return c, nil
}

// mcpAs opens a session as handle, failing the test when it cannot.
func (e *env) mcpAs(t *testing.T, handle string) *mcpClient {
	t.Helper()
	c, err := e.mcpConnect(t, e.token(handle))
	if err != nil {
		t.Fatalf("MCP session as %s: %v", handle, err)
	}
	return c
}

// tools lists every tool the session sees, by name.
func (c *mcpClient) tools() map[string]*mcp.Tool {
	c.t.Helper()
	out := map[string]*mcp.Tool{}
	for tool, err := range c.cs.Tools(c.t.Context(), nil) {
		if err != nil {
			c.t.Fatalf("list tools: %v", err)
		}
		out[tool.Name] = tool
	}
	return out
}

// call calls a tool; a protocol error fails the test, a tool error does
// not.
func (c *mcpClient) call(name string, args map[string]any) *mcp.CallToolResult {
	c.t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	res, err := c.cs.CallTool(c.t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		c.t.Fatalf("call %s: %v", name, err)
	}
	return res
}

// ok calls a tool that must succeed and decodes its structured content
// into out (when not nil); it checks that the text content is the same
// JSON.
func (c *mcpClient) ok(name string, args map[string]any, out any) {
	c.t.Helper()
	res := c.call(name, args)
	if res.IsError {
		c.t.Fatalf("call %s(%v): tool error: %s", name, args, resultText(res))
	}
	structured, err := json.Marshal(res.StructuredContent)
	if err != nil {
		c.t.Fatalf("call %s: structured content: %v", name, err)
	}
	var fromText, fromStructured any
	if err := json.Unmarshal([]byte(resultText(res)), &fromText); err != nil {
		c.t.Fatalf("call %s: text content is not JSON: %v", name, err)
	}
	json.Unmarshal(structured, &fromStructured)
	if a, b := asJSON(fromText), asJSON(fromStructured); a != b {
		c.t.Errorf("call %s: text content %s differs from structured content %s", name, a, b)
	}
	if out != nil {
		if err := json.Unmarshal(structured, out); err != nil {
			c.t.Fatalf("call %s: decode %s: %v", name, structured, err)
		}
	}
}

// toolError is the error envelope of a failed tool call.
type toolError struct {
	Type      string         `json:"type"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details"`
	RequestID string         `json:"request_id"`
}

// fails calls a tool that must fail with the error type typ, and returns
// the envelope it carries; the text must lead with the type and message.
func (c *mcpClient) fails(name string, args map[string]any, typ string) toolError {
	c.t.Helper()
	res := c.call(name, args)
	if !res.IsError {
		c.t.Fatalf("call %s(%v) = %s, want tool error %s", name, args, resultText(res), typ)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var env struct{ Error toolError }
	if err := json.Unmarshal(b, &env); err != nil || env.Error.Type == "" {
		c.t.Fatalf("call %s: structured content %s is not the error envelope", name, b)
	}
	if env.Error.Type != typ {
		c.t.Fatalf("call %s(%v): error type %s (%s), want %s", name, args, env.Error.Type, env.Error.Message, typ)
	}
	if want := typ + ": " + env.Error.Message; !strings.HasPrefix(resultText(res), want) {
		c.t.Errorf("call %s: text %q does not start with %q", name, resultText(res), want)
	}
	if env.Error.RequestID == "" {
		c.t.Errorf("call %s: error without a request id", name)
	}
	return env.Error
}

// waitNotified waits for an inbox notification; false after d without one.
func (c *mcpClient) waitNotified(d time.Duration) bool {
	select {
	case <-c.notify:
		return true
	case <-time.After(d):
		return false
	}
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
