package mcp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/mcp"
)

// A contract with operations the real one does not have: each becomes a
// tool, or not, by the contract's rules alone.
const widgetSpec = `
openapi: 3.0.3
info: {title: widgets, version: "1"}
security:
  - bearerAuth: []
paths:
  /widgets/{widget_id}/polish:
    parameters:
      - {name: widget_id, in: path, required: true, schema: {type: string, pattern: '^w[0-9]+$'}}
    post:
      operationId: polishWidget
      tags: [widgets]
      summary: Polish a widget
      description: Polishes it until it shines.
      parameters:
        - {name: coats, in: query, description: How many coats., schema: {type: integer, minimum: 1, maximum: 5, exclusiveMaximum: true}}
        - {name: colors, in: query, style: form, explode: false, schema: {type: array, items: {type: string}}}
        - {name: X-Polish-Mode, in: header, schema: {type: string, enum: [fast, slow]}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Polish'}
      responses:
        '201': {description: ok, content: {application/json: {schema: {type: object}}}}
  /widgets:
    get:
      operationId: listWidgets
      tags: [admin]
      summary: List every widget
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
  /widgets/stream:
    get:
      operationId: streamWidgets
      summary: Widgets as they change
      responses:
        '200': {description: ok, content: {text/event-stream: {schema: {type: string}}}}
  /status:
    get:
      operationId: getStatus
      summary: Status
      security: []
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
  /events:
    get:
      operationId: listEvents
      summary: Read events
      parameters:
        - {name: after, in: query, schema: {type: string}}
        - {name: wait, in: query, schema: {type: integer, minimum: 0, maximum: 60, default: 0}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 500}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
  /attachments:
    post:
      operationId: uploadAttachment
      summary: Upload a file
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object, properties: {file: {type: string, format: binary}}}
      responses:
        '201':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  filename: {type: string, minLength: 1, maxLength: 255}
                  content_type: {type: string, minLength: 1, maxLength: 255}
  /attachments/{attachment_id}:
    parameters:
      - {name: attachment_id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getAttachment
      summary: Download a file
      parameters:
        - {name: Range, in: header, schema: {type: string}}
      responses:
        '200': {description: ok, content: {'*/*': {}}}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
  schemas:
    Polish:
      type: object
      additionalProperties: false
      required: [finish]
      properties:
        finish: {type: string, enum: [matte, gloss], nullable: true}
        note: {type: string, maxLength: 10}
        id: {type: string, readOnly: true}
`

// seen is a request the API received.
type seen struct {
	method, path, query, authorization, mode, requestID string
	body                                                map[string]any
}

// recordingAPI stands in for the REST API of widgetSpec, which no server
// implements: it records each request and answers 201, or the error
// envelope for widget w404.
type recordingAPI struct {
	mu   sync.Mutex
	seen []seen
}

func (a *recordingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	json.Unmarshal(b, &body)
	a.mu.Lock()
	a.seen = append(a.seen, seen{
		method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, authorization: r.Header.Get("Authorization"),
		mode: r.Header.Get("X-Polish-Mode"), requestID: r.Header.Get("X-Request-ID"), body: body,
	})
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if strings.Contains(r.URL.Path, "/w404/") {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"type":"NotFound","message":"widget not found","request_id":"r-1"}}`)
		return
	}
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"polished":true}`)
}

