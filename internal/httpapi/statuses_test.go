package httpapi

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/agcom/agcom/gen/agcomv1"
)

// operation is one operation of the spec as the pipeline sees it.
type operation struct {
	route  string // "METHOD /api/v1/path"
	op     *openapi3.Operation
	params openapi3.Parameters // the path's and the operation's
}

// statusRule is a status that some operations can give.
type statusRule struct {
	status  int
	why     string
	applies func(o operation) bool
}

// TestContractDeclaresPipelineStatuses: every operation declares every
// status the middleware chain can give it, read from the same spec the
// chain reads, so that a new operation cannot forget one; the statuses
// only the chain gives (413, 429) are declared nowhere else; and every
// error is the error envelope.
func TestContractDeclaresPipelineStatuses(t *testing.T) {
	spec, err := agcomv1.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	public := publicRoutes(spec)
	bodies := routesWithBody(spec)
	idempotent := routesWithHeader(spec, "Idempotency-Key")
	categories, err := rateLimitCategories(spec)
	if err != nil {
		t.Fatal(err)
	}
	limited := func(route string) bool { return categories[route] != catNone }
	hasIn := func(params openapi3.Parameters, in string) bool {
		return slices.ContainsFunc(params, func(p *openapi3.ParameterRef) bool { return p.Value.In == in })
	}
	always := func(operation) bool { return true }
	must := []statusRule{
		{500, "recoverer and the error writer turn any unexpected failure into InternalError", always},
		{401, "auth.Middleware refuses a missing, bad or expired token, or a disabled agent",
			func(o operation) bool { return !public[o.route] }},
		{503, "auth.Middleware reads the agent from the store, which may be busy or unreachable",
			func(o operation) bool { return !public[o.route] }},
		{429, "the rate limiter limits every operation whose x-rate-limit-category is not none",
			func(o operation) bool { return limited(o.route) }},
		{503, "a rate limit's shared counter may fail (ServiceUnavailable)",
			func(o operation) bool { return limited(o.route) }},
		{400, "the validator and parameter binding refuse a malformed parameter",
			func(o operation) bool { return len(o.params) > 0 }},
		{400, "limitBody, the validator and the strict server refuse a malformed body",
			func(o operation) bool { return bodies[o.route] }},
		{413, "limitBody refuses a body over the limit",
			func(o operation) bool { return bodies[o.route] }},
		{409, "idempotency refuses a key reused for another request (IdempotencyKeyReused)",
			func(o operation) bool { return idempotent[o.route] }},
		{404, "a path parameter names something that may not exist or be invisible to the caller",
			func(o operation) bool { return hasIn(o.params, openapi3.ParameterInPath) }},
		{403, "requireAdmin refuses agents that are not admins",
			func(o operation) bool { return slices.Contains(o.op.Tags, "admin") }},
	}
	mustNot := []statusRule{
		{413, "only limitBody answers 413, and only to operations that take a body",
			func(o operation) bool { return !bodies[o.route] }},
		{429, "only the rate limiter answers 429, and never to operations of category none",
			func(o operation) bool { return !limited(o.route) }},
	}

	var ops []operation
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{method + " " + BasePath + path, op, append(slices.Clone(item.Parameters), op.Parameters...)})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].route < ops[j].route })
	if len(ops) < 30 || len(bodies) == 0 || len(public) == 0 || len(idempotent) == 0 {
		t.Fatalf("%d operations, %d with a body, %d public, %d idempotent: the spec was not read",
			len(ops), len(bodies), len(public), len(idempotent))
	}
	for _, o := range ops {
		declared := func(status int) bool { return o.op.Responses.Status(status) != nil }
		for _, r := range must {
			if r.applies(o) && !declared(r.status) {
				t.Errorf("%s does not declare %d: %s", o.route, r.status, r.why)
			}
		}
		for _, r := range mustNot {
			if r.applies(o) && declared(r.status) {
				t.Errorf("%s declares %d, which it never gives: %s", o.route, r.status, r.why)
			}
		}
		for code, resp := range o.op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("%s declares %q: declare each status by number", o.route, code)
				continue
			}
			if status >= http.StatusBadRequest && resp.Ref != "#/components/responses/Error" {
				t.Errorf("%s declares %d as %q, not the error envelope (#/components/responses/Error)", o.route, status, resp.Ref)
			}
		}
	}
}
