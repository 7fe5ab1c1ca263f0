package tests

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// ignoredBodyBytes is larger than the default body limit (1 MiB).
const ignoredBodyBytes = 2 << 20

// ignoredBody is what no operation could accept as a body: larger than the
// limit, not JSON and not UTF-8.
func ignoredBody() []byte {
	return append([]byte("\xff\xfe not json "), bytes.Repeat([]byte("x"), ignoredBodyBytes)...)
}

// TestRotateSecretIgnoresBody200: an operation without a request body
// never reads one, so a body it was sent, however large, changes nothing.
func TestRotateSecretIgnoresBody200(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	if e.App.Config.MaxBodyBytes >= ignoredBodyBytes {
		t.Fatalf("the body limit %d is not below the %d bytes sent", e.App.Config.MaxBodyBytes, ignoredBodyBytes)
	}
	old := e.createAgent(e.rootClient(), "bob", false)

	req, err := http.NewRequest(http.MethodPost, e.URL+"/api/v1/admin/agents/bob/rotate-secret", bytes.NewReader(ignoredBody()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.login(rootHandle, rootSecret))
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("rotate-secret with a %d-byte body: %v", ignoredBodyBytes, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("rotate-secret with a %d-byte body: status %d, want 200; body %.300s", ignoredBodyBytes, resp.StatusCode, b)
	}
	rotated, err := agcomv1.ParseRotateAgentSecretResponse(resp)
	if err != nil || rotated.JSON200 == nil {
		t.Fatalf("rotate-secret answer: %v", err)
	}
	e.remember(rotated.JSON200.AgentSecret)
	e.login("bob", rotated.JSON200.AgentSecret)
	if r := e.issueToken("bob", old.AgentSecret); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("the old secret after rotation: status %d, want 401", r.StatusCode())
	}
}

// TestOperationsWithoutBodyIgnoreBody: every operation whose contract takes
// no request body answers a request with an oversized, malformed body as
// it answers the same request without one: never 413, never a body error.
func TestOperationsWithoutBodyIgnoreBody(t *testing.T) {
	e := newEnv(t, hardWithAdmin, func(c *config.Config) { c.MaxBodyBytes = 1 << 20 })
	admin := e.token(hardAdminHandle)
	m := e.send(hardAdminHandle, []string{"bob"}, "kept", "thread")
	args := map[string]string{
		"{message_id}": m.MessageId, "{thread_id}": m.ThreadId, "{handle}": "bob", "{key}": "absent",
		"{key_id}":        "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", // no such API key
		"{attachment_id}": e.uploaded(hardAdminHandle, "kept.txt", "text/plain", []byte("kept")).AttachmentId,
	}
	if resp, body := e.do(http.MethodPost, "/api/v1/contacts", admin, `{"handle":"bob"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create contact: status %d, body %s", resp.StatusCode, body)
	}
	if resp, body := e.do(http.MethodPost, "/api/v1/admin/agents", admin, `{"handle":"bob"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create agent: status %d, body %s", resp.StatusCode, body)
	}

	spec, err := agcomv1.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				ops = append(ops, method+" "+path)
			}
		}
	}
	sort.Strings(ops)
	if len(ops) < 20 {
		t.Fatalf("%d operations without a request body; expected more", len(ops))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		for name, arg := range args {
			path = strings.ReplaceAll(path, name, arg)
		}
		if strings.HasSuffix(path, "/search") {
			path += "?query=kept"
		}
		t.Run(op, func(t *testing.T) {
			// The body first: a change it made would show in the second answer.
			with := statusOf(t, client, method, e.URL+"/api/v1"+path, admin, ignoredBody())
			without := statusOf(t, client, method, e.URL+"/api/v1"+path, admin, nil)
			if with != without {
				t.Errorf("with a %d-byte malformed body: status %d; without a body: %d", ignoredBodyBytes, with, without)
			}
			if with == http.StatusRequestEntityTooLarge || with == http.StatusBadRequest {
				t.Errorf("status %d: the body was read", with)
			}
		})
	}
}

// statusOf sends one request and returns its status; it reads no more
// than the head of an event stream.
func statusOf(t *testing.T, client *http.Client, method, url, token string, body []byte) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode
}
