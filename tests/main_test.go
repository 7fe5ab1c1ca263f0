package tests

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/agcom/agcom/internal/testserver"
)

// TestMain checks, as the client receives it, every answer that reaches
// the default HTTP transport against openapi.yaml: the answers of the real
// binary in its own process too, which no server-side check sees. A
// mismatch fails the run.
func TestMain(m *testing.M) {
	check, err := testserver.NewTransport(http.DefaultTransport)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.DefaultTransport = check
	code := m.Run()
	if err := check.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		code = 1
	}
	os.Exit(code)
}
