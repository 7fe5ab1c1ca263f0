package sdk

import (
	"context"
	"net/http"

	"github.com/agcom/agcom/gen/agcomv1"
)

// CreateAPIKey creates an API key for the Client's agent and returns it,
// shown only this once (POST /agents/me/api-keys). A Client made
// WithAPIKey(created.Key) acts as the agent.
func (c *Client) CreateAPIKey(ctx context.Context, req agcomv1.ApiKeyCreate) (agcomv1.ApiKeyCreated, error) {
	r, err := c.api.CreateApiKeyWithResponse(ctx, req)
	return value(r, err, (*agcomv1.CreateApiKeyResponse).GetJSON201)
}

// ListAPIKeys lists the agent's API keys, newest first, without their
// secrets (GET /agents/me/api-keys).
func (c *Client) ListAPIKeys(ctx context.Context, params *agcomv1.ListMyApiKeysParams) (agcomv1.ApiKeyPage, error) {
	r, err := c.api.ListMyApiKeysWithResponse(ctx, params)
	return value(r, err, (*agcomv1.ListMyApiKeysResponse).GetJSON200)
}

// RevokeAPIKey revokes one of the agent's API keys
// (DELETE /agents/me/api-keys/{key_id}).
func (c *Client) RevokeAPIKey(ctx context.Context, keyID string) error {
	r, err := c.api.RevokeMyApiKeyWithResponse(ctx, keyID)
	return noContent(r, err)
}

// ListAgentAPIKeys lists an agent's API keys
// (GET /admin/agents/{handle}/api-keys; admins only).
func (c *Client) ListAgentAPIKeys(ctx context.Context, handle string, params *agcomv1.ListAgentApiKeysParams) (agcomv1.ApiKeyPage, error) {
	r, err := c.api.ListAgentApiKeysWithResponse(ctx, handle, params)
	return value(r, err, (*agcomv1.ListAgentApiKeysResponse).GetJSON200)
}

// RevokeAgentAPIKey revokes an agent's API key
// (DELETE /admin/agents/{handle}/api-keys/{key_id}; admins only).
func (c *Client) RevokeAgentAPIKey(ctx context.Context, handle, keyID string) error {
	r, err := c.api.RevokeAgentApiKeyWithResponse(ctx, handle, keyID)
	return noContent(r, err)
}

// noContent is value for an operation answered 204 with no body.
func noContent[R response](r R, err error) error {
	if err != nil {
		return err
	}
	if r.StatusCode() == http.StatusNoContent {
		return nil
	}
	return newError(r.StatusCode(), r.GetBody())
}
