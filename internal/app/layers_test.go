package app_test

import (
	"go/build"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A request walks down router → handler → use case → store and answers
// back the same way: no package imports one above it, and the domain
// imports nothing of the wire.
func TestLayersImportDownward(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	const mod = "github.com/agcom/agcom/"
	rules := []struct {
		pkg       string
		forbidden []string // import path prefixes
	}{
		{"internal/agcom", []string{mod, "net/http", "encoding/", "mime", "html/"}},
		{"internal/store/sqlite", []string{mod + "internal/httpapi", mod + "internal/auth", mod + "internal/app", mod + "gen/", "net/http"}},
		{"internal/store/postgres", []string{mod + "internal/httpapi", mod + "internal/auth", mod + "internal/app", mod + "gen/", "net/http"}},
		{"internal/store/hub", []string{mod + "internal/"}},
		{"internal/store/dump", []string{mod + "internal/"}},
		{"internal/store/migrations", []string{mod + "internal/"}},
		{"internal/auth", []string{mod + "internal/httpapi", mod + "internal/store", mod + "internal/app"}},
		{"internal/httpapi", []string{mod + "internal/store", mod + "internal/app", mod + "internal/mcp"}},
		// MCP calls the API through HTTP, never its insides.
		{"internal/mcp", []string{mod + "internal/store", mod + "internal/app", mod + "internal/httpapi", mod + "gen/"}},
	}
	for _, r := range rules {
		p, err := build.ImportDir(filepath.Join(root, r.pkg), 0)
		if err != nil {
			t.Fatalf("%s: %v", r.pkg, err)
		}
		for _, imp := range p.Imports {
			for _, f := range r.forbidden {
				// The domain may import its own subpackages, if it ever has any.
				if strings.HasPrefix(imp, f) && !strings.HasPrefix(imp, mod+r.pkg) {
					t.Errorf("%s imports %s, a layer it must not reach", r.pkg, imp)
				}
			}
		}
	}
}
