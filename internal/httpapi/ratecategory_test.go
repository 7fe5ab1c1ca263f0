package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

// TestRateLimitCategories: every operation names a category the limiter
// knows, and the category fits what the operation does: only a public
// operation goes unlimited, only the login counts failed logins (the
// limiter reads the handle a TokenRequest claims), and an operation that
// changes something never takes a reading budget.
func TestRateLimitCategories(t *testing.T) {
	spec, err := agcomv1.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	categories, err := rateLimitCategories(spec)
	if err != nil {
		t.Fatal(err)
	}
	public := publicRoutes(spec)
	bodies := routesWithBody(spec)
	seen := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			route := method + " " + BasePath + path
			cat := categories[route]
			seen[cat] = true
			if cat == catNone && !public[route] {
				t.Errorf("%s: authenticated but never limited (%s: none)", route, rateLimitCategory)
			}
			if cat == catAuth && (!bodies[route] || op.RequestBody.Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/TokenRequest") {
				t.Errorf("%s: %s auth, but it takes no TokenRequest whose failures the login limit could count", route, rateLimitCategory)
			}
			if method != http.MethodGet && method != http.MethodHead && cat != catWrite && cat != catAuth {
				t.Errorf("%s: changes something, but counts as %s", route, cat)
			}
		}
	}
	for _, cat := range rateCategories {
		if !seen[cat] {
			t.Errorf("no operation is in category %q: the spec was not read, or the category is dead", cat)
		}
	}
}

// TestRateLimitCategoriesRefused: a spec with an operation that names no
// category, or one the limiter does not know, is refused (NewHandler then
// refuses to start).
func TestRateLimitCategoriesRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(ext map[string]any)
	}{
		{"missing", func(ext map[string]any) { delete(ext, rateLimitCategory) }},
		{"unknown", func(ext map[string]any) { ext[rateLimitCategory] = "reads" }},
		{"not a string", func(ext map[string]any) { ext[rateLimitCategory] = 100 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := agcomv1.GetSwagger()
			if err != nil {
				t.Fatal(err)
			}
			op := spec.Paths.Find("/threads").Operations()[http.MethodGet]
			tc.set(op.Extensions)
			_, err = rateLimitCategories(spec)
			if err == nil || !strings.Contains(err.Error(), "GET "+BasePath+"/threads") {
				t.Fatalf("rateLimitCategories = %v, want an error naming GET %s/threads", err, BasePath)
			}
		})
	}
}
