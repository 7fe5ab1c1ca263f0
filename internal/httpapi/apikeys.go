package httpapi

import (
	"context"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// apiKeyReader is what the API key handlers, and authentication, read.
type apiKeyReader interface {
	ListAPIKeys(ctx context.Context, handle string, p agcom.Page) (agcom.APIKeyList, error)
	APIKey(ctx context.Context, id string) (agcom.APIKey, string, error)
}

// apiKeyWriter creates, revokes and touches API keys, and registers the
// agents an identity provider vouches for.
type apiKeyWriter interface {
	CreateAPIKey(ctx context.Context, caller agcom.Caller, k agcom.NewAPIKey, secretDigest string) (agcom.APIKey, error)
	RevokeAPIKey(ctx context.Context, caller agcom.Caller, handle, id string) error
	TouchAPIKey(ctx context.Context, id string, since time.Time) error
	RegisterProviderAgent(ctx context.Context, handle, displayName string, details map[string]any) error
}

// CreateApiKey implements POST /agents/me/api-keys; the key is shown only
// here.
func (s *Server) CreateApiKey(ctx context.Context, req agcomv1.CreateApiKeyRequestObject) (agcomv1.CreateApiKeyResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	secret, digest, err := auth.NewAPIKeySecret()
	if err != nil {
		return nil, err
	}
	k, err := s.writes.CreateAPIKey(ctx, caller, agcom.NewAPIKey{Name: req.Body.Name, ExpiresAt: req.Body.ExpiresAt}, digest)
	if err != nil {
		return nil, err
	}
	return agcomv1.CreateApiKey201JSONResponse{ApiKey: toAPIKey(k), Key: auth.FormatAPIKey(k.ID, secret)}, nil
}

// ListMyApiKeys implements GET /agents/me/api-keys.
func (s *Server) ListMyApiKeys(ctx context.Context, req agcomv1.ListMyApiKeysRequestObject) (agcomv1.ListMyApiKeysResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListAPIKeys(ctx, caller.Handle, toDomainPage(req.Params.Limit, req.Params.Offset))
	if err != nil {
		return nil, err
	}
	return agcomv1.ListMyApiKeys200JSONResponse(toAPIKeyPage(list)), nil
}

// RevokeMyApiKey implements DELETE /agents/me/api-keys/{key_id}.
func (s *Server) RevokeMyApiKey(ctx context.Context, req agcomv1.RevokeMyApiKeyRequestObject) (agcomv1.RevokeMyApiKeyResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.writes.RevokeAPIKey(ctx, caller, caller.Handle, req.KeyId); err != nil {
		return nil, err
	}
	return agcomv1.RevokeMyApiKey204Response{}, nil
}

// ListAgentApiKeys implements GET /admin/agents/{handle}/api-keys.
func (s *Server) ListAgentApiKeys(ctx context.Context, req agcomv1.ListAgentApiKeysRequestObject) (agcomv1.ListAgentApiKeysResponseObject, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	list, err := s.store.ListAPIKeys(ctx, req.Handle, toDomainPage(req.Params.Limit, req.Params.Offset))
	if err != nil {
		return nil, err
	}
	return agcomv1.ListAgentApiKeys200JSONResponse(toAPIKeyPage(list)), nil
}

// RevokeAgentApiKey implements DELETE /admin/agents/{handle}/api-keys/{key_id}.
func (s *Server) RevokeAgentApiKey(ctx context.Context, req agcomv1.RevokeAgentApiKeyRequestObject) (agcomv1.RevokeAgentApiKeyResponseObject, error) {
	caller, err := requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.writes.RevokeAPIKey(ctx, caller, req.Handle, req.KeyId); err != nil {
		return nil, err
	}
	return agcomv1.RevokeAgentApiKey204Response{}, nil
}

func toAPIKey(k agcom.APIKey) agcomv1.ApiKey {
	return agcomv1.ApiKey{
		KeyId: k.ID, Handle: k.Handle, Name: k.Name, CreatedAt: k.CreatedAt,
		ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt,
	}
}

func toAPIKeyPage(l agcom.APIKeyList) agcomv1.ApiKeyPage {
	return agcomv1.ApiKeyPage{ApiKeys: convertAll(l.Keys, toAPIKey), Pagination: toAPIPagination(l.Pagination)}
}
