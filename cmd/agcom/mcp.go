package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpPath is where agcomd serves MCP.
const mcpPath = "/mcp"

// serveMCP speaks MCP over stdin and stdout, for desktop clients that only
// launch local processes, and forwards everything to the server's /mcp
// with the saved login: the tools, the inbox resource and its
// notifications are the server's. Nothing else may be written to stdout.
func (c *cli) serveMCP(ctx context.Context, args []string) error {
	if _, err := c.parse("mcp", "", args, 0, 0); err != nil {
		return err
	}
	serverURL, token, err := c.credentials()
	if err != nil {
		return err
	}
	r := newRemote(serverURL, token)
	defer r.close()
	local, err := r.proxy(ctx)
	if err != nil {
		return withHint(fmt.Errorf("cannot open an MCP session at %s: %w", r.endpoint, err),
			"is agcomd running there, and is your login valid? `agcom inbox` tells")
	}
	err = local.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(os.Stdin), Writer: nopWriteCloser{c.stdout}})
	if ctx.Err() != nil || errors.Is(err, io.EOF) {
		return nil // the client closed stdin, or an interrupt
	}
	return err
}

func newRemote(serverURL, token string) *remote {
	return &remote{
		endpoint: strings.TrimRight(serverURL, "/") + mcpPath,
		hc:       &http.Client{Transport: bearer{token: token, base: http.DefaultTransport}},
		subs:     map[string]bool{},
	}
}

// proxy returns the local server: it offers what the remote one offers,
// as it was when the session opened, and forwards every request.
func (r *remote) proxy(ctx context.Context) (*mcp.Server, error) {
	cs, err := r.session(ctx)
	if err != nil {
		return nil, err
	}
	local := mcp.NewServer(&mcp.Implementation{Name: "agcom", Title: "AgCom", Version: version}, &mcp.ServerOptions{
		Instructions:       cs.InitializeResult().Instructions,
		SubscribeHandler:   r.subscribe,
		UnsubscribeHandler: r.unsubscribe,
		Capabilities:       &mcp.ServerCapabilities{},
	})
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("list the server's tools: %w", err)
		}
		local.AddTool(tool, r.callTool)
	}
	for res, err := range cs.Resources(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("list the server's resources: %w", err)
		}
		local.AddResource(res, r.readResource)
	}
	r.setLocal(local)
	return local, nil
}

// bearer sends every request with the token.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("User-Agent", "agcom-cli/"+version)
	return b.base.RoundTrip(req)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// remote is the session with the server, opened again when the server has
// ended it (idle, or restarted), with the subscriptions it had. Requests
// are forwarded with their parameters only: the local session's protocol
// metadata is not the remote one's.
type remote struct {
	endpoint string
	hc       *http.Client

	mu sync.Mutex
	// local is the stdio server, told of the remote's notifications.
	local *mcp.Server
	cs    *mcp.ClientSession
	subs  map[string]bool
}

func (r *remote) setLocal(s *mcp.Server) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.local = s
}

// session returns the open session, opening one if there is none.
func (r *remote) session(ctx context.Context) (*mcp.ClientSession, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cs != nil {
		return r.cs, nil
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "agcom-cli", Version: version}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(ctx context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			r.mu.Lock()
			local := r.local
			r.mu.Unlock()
			if local != nil {
				local.ResourceUpdated(ctx, req.Params)
			}
		},
	})
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: r.endpoint, HTTPClient: r.hc}, nil)
	if err != nil {
		return nil, err
	}
	for uri := range r.subs {
		if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
			cs.Close()
			return nil, err
		}
	}
	r.cs = cs
	return cs, nil
}

// do runs f in the session; when the server no longer knows the session
// (so f was not carried out), once more in a new one.
func (r *remote) do(ctx context.Context, f func(*mcp.ClientSession) error) error {
	cs, err := r.session(ctx)
	if err != nil {
		return err
	}
	err = f(cs)
	if !errors.Is(err, mcp.ErrSessionMissing) && !errors.Is(err, mcp.ErrConnectionClosed) {
		return err
	}
	r.mu.Lock()
	if r.cs == cs {
		r.cs = nil
	}
	r.mu.Unlock()
	cs.Close()
	if cs, err = r.session(ctx); err != nil {
		return err
	}
	return f(cs)
}

func (r *remote) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cs != nil {
		r.cs.Close()
		r.cs = nil
	}
}

func (r *remote) callTool(ctx context.Context, req *mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
	err = r.do(ctx, func(cs *mcp.ClientSession) error {
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: req.Params.Name, Arguments: req.Params.Arguments})
		return err
	})
	return res, err
}

func (r *remote) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (res *mcp.ReadResourceResult, err error) {
	err = r.do(ctx, func(cs *mcp.ClientSession) error {
		res, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: req.Params.URI})
		return err
	})
	return res, err
}

func (r *remote) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	err := r.do(ctx, func(cs *mcp.ClientSession) error { return cs.Subscribe(ctx, &mcp.SubscribeParams{URI: req.Params.URI}) })
	if err == nil {
		r.mu.Lock()
		r.subs[req.Params.URI] = true
		r.mu.Unlock()
	}
	return err
}

func (r *remote) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	r.mu.Lock()
	delete(r.subs, req.Params.URI)
	r.mu.Unlock()
	return r.do(ctx, func(cs *mcp.ClientSession) error {
		return cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: req.Params.URI})
	})
}
