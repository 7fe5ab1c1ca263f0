package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// When the server ends the session (idle, or restarted), agcom mcp opens a
// new one, with the subscriptions of the old, and the call that found the
// session gone is made in the new one.
func TestMCPProxyReopensSession(t *testing.T) {
	s := newServer(t)
	token := s.mint(t, "alice")
	r := newRemote(s.URL, token)
	defer r.close()
	ctx := t.Context()
	local, err := r.proxy(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A desktop client on the local server, in memory.
	notified := make(chan struct{}, 8)
	desktop := mcp.NewClient(&mcp.Implementation{Name: "desktop", Version: "1"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(context.Context, *mcp.ResourceUpdatedNotificationRequest) { notified <- struct{}{} },
	})
	serverEnd, clientEnd := mcp.NewInMemoryTransports()
	go local.Run(ctx, serverEnd)
	cs, err := desktop.Connect(ctx, clientEnd, &mcp.ClientSessionOptions{ProtocolVersion: "2025-06-18"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "agcom://inbox"}); err != nil {
		t.Fatal(err)
	}

	// The server ends the remote session.
	old, _ := r.session(ctx)
	req, _ := http.NewRequest(http.MethodDelete, s.URL+mcpPath, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Mcp-Session-Id", old.ID())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE the session: %d", resp.StatusCode)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_threads", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("a call after the session ended: %v %+v", err, res)
	}
	if now, _ := r.session(ctx); now.ID() == old.ID() {
		t.Fatal("the call went to the ended session")
	}

	// The new session has the subscription: bob's message is announced.
	bob := s.as(t, "bob")
	bob.ok("send", "alice", "--subject", "Still there?", "--body", "Yes")
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after the session was opened again")
	}
}
