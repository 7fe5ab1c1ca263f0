package mcp

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// adminTag is the contract's tag of the operations only admins may call;
// their tools are listed to admins only.
const adminTag = "admin"

// tool is one MCP tool and the REST operation it calls.
type tool struct {
	def   *mcpsdk.Tool
	admin bool
	op    operation
	// handle, when set, makes the call instead of op: for the operations
	// whose request or answer a model cannot write or read as they are.
	handle func(ctx context.Context, s *Server, c caller, args map[string]any) *mcpsdk.CallToolResult
}

// operation says how a tool's arguments become a request to the REST API.
type operation struct {
	method string
	// path is the contract's path template, below the API's base path.
	path   string
	params []param
	// body names the JSON body's properties, which are arguments of the
	// tool; nil when the operation takes no body.
	body         map[string]bool
	bodyRequired bool
	// defaults are arguments the tool fills in when the caller leaves them
	// out, where the tool's default differs from the contract's.
	defaults map[string]any
}

// param is a path, query or header parameter of an operation, and the
// tool argument that carries it.
type param struct {
	arg, name, in string
	required      bool
	// commaSeparated: an array sent as one comma-separated value (style
	// form, explode false) rather than one value per item.
	commaSeparated bool
}

// deriveTools makes a tool of every operation of spec that an agent calls:
// each operation that needs a bearer token, answers JSON and takes no body
// but JSON (so not the health checks, the login, the event stream, or a
// file upload). Its name is the
// operationId in snake_case, its description the summary and description,
// its input the parameters and the JSON body's properties side by side.
func deriveTools(spec *openapi3.T) ([]tool, error) {
	var tools []tool
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if !needsToken(spec, op) || !answersJSON(op) || !bodyIsJSON(op) {
				continue
			}
			t, err := newTool(path, method, item, op)
			if err != nil {
				return nil, err
			}
			tools = append(tools, t)
		}
	}
	sort.Slice(tools, func(i, j int) bool { return tools[i].def.Name < tools[j].def.Name })
	for i := 1; i < len(tools); i++ {
		if tools[i].def.Name == tools[i-1].def.Name {
			return nil, fmt.Errorf("mcp: two operations make the tool %q", tools[i].def.Name)
		}
	}
	return tools, nil
}

// needsToken reports whether op requires authentication: it does unless
// it (or, failing that, the whole spec) says `security: []`.
func needsToken(spec *openapi3.T, op *openapi3.Operation) bool {
	if op.Security != nil {
		return len(*op.Security) > 0
	}
	return len(spec.Security) > 0
}

// answersJSON reports whether op's success answer is a JSON document: one
// the contract says is JSON, not any type at all (Content.Get would take
// */* for JSON).
func answersJSON(op *openapi3.Operation) bool {
	if op.Responses == nil {
		return false
	}
	for code, r := range op.Responses.Map() {
		if strings.HasPrefix(code, "2") && r.Value != nil && r.Value.Content["application/json"] != nil {
			return true
		}
	}
	return false
}

// bodyIsJSON reports whether op takes no body, or a JSON one.
func bodyIsJSON(op *openapi3.Operation) bool {
	return op.RequestBody == nil || op.RequestBody.Value == nil || op.RequestBody.Value.Content["application/json"] != nil
}

// toolName is a valid MCP tool name (SEP-986).
var toolName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

