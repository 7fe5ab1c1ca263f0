package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agcom/agcom/gen/agcomv1"
)

// buildAgcom builds the command line client into dir.
func buildAgcom(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "agcom")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/agcom")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/agcom: %v\n%s", err, out)
	}
	return bin
}

// `agcom mcp` speaks MCP on stdin and stdout with the login `agcom login`
// saved, and forwards to the server: a desktop client launching it sees
// the server's tools and inbox.
func TestMCPOverStdio(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	bin := buildAgcom(t, dir)
	env := append(os.Environ(), "AGCOM_URL="+e.URL, "AGCOM_CONFIG="+filepath.Join(dir, "alice.json"), "AGCOM_TOKEN=")

	// Not logged in: the command says so, before speaking MCP.
	cmd := exec.Command(bin, "mcp")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 3 || len(out) != 0 || !strings.Contains(stderr.String(), "not logged in") {
		t.Fatalf("agcom mcp without a login: %v, stdout %q, stderr %q; want exit code 3", err, out, stderr.String())
	}

	login := exec.Command(bin, "login", "--token", e.token("alice"))
	login.Env = env
	if out, err := login.CombinedOutput(); err != nil {
		t.Fatalf("agcom login: %v\n%s", err, out)
	}
	// What desktop clients speak today, and the SDK's latest, whose
	// subscribe returns before the subscription is in place.
	for _, version := range []string{"2025-06-18", ""} {
		t.Run("protocol"+version, func(t *testing.T) { stdioSession(t, e, bin, env, version) })
	}
}

func stdioSession(t *testing.T, e *env, bin string, env []string, version string) {
	updated := make(chan string, 8)
	client := mcp.NewClient(&mcp.Implementation{Name: "desktop", Version: "1.0.0"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			updated <- req.Params.URI
		},
	})
	cmd := exec.Command(bin, "mcp")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect to agcom mcp: %v; stderr %s", err, stderr.String())
	}
	defer cs.Close()

	names := map[string]bool{}
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names[tool.Name] = true
	}
	for _, want := range []string{"send_message", "list_inbox", "reply_to_message", "wait_for_events"} {
		if !names[want] {
			t.Errorf("agcom mcp lists no %s (has %v)", want, names)
		}
	}
	if names["create_agent"] {
		t.Error("agcom mcp lists an admin tool to alice")
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "send_message", Arguments: map[string]any{
		"to_handles": []string{"bob"}, "subject": "From the desktop", "body": "Hello over stdio",
	}})
	if err != nil || res.IsError {
		t.Fatalf("send_message: %v %+v", err, res)
	}
	var sent agcomv1.Message
	b, _ := json.Marshal(res.StructuredContent)
	json.Unmarshal(b, &sent)
	if sent.FromHandle != "alice" || sent.Subject != "From the desktop" {
		t.Fatalf("send_message answered %s", b)
	}
	if got := e.thread("bob", sent.ThreadId); got.Subject != "From the desktop" {
		t.Errorf("bob's view of the thread: %+v", got)
	}

	// Errors come through as the server made them.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_thread", Arguments: map[string]any{"thread_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}})
	if err != nil || !res.IsError || !strings.HasPrefix(resultText(res), "NotFound: ") {
		t.Errorf("get_thread of nothing: %v %+v", err, res)
	}

	// The inbox, and its notifications.
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "agcom://inbox"}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	reply := e.replyTo("bob", sent.MessageId, "Got it")
	wait, tries := 10*time.Second, 1
	if version == "" {
		wait, tries = time.Second, 15
	}
	for notified := false; !notified; tries-- {
		if tries == 0 {
			t.Fatalf("no notification through agcom mcp; stderr %s", stderr.String())
		}
		select {
		case uri := <-updated:
			if uri != "agcom://inbox" {
				t.Errorf("updated %s", uri)
			}
			notified = true
		case <-time.After(wait):
			reply = e.replyTo("bob", sent.MessageId, "Got it?") // the subscription may not be in place yet
		}
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "agcom://inbox"})
	if err != nil || len(rr.Contents) != 1 || !strings.Contains(rr.Contents[0].Text, reply.MessageId) {
		t.Fatalf("read agcom://inbox: %v %+v", err, rr)
	}
}
