// Package tests holds AgCom's contract tests: the real server, on a real
// SQLite file in a temporary directory (or, with AGCOM_TEST_STORE=postgres,
// a fresh schema of a real PostgreSQL database), driven through the
// generated client.
package tests

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testdb"
	"github.com/agcom/agcom/internal/testserver"
)

const testSecretKey = testserver.SecretKey

// env is one running server with its own database.
type env struct {
	t   *testing.T
	URL string
	// MetricsURL serves /metrics, apart from the API.
	MetricsURL string
	App        *app.App
}

// newEnv boots the whole program on a temporary database (on PostgreSQL
// when AGCOM_TEST_STORE=postgres). Options may adjust the configuration
// before start-up; tests of the rate limits turn them on with one.
func newEnv(t *testing.T, opts ...func(*config.Config)) *env {
	t.Helper()
	s := testserver.New(t, testserver.Options{Config: append([]func(*config.Config){onTestStore(t)}, opts...)})
	return &env{t: t, URL: s.URL, MetricsURL: s.MetricsURL, App: s.App}
}

// onTestStore points the server at PostgreSQL when the tests run on it.
func onTestStore(tb testing.TB) func(*config.Config) {
	return func(cfg *config.Config) {
		if testdb.Postgres() {
			cfg.DatabaseURL = testdb.PostgresURL(tb)
		}
	}
}

// token mints a token for handle with the server's key.
func (e *env) token(handle string) string {
	e.t.Helper()
	tok, err := e.App.Keys.Mint(handle, "", time.Hour, time.Now())
	if err != nil {
		e.t.Fatalf("mint token for %s: %v", handle, err)
	}
	return tok
}

// client returns a generated client that acts as handle.
func (e *env) client(handle string) *agcomv1.ClientWithResponses {
	e.t.Helper()
	return e.clientWithToken(e.token(handle))
}

// clientWithToken returns a generated client that sends token; an empty
// token sends no Authorization header.
func (e *env) clientWithToken(token string) *agcomv1.ClientWithResponses {
	e.t.Helper()
	c, err := agcomv1.NewClientWithResponses(e.URL+"/api/v1", agcomv1.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		}))
	if err != nil {
		e.t.Fatalf("client: %v", err)
	}
	return c
}

// do sends a raw request, for what the generated client cannot express
// (malformed bodies, unknown paths, wrong methods), with token as a bearer
// token (none when empty).
func (e *env) do(method, path, token, body string) (*http.Response, []byte) {
	e.t.Helper()
	authorization := ""
	if token != "" {
		authorization = "Bearer " + token
	}
	return e.doAuth(method, path, authorization, body)
}

// doAuth sends a request with the Authorization header exactly as given
// (none when empty).
func (e *env) doAuth(method, path, authorization, body string) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// send opens a thread from `from` to `to` and returns the message.
func (e *env) send(from string, to []string, subject, body string) agcomv1.Message {
	e.t.Helper()
	resp, err := e.client(from).SendMessageWithResponse(context.Background(), nil, agcomv1.SendMessageRequest{
		ToHandles: to, Subject: subject, Body: body,
	})
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
	if resp.JSON201 == nil {
		e.t.Fatalf("send: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// wantError checks that an HTTP response is the error envelope with the
// given status and type, with a request id that matches X-Request-ID.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, typ string) agcomv1.ErrorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var env agcomv1.ErrorEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("body is not the error envelope: %v: %s", err, body)
	}
	if string(env.Error.Type) != typ {
		t.Errorf("error.type = %q, want %q (message %q)", env.Error.Type, typ, env.Error.Message)
	}
	if env.Error.Message == "" {
		t.Errorf("error.message is empty")
	}
	if env.Error.RequestId == "" || env.Error.RequestId != resp.Header.Get("X-Request-ID") {
		t.Errorf("error.request_id = %q, X-Request-ID = %q; want equal and non-empty",
			env.Error.RequestId, resp.Header.Get("X-Request-ID"))
	}
	return env.Error
}
