package httpapi

import (
	"context"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// credentialReader is what the login handler reads.
type credentialReader interface {
	AgentCredentials(ctx context.Context, handle string) (agcom.Agent, string, error)
}

// loginAuditor records failed logins.
type loginAuditor interface {
	RecordTokenFailure(ctx context.Context, handle, reason, clientAddr string) error
}

// badCredentials is the one answer to every failed login, so that it does
// not tell an unknown handle from a wrong secret or a disabled agent.
var badCredentials = &agcom.Error{Code: agcom.EUNAUTHENTICATED, Message: "invalid agent handle or secret"}

// IssueToken implements POST /auth/token.
func (s *Server) IssueToken(ctx context.Context, req agcomv1.IssueTokenRequestObject) (agcomv1.IssueTokenResponseObject, error) {
	handle, secret := req.Body.AgentHandle, req.Body.AgentSecret
	agent, hash, err := s.store.AgentCredentials(ctx, handle)
	reason := ""
	switch {
	case agcom.ErrorCode(err) == agcom.ENOTFOUND:
		hash, reason = "", "unknown_agent" // checked against a dummy: the same time
	case err != nil:
		return nil, err
	}
	ok, err := s.hasher.Check(ctx, hash, secret)
	switch {
	case err != nil:
		return nil, err
	case reason != "":
	case !ok:
		reason = "wrong_secret"
	case agent.Disabled:
		reason = "disabled"
	}
	if reason != "" {
		if err := s.writes.RecordTokenFailure(ctx, handle, reason, requestInfoFrom(ctx).client); err != nil {
			return nil, err
		}
		return nil, badCredentials
	}
	token, err := s.keys.Issue(auth.Claims{
		Handle: agent.Handle, DisplayName: agent.DisplayName, Generation: agent.TokenGeneration,
	}, s.tokenTTL, s.now())
	if err != nil {
		return nil, err
	}
	return agcomv1.IssueToken200JSONResponse{
		AccessToken: token, TokenType: agcomv1.Bearer, ExpiresIn: int(s.tokenTTL.Seconds()),
	}, nil
}