// serve mounts the MCP server of spec on an HTTP server whose every
// request is authenticated as caller.
func serve(t *testing.T, spec string, caller agcom.Caller) (*mcpsdk.ClientSession, *recordingAPI) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	s, err := mcp.New(mcp.Options{Spec: doc, BasePath: "/v1", Events: noEvents{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	api := &recordingAPI{}
	h := s.Mount(api, func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "req-7")
		h.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), caller)))
	}))
	t.Cleanup(srv.Close)
	client := mcpsdk.NewClient(&mcpsdk.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &mcpsdk.StreamableClientTransport{Endpoint: srv.URL, HTTPClient: &http.Client{
		Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer token-of-"+caller.Handle)
			return http.DefaultTransport.RoundTrip(r)
		}),
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, api
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type noEvents struct{}

func (noEvents) Subscribe(agcom.Caller) (<-chan struct{}, func()) { return nil, func() {} }

func toolNames(t *testing.T, cs *mcpsdk.ClientSession) map[string]*mcpsdk.Tool {
	t.Helper()
	out := map[string]*mcpsdk.Tool{}
	for tool, err := range cs.Tools(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		out[tool.Name] = tool
	}
	return out
}

// A new operation in the contract is a tool, with no code of its own: its
// schema is its parameters and body, and a call is its request, made with
// the caller's own credentials and request id.
func TestNewOperationBecomesATool(t *testing.T) {
	cs, api := serve(t, widgetSpec, agcom.Caller{Handle: "alice"})
	tools := toolNames(t, cs)
	var names []string
	for name := range tools {
		names = append(names, name)
	}
	slices.Sort(names)
	// Not the public operation, nor the stream; the admin one only to
	// admins.
	if want := []string{"get_attachment", "list_events", "polish_widget", "upload_attachment", "wait_for_events"}; !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}
	polish := tools["polish_widget"]
	if polish.Description != "Polish a widget\n\nPolishes it until it shines." || polish.Title != "Polish a widget" {
		t.Errorf("description %q, title %q", polish.Description, polish.Title)
	}
	want := `{"additionalProperties":false,"properties":{` +
		`"coats":{"description":"How many coats.","exclusiveMaximum":5,"minimum":1,"type":"integer"},` +
		`"colors":{"items":{"type":"string"},"type":"array"},` +
		`"finish":{"enum":["matte","gloss",null],"type":["string","null"]},` +
		`"note":{"maxLength":10,"type":"string"},` +
		`"widget_id":{"pattern":"^w[0-9]+$","type":"string"},` +
		`"x_polish_mode":{"enum":["fast","slow"],"type":"string"}},` +
		`"required":["finish","widget_id"],"type":"object"}`
	if got, _ := json.Marshal(polish.InputSchema); string(got) != want {
		t.Errorf("input schema\n got %s\nwant %s", got, want)
	}

	res, err := cs.CallTool(t.Context(), &mcpsdk.CallToolParams{Name: "polish_widget", Arguments: map[string]any{
		"widget_id": "w1", "coats": 2, "colors": []string{"red", "blue"}, "x_polish_mode": "slow", "finish": "matte",
	}})
	if err != nil || res.IsError {
		t.Fatalf("call: %v %+v", err, res)
	}
	if got, _ := json.Marshal(res.StructuredContent); string(got) != `{"polished":true}` {
		t.Errorf("structured content %s", got)
	}
	got := api.seen[len(api.seen)-1]
	wantSeen := seen{method: "POST", path: "/v1/widgets/w1/polish", query: "coats=2&colors=red%2Cblue",
		authorization: "Bearer token-of-alice", mode: "slow", requestID: "req-7", body: map[string]any{"finish": "matte"}}
	if got.method != wantSeen.method || got.path != wantSeen.path || got.query != wantSeen.query ||
		got.authorization != wantSeen.authorization || got.mode != wantSeen.mode || got.requestID != wantSeen.requestID ||
		len(got.body) != 1 || got.body["finish"] != "matte" {
		t.Errorf("the API saw %+v, want %+v", got, wantSeen)
	}

	// An error answer is a tool error with the envelope's type and message.
	res, err = cs.CallTool(t.Context(), &mcpsdk.CallToolParams{Name: "polish_widget", Arguments: map[string]any{
		"widget_id": "w404", "finish": "gloss",
	}})
	if err != nil || !res.IsError || !strings.HasPrefix(res.Content[0].(*mcpsdk.TextContent).Text, "NotFound: widget not found") {
		t.Errorf("call of a missing widget: %v %+v", err, res)
	}

	// wait_for_events is the long-poll, waiting 30 s unless told.
	if _, err := cs.CallTool(t.Context(), &mcpsdk.CallToolParams{Name: "wait_for_events", Arguments: map[string]any{"after": "7"}}); err != nil {
		t.Fatal(err)
	}
	if got := api.seen[len(api.seen)-1]; got.method != "GET" || got.path != "/v1/events" || got.query != "after=7&wait=30" {
		t.Errorf("wait_for_events asked %s %s?%s", got.method, got.path, got.query)
	}
}

func TestAdminOperationsListedToAdmins(t *testing.T) {
	cs, _ := serve(t, widgetSpec, agcom.Caller{Handle: "root", IsAdmin: true})
	if toolNames(t, cs)["list_widgets"] == nil {
		t.Error("an admin does not see the admin operation's tool")
	}
}

func TestContractRules(t *testing.T) {
	for name, spec := range map[string]string{
		"noOperationID": strings.Replace(widgetSpec, "operationId: polishWidget", "summary2: x", 1),
		"noListEvents":  strings.Replace(widgetSpec, "operationId: listEvents", "operationId: readEvents", 1),
		"clash":         strings.Replace(widgetSpec, "note: {type: string, maxLength: 10}", "coats: {type: string}", 1),
		// The attachment tools are made by hand, of these operations.
		"noUpload":        strings.Replace(widgetSpec, "operationId: uploadAttachment", "operationId: putFile", 1),
		"noGet":           strings.Replace(widgetSpec, "operationId: getAttachment", "operationId: fetchFile", 1),
		"uploadNotAFile":  strings.Replace(widgetSpec, "properties: {file:", "properties: {blob:", 1),
		"getDerivedTwice": strings.Replace(widgetSpec, `'200': {description: ok, content: {'*/*': {}}}`, `'200': {description: ok, content: {application/json: {schema: {type: object}}}}`, 1),
	} {
		doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mcp.New(mcp.Options{Spec: doc, BasePath: "/v1", Events: noEvents{}}); err == nil {
			t.Errorf("%s: a contract the tools cannot be made of was accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
