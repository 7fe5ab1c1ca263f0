package httpapi

import (
	"strings"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

// TestRateLimitCategoriesMatchRouteShapes: the categories the spec names
// are the ones categoryOf guessed from each route's shape.
func TestRateLimitCategoriesMatchRouteShapes(t *testing.T) {
	spec, err := agcomv1.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	categories, err := rateLimitCategories(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(categories) < 30 {
		t.Fatalf("%d operations: the spec was not read", len(categories))
	}
	for route, got := range categories {
		method, pattern, _ := strings.Cut(route, " ")
		want := categoryOf(method, pattern)
		if want == "" {
			want = catNone
		}
		if got != want {
			t.Errorf("%s: x-rate-limit-category %q, categoryOf %q", route, got, want)
		}
	}
}