func newTool(path, method string, item *openapi3.PathItem, op *openapi3.Operation) (tool, error) {
	where := method + " " + path
	if op.OperationID == "" {
		return tool{}, fmt.Errorf("mcp: %s has no operationId to name its tool", where)
	}
	name := snakeCase(op.OperationID)
	if !toolName.MatchString(name) {
		return tool{}, fmt.Errorf("mcp: %s: %q is not a valid tool name", where, name)
	}
	o := operation{method: method, path: path}
	props := map[string]any{}
	var required []string
	add := func(arg string, schema map[string]any, req bool) error {
		if _, dup := props[arg]; dup {
			return fmt.Errorf("mcp: %s: two inputs are named %q", where, arg)
		}
		props[arg] = schema
		if req {
			required = append(required, arg)
		}
		return nil
	}
	for _, p := range parameters(item, op) {
		if p.In == openapi3.ParameterInCookie {
			return tool{}, fmt.Errorf("mcp: %s: cookie parameter %q cannot be a tool argument", where, p.Name)
		}
		if p.Schema == nil || p.Schema.Value == nil {
			return tool{}, fmt.Errorf("mcp: %s: parameter %q has no schema", where, p.Name)
		}
		arg := p.Name
		if p.In == openapi3.ParameterInHeader {
			arg = headerArg(p.Name)
		}
		s := jsonSchema(p.Schema.Value, 0)
		if p.Description != "" {
			s["description"] = p.Description
		}
		req := p.Required || p.In == openapi3.ParameterInPath
		if err := add(arg, s, req); err != nil {
			return tool{}, err
		}
		o.params = append(o.params, param{
			arg: arg, name: p.Name, in: p.In, required: req,
			commaSeparated: p.In == openapi3.ParameterInQuery && p.Explode != nil && !*p.Explode,
		})
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || !mt.Schema.Value.Type.Is(openapi3.TypeObject) {
			return tool{}, fmt.Errorf("mcp: %s: a tool's body must be a JSON object", where)
		}
		body := mt.Schema.Value
		o.body, o.bodyRequired = map[string]bool{}, rb.Value.Required
		for _, prop := range sortedKeys(body.Properties) {
			s := body.Properties[prop]
			if s.Value == nil || s.Value.ReadOnly {
				continue
			}
			if err := add(prop, jsonSchema(s.Value, 0), o.bodyRequired && slices.Contains(body.Required, prop)); err != nil {
				return tool{}, err
			}
			o.body[prop] = true
		}
	}
	input := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		input["required"] = required
	}
	def := &mcpsdk.Tool{
		Name:        name,
		Title:       strings.TrimSpace(op.Summary),
		Description: describe(op),
		InputSchema: input,
		Annotations: annotations(method),
	}
	return tool{def: def, admin: slices.Contains(op.Tags, adminTag), op: o}, nil
}

// parameters are op's parameters and those of its path, op's winning
// where both name the same one.
func parameters(item *openapi3.PathItem, op *openapi3.Operation) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	seen := map[string]bool{}
	for _, list := range []openapi3.Parameters{op.Parameters, item.Parameters} {
		for _, ref := range list {
			p := ref.Value
			if p == nil || seen[p.In+" "+p.Name] {
				continue
			}
			seen[p.In+" "+p.Name] = true
			out = append(out, p)
		}
	}
	return out
}

// describe is an operation's summary and description as one text.
func describe(op *openapi3.Operation) string {
	var parts []string
	for _, s := range []string{op.Summary, op.Description} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

// annotations tell a client what a call does, from its HTTP method.
func annotations(method string) *mcpsdk.ToolAnnotations {
	no, yes := false, true
	switch method {
	case http.MethodGet:
		return &mcpsdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no}
	case http.MethodPut:
		return &mcpsdk.ToolAnnotations{IdempotentHint: true, DestructiveHint: &no, OpenWorldHint: &no}
	case http.MethodDelete:
		return &mcpsdk.ToolAnnotations{IdempotentHint: true, DestructiveHint: &yes, OpenWorldHint: &no}
	}
	return &mcpsdk.ToolAnnotations{DestructiveHint: &no, OpenWorldHint: &no}
}

