package httpapi

import (
	"context"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// agentReader is what the admin handlers read.
type agentReader interface {
	ListAgents(ctx context.Context, p agcom.Page) (agcom.AgentList, error)
	Stats(ctx context.Context) (agcom.Stats, error)
}

// agentWriter registers and changes agents; each use case refuses a
// caller that is not an admin.
type agentWriter interface {
	CreateAgent(ctx context.Context, caller agcom.Caller, a agcom.Agent, secretHash string) (agcom.Agent, error)
	UpdateAgent(ctx context.Context, caller agcom.Caller, handle string, u agcom.AgentUpdate) (agcom.Agent, error)
	SetAgentSecret(ctx context.Context, caller agcom.Caller, handle, secretHash string) (agcom.Agent, error)
	RevokeAgentTokens(ctx context.Context, caller agcom.Caller, handle string) (agcom.Agent, error)
}

// requireAdmin returns the caller if it is an admin, PermissionDenied
// otherwise. The flag comes from the store on this very request.
func requireAdmin(ctx context.Context) (agcom.Caller, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return caller, err
	}
	if !caller.IsAdmin {
		return caller, agcom.Errorf(agcom.EFORBIDDEN, "admin only")
	}
	return caller, nil
}

// ListAgents implements GET /admin/agents.
func (s *Server) ListAgents(ctx context.Context, req agcomv1.ListAgentsRequestObject) (agcomv1.ListAgentsResponseObject, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	list, err := s.store.ListAgents(ctx, toDomainPage(req.Params.Limit, req.Params.Offset))
	if err != nil {
		return nil, err
	}
	return agcomv1.ListAgents200JSONResponse{
		Agents: convertAll(list.Agents, toAPIAgent), Pagination: toAPIPagination(list.Pagination),
	}, nil
}

// CreateAgent implements POST /admin/agents; the secret is shown only here.
func (s *Server) CreateAgent(ctx context.Context, req agcomv1.CreateAgentRequestObject) (agcomv1.CreateAgentResponseObject, error) {
	caller, err := requireAdmin(ctx) // before a secret is hashed for nothing
	if err != nil {
		return nil, err
	}
	secret, hash, err := s.hasher.NewCredentials(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.writes.CreateAgent(ctx, caller, agcom.Agent{
		Handle: req.Body.Handle, DisplayName: deref(req.Body.DisplayName), IsAdmin: deref(req.Body.IsAdmin),
	}, hash)
	if err != nil {
		return nil, err
	}
	return agcomv1.CreateAgent201JSONResponse{Agent: toAPIAgent(a), AgentSecret: secret}, nil
}

// UpdateAgent implements PATCH /admin/agents/{handle}.
func (s *Server) UpdateAgent(ctx context.Context, req agcomv1.UpdateAgentRequestObject) (agcomv1.UpdateAgentResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.writes.UpdateAgent(ctx, caller, req.Handle, agcom.AgentUpdate{
		IsAdmin: req.Body.IsAdmin, Disabled: req.Body.Disabled, DisplayName: req.Body.DisplayName,
	})
	if err != nil {
		return nil, err
	}
	return agcomv1.UpdateAgent200JSONResponse(toAPIAgent(a)), nil
}

// RotateAgentSecret implements POST /admin/agents/{handle}/rotate-secret.
func (s *Server) RotateAgentSecret(ctx context.Context, req agcomv1.RotateAgentSecretRequestObject) (agcomv1.RotateAgentSecretResponseObject, error) {
	caller, err := requireAdmin(ctx) // before a secret is hashed for nothing
	if err != nil {
		return nil, err
	}
	secret, hash, err := s.hasher.NewCredentials(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.writes.SetAgentSecret(ctx, caller, req.Handle, hash)
	if err != nil {
		return nil, err
	}
	return agcomv1.RotateAgentSecret200JSONResponse{Agent: toAPIAgent(a), AgentSecret: secret}, nil
}

// RevokeAgentTokens implements POST /admin/agents/{handle}/revoke-tokens.
func (s *Server) RevokeAgentTokens(ctx context.Context, req agcomv1.RevokeAgentTokensRequestObject) (agcomv1.RevokeAgentTokensResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.writes.RevokeAgentTokens(ctx, caller, req.Handle)
	if err != nil {
		return nil, err
	}
	return agcomv1.RevokeAgentTokens200JSONResponse(toAPIAgent(a)), nil
}

// GetStats implements GET /admin/stats.
func (s *Server) GetStats(ctx context.Context, _ agcomv1.GetStatsRequestObject) (agcomv1.GetStatsResponseObject, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	st, err := s.store.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return agcomv1.GetStats200JSONResponse{Threads: st.Threads, Messages: st.Messages, Agents: st.Agents, Contacts: st.Contacts}, nil
}
