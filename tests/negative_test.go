package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/config"
)

// hardOp is one operation of the contract.
type hardOp struct {
	Method, Path string // Path as in the spec, relative to /api/v1
	Op           *openapi3.Operation
	Params       []*openapi3.Parameter // the path item's and the operation's
	Body         *openapi3.Schema      // nil: no request body
}

// hardOperations lists every operation of the embedded spec, sorted by path
// and method.
func hardOperations(tb testing.TB) []hardOp {
	tb.Helper()
	spec, err := agcomv1.GetSwagger()
	if err != nil {
		tb.Fatalf("embedded spec: %v", err)
	}
	var ops []hardOp
	for path, item := range spec.Paths.Map() {
		if strings.HasPrefix(path, "/events") {
			// Long-lived by design (long-poll and stream); events_test.go
			// covers their inputs with bounded waits.
			continue
		}
		for method, op := range item.Operations() {
			o := hardOp{Method: method, Path: path, Op: op}
			for _, p := range item.Parameters {
				o.Params = append(o.Params, p.Value)
			}
			for _, p := range op.Parameters {
				o.Params = append(o.Params, p.Value)
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					o.Body = mt.Schema.Value
				}
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	if len(ops) < 20 {
		tb.Fatalf("the spec has %d operations; expected the whole API", len(ops))
	}
	return ops
}

// hardExample returns a value that satisfies s, from its examples where it
// has them.
func hardExample(s *openapi3.Schema) any {
	if s.Example != nil {
		return s.Example
	}
	switch {
	case s.Type.Is("object"):
		m := map[string]any{}
		for name, p := range s.Properties {
			m[name] = hardExample(p.Value)
		}
		return m
	case s.Type.Is("array"):
		return []any{hardExample(s.Items.Value)}
	case s.Type.Is("boolean"):
		if b, ok := s.Default.(bool); ok {
			return b
		}
		return true
	case s.Type.Is("integer"):
		if s.Min != nil {
			return int(*s.Min)
		}
		return 1
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	return strings.Repeat("x", max(1, int(s.MinLength)))
}

// hardPatternBreaker returns a string of a valid length that does not match
// pattern.
func hardPatternBreaker(s *openapi3.Schema) (string, bool) {
	re, err := regexp.Compile(s.Pattern)
	if err != nil {
		return "", false
	}
	for _, c := range []string{"   ", "Not Valid!", "-x-", "UPPER", "a b", "é"} {
		n := len([]rune(c))
		if re.MatchString(c) || n < int(s.MinLength) || (s.MaxLength != nil && n > int(*s.MaxLength)) {
			continue
		}
		return c, true
	}
	return "", false
}

// hardBadValues returns values that break s, each with a name.
func hardBadValues(s *openapi3.Schema) map[string]any {
	bad := map[string]any{}
	switch {
	case s.Type.Is("string"):
		bad["wrong type: number"] = 12345
		bad["wrong type: boolean"] = true
		bad["wrong type: object"] = map[string]any{}
		if !s.Nullable {
			bad["null (not nullable)"] = nil
		}
		if s.MaxLength != nil {
			bad[fmt.Sprintf("maxLength+1 (%d)", *s.MaxLength+1)] = strings.Repeat("a", int(*s.MaxLength)+1)
		}
		if s.MinLength > 0 {
			bad["empty string"] = ""
		}
		if s.Pattern != "" {
			if v, ok := hardPatternBreaker(s); ok {
				bad["pattern violation "+strconv.Quote(v)] = v
			}
		}
		if len(s.Enum) > 0 {
			bad["not in enum"] = "hard_bogus"
		}
	case s.Type.Is("integer"):
		bad["wrong type: string"] = "12"
		bad["wrong type: float"] = 1.5
		bad["wrong type: boolean"] = true
		bad["null (not nullable)"] = nil
		if s.Min != nil {
			bad["below minimum"] = int(*s.Min) - 1
		}
		if s.Max != nil {
			bad["above maximum"] = int(*s.Max) + 1
		}
	case s.Type.Is("boolean"):
		bad["wrong type: string"] = "true"
		bad["wrong type: number"] = 1
		bad["null (not nullable)"] = nil
	case s.Type.Is("array"):
		bad["wrong type: string"] = "tag"
		bad["wrong type: object"] = map[string]any{}
		item := hardExample(s.Items.Value)
		if s.MaxItems != nil {
			items := make([]any, int(*s.MaxItems)+1)
			for i := range items {
				items[i] = item
			}
			bad[fmt.Sprintf("maxItems+1 (%d)", len(items))] = items
		}
		if s.MinItems > 0 {
			bad["empty array"] = []any{}
		}
		for name, v := range hardBadValues(s.Items.Value) {
			if strings.HasPrefix(name, "null") {
				continue
			}
			bad["item: "+name] = []any{v}
		}
	}
	return bad
}

// hardBadParams returns raw query or path values that break s.
func hardBadParams(s *openapi3.Schema) map[string]string {
	bad := map[string]string{}
	switch {
	case s.Type.Is("integer"):
		bad["not a number"] = "abc"
		bad["float"] = "1.5"
		if s.Min != nil {
			bad["below minimum"] = strconv.Itoa(int(*s.Min) - 1)
		}
		if s.Max != nil {
			bad["above maximum"] = strconv.Itoa(int(*s.Max) + 1)
		}
	case s.Type.Is("boolean"):
		bad["not a boolean"] = "maybe"
		bad["number"] = "2"
	case s.Type.Is("string"):
		if s.MaxLength != nil {
			bad[fmt.Sprintf("maxLength+1 (%d)", *s.MaxLength+1)] = strings.Repeat("a", int(*s.MaxLength)+1)
		}
		if s.Pattern != "" {
			if v, ok := hardPatternBreaker(s); ok {
				bad["pattern violation "+strconv.Quote(v)] = v
			}
		}
		if len(s.Enum) > 0 {
			bad["not in enum"] = "hard_bogus"
		}
		if s.Pattern == agcomIDPattern {
			bad["bad ULID: not-a-ulid"] = "not-a-ulid"
			bad["bad ULID: letter U"] = "01J9ZQ4W4S3N0C5Q6Q9D8V7T2U"
			bad["bad ULID: lower case"] = "01j9zq4w4s3n0c5q6q9d8v7t2k"
			bad["bad ULID: 27 characters"] = "01J9ZQ4W4S3N0C5Q6Q9D8V7T2KK"
			bad["bad ULID: 25 characters"] = "01J9ZQ4W4S3N0C5Q6Q9D8V7T2"
		}
	case s.Type.Is("array"):
		item := fmt.Sprint(hardExample(s.Items.Value))
		if s.MaxItems != nil {
			items := make([]string, int(*s.MaxItems)+1)
			for i := range items {
				items[i] = fmt.Sprintf("%s%d", item, i)
			}
			bad[fmt.Sprintf("maxItems+1 (%d)", len(items))] = strings.Join(items, ",")
		}
		for name, v := range hardBadParams(s.Items.Value) {
			bad["item: "+name] = item + "," + v
		}
	}
	return bad
}

// agcomIDPattern is the ID schema's pattern.
const agcomIDPattern = `^[0-9A-HJKMNP-TV-Z]{26}$`

// hardCase is one invalid request.
type hardCase struct {
	name       string
	path       string // with the query
	body       string
	hasBody    bool
	header     map[string]string
	wantStatus int
	wantType   string
}

// hardValidParams returns valid values of op's path and query parameters
// (query ones only when required).
func hardValidParams(op hardOp) (path map[string]string, query url.Values) {
	path, query = map[string]string{}, url.Values{}
	for _, p := range op.Params {
		v := fmt.Sprint(hardExample(p.Schema.Value))
		switch {
		case p.In == "path":
			path[p.Name] = v
		case p.In == "query" && p.Required:
			query.Set(p.Name, v)
		}
	}
	return path, query
}

// hardBuildPath fills the path template and appends the query.
func hardBuildPath(tmpl string, path map[string]string, query string) string {
	p := tmpl
	for k, v := range path {
		p = strings.ReplaceAll(p, "{"+k+"}", url.PathEscape(v))
	}
	p = "/api/v1" + p
	if query != "" {
		p += "?" + query
	}
	return p
}

// hardNegativeCases derives the invalid requests of one operation.
func hardNegativeCases(op hardOp, maxBody int) []hardCase {
	var cases []hardCase
	path, query := hardValidParams(op)
	validBody := ""
	if op.Body != nil {
		b, _ := json.Marshal(hardExample(op.Body))
		validBody = string(b)
	}
	add := func(name, p, body string) {
		cases = append(cases, hardCase{name: name, path: p, body: body, hasBody: op.Body != nil, wantStatus: 400, wantType: "ValidationError"})
	}

	// Parameters.
	for _, p := range op.Params {
		for name, v := range hardBadParams(p.Schema.Value) {
			if p.In == "header" {
				cases = append(cases, hardCase{name: fmt.Sprintf("header %s: %s", p.Name, name),
					path: hardBuildPath(op.Path, path, query.Encode()), body: validBody, hasBody: op.Body != nil,
					header: map[string]string{p.Name: v}, wantStatus: 400, wantType: "ValidationError"})
				continue
			}
			pp, q := map[string]string{}, url.Values{}
			for k, v := range path {
				pp[k] = v
			}
			for k, v := range query {
				q[k] = v
			}
			if p.In == "path" {
				pp[p.Name] = v
			} else {
				q.Set(p.Name, v)
			}
			add(fmt.Sprintf("%s %s: %s", p.In, p.Name, name), hardBuildPath(op.Path, pp, q.Encode()), validBody)
		}
		if p.In == "query" && p.Required {
			q := url.Values{}
			for k, v := range query {
				if k != p.Name {
					q[k] = v
				}
			}
			add("query "+p.Name+": missing", hardBuildPath(op.Path, path, q.Encode()), validBody)
		}
	}

	if op.Body == nil {
		return cases
	}
	target := hardBuildPath(op.Path, path, query.Encode())
	var base map[string]any
	if err := json.Unmarshal([]byte(validBody), &base); err != nil {
		panic(err)
	}
	with := func(change func(map[string]any)) string {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		change(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, req := range op.Body.Required {
		add("body: missing required "+req, target, with(func(m map[string]any) { delete(m, req) }))
	}
	if op.Body.MinProps > 0 {
		add("body: empty object (minProperties)", target, "{}")
	}
	if ap := op.Body.AdditionalProperties.Has; ap != nil && !*ap {
		add("body: unknown field", target, with(func(m map[string]any) { m["hard_unknown"] = 1 }))
	}
	for prop, ref := range op.Body.Properties {
		for name, v := range hardBadValues(ref.Value) {
			add(fmt.Sprintf("body.%s: %s", prop, name), target, with(func(m map[string]any) { m[prop] = v }))
		}
	}
	for name, raw := range map[string]string{
		"empty body": "", "not JSON": "{not json", "array": "[]", "string": `"text"`, "null": "null",
		"number": "42", "trailing garbage after a valid object (not JSON)": validBody + "x",
		"two objects (not JSON)": validBody + validBody, "invalid UTF-8": "{\"x\":\"\xff\"}",
	} {
		add("body: "+name, target, raw)
	}
	over := with(func(m map[string]any) { m["hard_padding"] = strings.Repeat("p", maxBody) })
	cases = append(cases, hardCase{name: "body: over MAX_REQUEST_BODY_BYTES", path: target, body: over, hasBody: true,
		wantStatus: http.StatusRequestEntityTooLarge, wantType: "PayloadTooLarge"})
	return cases
}

// hardCounts is what a refused request must leave unchanged.
type hardCounts struct {
	agcom.Stats
	Audit int
}

func hardCountsOf(t *testing.T, e *env) hardCounts {
	t.Helper()
	st, err := e.App.Store.Stats(t.Context())
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	ev, err := e.App.Store.ListAuditEvents(t.Context(), agcom.Caller{Handle: hardAdminHandle, IsAdmin: true},
		agcom.AuditFilter{Page: agcom.Page{Limit: 1}})
	if err != nil {
		t.Fatalf("audit events: %v", err)
	}
	return hardCounts{Stats: st, Audit: ev.Pagination.Total}
}

func TestSpecNegative400(t *testing.T) {
	const maxBody = 64 << 10
	e := newEnv(t, hardWithAdmin, func(c *config.Config) { c.MaxBodyBytes = maxBody })
	admin := e.token(hardAdminHandle)
	// Some data, so that a wrongly accepted request would have something
	// to change.
	e.send("alice", []string{"bob"}, "existing", "thread")
	if resp, body := e.do("POST", "/api/v1/contacts", admin, `{"handle":"bob"}`); resp.StatusCode != 201 {
		t.Fatalf("create contact: %d %s", resp.StatusCode, body)
	}
	before := hardCountsOf(t, e)
	if hardCountsOf(t, e) != before {
		t.Fatalf("counts change without requests")
	}

	total, withCases := 0, 0
	for _, op := range hardOperations(t) {
		cases := hardNegativeCases(op, maxBody)
		if len(cases) > 0 {
			withCases++
		}
		t.Run(op.Method+" "+op.Path, func(t *testing.T) {
			for _, c := range cases {
				total++
				var reqBody io.Reader
				if c.hasBody {
					reqBody = strings.NewReader(c.body)
				}
				resp, body := hardDo(t, nil, op.Method, e.URL+c.path, admin, reqBody, c.header)
				if now := hardCountsOf(t, e); now != before {
					t.Errorf("%s: something was written: counts %+v, then %+v", c.name, before, now)
					before = now
				}
				if resp.StatusCode != c.wantStatus {
					t.Errorf("%s: status %d, want %d; %s %.300s\n  body sent: %.200s", c.name, resp.StatusCode, c.wantStatus, c.path, body, c.body)
					continue
				}
				if p := hardEnvelopeProblem(resp, body); p != "" {
					t.Errorf("%s: %s; body %.300s", c.name, p, body)
					continue
				}
				if op.Method == http.MethodHead {
					continue // no body, so no error.type to check
				}
				var env agcomv1.ErrorEnvelope
				json.Unmarshal(body, &env)
				if string(env.Error.Type) != c.wantType {
					t.Errorf("%s: error.type %s, want %s", c.name, env.Error.Type, c.wantType)
				}
			}
		})
	}
	t.Logf("%d invalid requests over %d operations", total, withCases)
	if after := hardCountsOf(t, e); after != before {
		t.Errorf("counts changed: %+v, then %+v", before, after)
	}
}