// snakeCase turns an operationId into a tool name: sendMessage →
// send_message, getThreadMetadataKey → get_thread_metadata_key.
func snakeCase(id string) string {
	var b strings.Builder
	rs := []rune(id)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			// A new word starts at an upper-case letter after a lower-case
			// one, or before one (the "Ur" of "HTTPUrl").
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// headerArg is the argument that carries a header parameter:
// Idempotency-Key → idempotency_key.
func headerArg(header string) string {
	return strings.ReplaceAll(strings.ToLower(header), "-", "_")
}

// maxSchemaDepth bounds the nesting jsonSchema follows, against a
// contract whose schemas refer to themselves.
const maxSchemaDepth = 32

// jsonSchema converts an OpenAPI 3.0 schema, its $refs already resolved,
// to JSON Schema (2020-12) as MCP clients read it: `nullable` becomes a
// type array with "null", boolean exclusive bounds become numbers, an
// example becomes examples, and read-only properties are left out of
// what a caller sends.
func jsonSchema(s *openapi3.Schema, depth int) map[string]any {
	out := map[string]any{}
	if depth > maxSchemaDepth {
		return out
	}
	sub := func(r *openapi3.SchemaRef) map[string]any {
		if r == nil || r.Value == nil {
			return map[string]any{}
		}
		return jsonSchema(r.Value, depth+1)
	}
	subs := func(rs openapi3.SchemaRefs) []any {
		out := make([]any, 0, len(rs))
		for _, r := range rs {
			out = append(out, sub(r))
		}
		return out
	}
	if s.Type != nil && len(*s.Type) > 0 {
		types := slices.Clone(s.Type.Slice())
		if s.Nullable && !slices.Contains(types, openapi3.TypeNull) {
			types = append(types, openapi3.TypeNull)
		}
		if len(types) == 1 {
			out["type"] = types[0]
		} else {
			out["type"] = types
		}
	}
	set := func(key string, v any, ok bool) {
		if ok {
			out[key] = v
		}
	}
	set("title", s.Title, s.Title != "")
	set("description", s.Description, s.Description != "")
	set("format", s.Format, s.Format != "")
	if len(s.Enum) > 0 {
		enum := slices.Clone(s.Enum)
		if s.Nullable && !slices.Contains(enum, nil) {
			enum = append(enum, nil)
		}
		out["enum"] = enum
	}
	set("default", s.Default, s.Default != nil)
	set("const", s.Const, s.Const != nil)
	if s.Example != nil {
		out["examples"] = []any{s.Example}
	} else if len(s.Examples) > 0 {
		out["examples"] = s.Examples
	}
	set("deprecated", true, s.Deprecated)
	set("pattern", s.Pattern, s.Pattern != "")
	set("minLength", s.MinLength, s.MinLength > 0)
	if s.MaxLength != nil {
		out["maxLength"] = *s.MaxLength
	}
	bound := func(key, exclusiveKey string, v *float64, ex openapi3.ExclusiveBound) {
		switch {
		case ex.Value != nil:
			out[exclusiveKey] = *ex.Value
			if v != nil {
				out[key] = *v
			}
		case v != nil && ex.IsTrue():
			out[exclusiveKey] = *v
		case v != nil:
			out[key] = *v
		}
	}
	bound("minimum", "exclusiveMinimum", s.Min, s.ExclusiveMin)
	bound("maximum", "exclusiveMaximum", s.Max, s.ExclusiveMax)
	if s.MultipleOf != nil {
		out["multipleOf"] = *s.MultipleOf
	}
	if s.Items != nil {
		out["items"] = sub(s.Items)
	}
	set("minItems", s.MinItems, s.MinItems > 0)
	if s.MaxItems != nil {
		out["maxItems"] = *s.MaxItems
	}
	set("uniqueItems", true, s.UniqueItems)
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for _, name := range sortedKeys(s.Properties) {
			if r := s.Properties[name]; r.Value == nil || !r.Value.ReadOnly {
				props[name] = sub(r)
			}
		}
		out["properties"] = props
	}
	if len(s.Required) > 0 {
		var req []string
		for _, name := range s.Required {
			if r := s.Properties[name]; r == nil || r.Value == nil || !r.Value.ReadOnly {
				req = append(req, name)
			}
		}
		set("required", req, len(req) > 0)
	}
	if ap := s.AdditionalProperties; ap.Has != nil {
		out["additionalProperties"] = *ap.Has
	} else if ap.Schema != nil {
		out["additionalProperties"] = sub(ap.Schema)
	}
	set("minProperties", s.MinProps, s.MinProps > 0)
	if s.MaxProps != nil {
		out["maxProperties"] = *s.MaxProps
	}
	set("allOf", subs(s.AllOf), len(s.AllOf) > 0)
	set("anyOf", subs(s.AnyOf), len(s.AnyOf) > 0)
	set("oneOf", subs(s.OneOf), len(s.OneOf) > 0)
	if s.Not != nil {
		out["not"] = sub(s.Not)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
