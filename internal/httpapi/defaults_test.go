package httpapi

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// TestDefaultsAreTheContracts: every default openapi.yaml gives a request
// parameter or body property is the value a handler applies when the
// request leaves it out (the validator does not fill defaults in), and
// every default a handler applies is one the contract gives.
func TestDefaultsAreTheContracts(t *testing.T) {
	// What the handlers apply: by "METHOD /path parameter" for an
	// operation's own parameter, "#/components/parameters/X" for a shared
	// one, and "Schema.property" for a body property.
	applied := map[string]any{
		"#/components/parameters/Limit":      agcom.DefaultLimit, // toDomainPage: 0, which the store reads as DefaultLimit
		"#/components/parameters/Offset":     0,                  // toDomainPage: deref
		"#/components/parameters/ActiveOnly": activeOnly(nil),
		"GET /messages/search in_subject":    defaultSearchIn,
		"GET /messages/search in_body":       defaultSearchIn,
		"GET /inbox unread_only":             false, // deref
		"GET /events wait":                   0,     // deref
		"GET /events limit":                  defaultEventLimit,
		"ContactUpdate.is_active":            activeOnly(nil),
		"AgentCreate.is_admin":               false, // deref
	}
	spec, err := agcomv1.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]any{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			for _, p := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				if d := p.Value.Schema.Value.Default; d != nil {
					key := p.Ref
					if key == "" {
						key = method + " " + path + " " + p.Value.Name
					}
					declared[key] = d
				}
			}
			if op.RequestBody == nil {
				continue
			}
			for _, media := range op.RequestBody.Value.Content {
				name := strings.TrimPrefix(media.Schema.Ref, "#/components/schemas/")
				for prop, s := range media.Schema.Value.Properties {
					if s.Value.Default != nil {
						declared[name+"."+prop] = s.Value.Default
					}
				}
			}
		}
	}
	if len(declared) < 5 {
		t.Fatalf("%d defaults: the spec was not read", len(declared))
	}
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	for _, k := range keys(declared) {
		got, ok := applied[k]
		switch {
		case !ok:
			t.Errorf("%s: openapi.yaml gives the default %v; add what the handler applies to this test", k, declared[k])
		case fmt.Sprint(got) != fmt.Sprint(declared[k]):
			t.Errorf("%s: the handler applies %v, openapi.yaml gives %v", k, got, declared[k])
		}
	}
	for _, k := range keys(applied) {
		if _, ok := declared[k]; !ok {
			t.Errorf("%s: a handler applies a default, openapi.yaml gives none", k)
		}
	}
}

// TestEventLimitsAreTheContracts: a stream reads the event log in pages
// of the largest a long-poll may ask for.
func TestEventLimitsAreTheContracts(t *testing.T) {
	spec, err := agcomv1.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	op := spec.Paths.Find("/events").Get
	if op == nil || op.Parameters.GetByInAndName(openapi3.ParameterInQuery, "limit") == nil {
		t.Fatal("openapi.yaml: GET /events has no limit")
	}
	limit := op.Parameters.GetByInAndName(openapi3.ParameterInQuery, "limit").Schema.Value
	if limit.Max == nil {
		t.Fatal("openapi.yaml: GET /events?limit has no maximum")
	}
	if int(*limit.Max) != streamBatch {
		t.Errorf("streamBatch is %d, GET /events?limit's maximum %v", streamBatch, *limit.Max)
	}
}
