package agcom

import "context"

// The agent use cases change who may use the server: only an admin may
// call them. The operator, who holds the database itself, acts as one.

// requireAdmin returns EFORBIDDEN unless the caller is an admin.
func requireAdmin(caller Caller) error {
	if !caller.IsAdmin {
		return Errorf(EFORBIDDEN, "admin only")
	}
	return nil
}

// CreateAgent registers a with the given secret hash. Returns EFORBIDDEN
// unless the caller is an admin, ECONFLICT when the handle is taken,
// EINVALID for bad fields.
func (s *Service) CreateAgent(ctx context.Context, caller Caller, a Agent, secretHash string) (out Agent, err error) {
	if err := requireAdmin(caller); err != nil {
		return Agent{}, err
	}
	if err := CheckHandle("handle", a.Handle); err != nil {
		return Agent{}, err
	}
	if err := CheckOptionalText("display_name", a.DisplayName, MaxDisplayNameLen); err != nil {
		return Agent{}, err
	}
	err = s.w.Write(ctx, func(tx Tx) error {
		now := tx.Now()
		out = Agent{Handle: a.Handle, DisplayName: a.DisplayName, IsAdmin: a.IsAdmin, CreatedAt: now, UpdatedAt: now}
		if err := tx.InsertAgent(out, secretHash); err != nil {
			return err
		}
		return tx.Audit(EventAgentCreate, caller.Handle, []string{a.Handle}, map[string]any{"is_admin": a.IsAdmin})
	})
	return out, err
}

// UpdateAgent changes the fields of u that are set. Returns EFORBIDDEN
// unless the caller is an admin, ENOTFOUND when there is no such agent,
// EINVALID for bad fields.
func (s *Service) UpdateAgent(ctx context.Context, caller Caller, handle string, u AgentUpdate) (Agent, error) {
	if err := requireAdmin(caller); err != nil {
		return Agent{}, err
	}
	if u.DisplayName != nil {
		if err := CheckText("display_name", *u.DisplayName, MaxDisplayNameLen); err != nil {
			return Agent{}, err
		}
	}
	return s.changeAgent(ctx, caller, handle, EventAgentUpdate, func(_ Tx, a *Agent) (map[string]any, error) {
		details := map[string]any{}
		if u.IsAdmin != nil {
			a.IsAdmin = *u.IsAdmin
			details["is_admin"] = *u.IsAdmin
		}
		if u.Disabled != nil {
			a.Disabled = *u.Disabled
			details["disabled"] = *u.Disabled
		}
		if u.DisplayName != nil {
			a.DisplayName = *u.DisplayName
			details["display_name"] = *u.DisplayName
		}
		return details, nil
	})
}

// SetAgentSecret replaces the agent's secret hash. Returns EFORBIDDEN
// unless the caller is an admin, ENOTFOUND when there is no such agent.
func (s *Service) SetAgentSecret(ctx context.Context, caller Caller, handle, secretHash string) (Agent, error) {
	if err := requireAdmin(caller); err != nil {
		return Agent{}, err
	}
	return s.changeAgent(ctx, caller, handle, EventAgentSecretRotate, func(tx Tx, a *Agent) (map[string]any, error) {
		a.TokenGeneration++ // the tokens issued for the old secret end with it
		return map[string]any{}, tx.SetSecretHash(handle, secretHash)
	})
}

// RevokeAgentTokens ends every token issued to the agent so far: it
// raises the agent's token generation. Returns EFORBIDDEN unless the
// caller is an admin, ENOTFOUND when there is no such agent.
func (s *Service) RevokeAgentTokens(ctx context.Context, caller Caller, handle string) (Agent, error) {
	if err := requireAdmin(caller); err != nil {
		return Agent{}, err
	}
	return s.changeAgent(ctx, caller, handle, EventAgentTokensRevoke, func(_ Tx, a *Agent) (map[string]any, error) {
		a.TokenGeneration++
		return map[string]any{"token_generation": a.TokenGeneration}, nil
	})
}

// changeAgent locks the agent handle, lets change alter it (and write
// what else goes with it), stores it at the transaction's time, and
// audits eventType with the details change returns.
func (s *Service) changeAgent(ctx context.Context, caller Caller, handle, eventType string,
	change func(Tx, *Agent) (details map[string]any, err error)) (out Agent, err error) {
	err = s.w.Write(ctx, func(tx Tx) error {
		a, err := tx.LockAgent(handle)
		if err != nil {
			return err
		}
		details, err := change(tx, &a)
		if err != nil {
			return err
		}
		a.UpdatedAt = tx.Now()
		if err := tx.UpdateAgent(a); err != nil {
			return err
		}
		out = a
		return tx.Audit(eventType, caller.Handle, []string{handle}, details)
	})
	return out, err
}

// EnsureAdmin makes sure handle exists, is an enabled admin, and has the
// given secret hash: the ADMIN_HANDLE/ADMIN_SECRET bootstrap. Returns
// EINVALID for a bad handle.
func (s *Service) EnsureAdmin(ctx context.Context, handle, secretHash string) error {
	if err := CheckHandle("handle", handle); err != nil {
		return err
	}
	return s.w.Write(ctx, func(tx Tx) error {
		if err := tx.UpsertAdmin(handle, secretHash); err != nil {
			return err
		}
		return tx.Audit(EventAgentUpdate, handle, []string{handle}, map[string]any{"is_admin": true, "disabled": false, "bootstrap": true})
	})
}

// RecordTokenFailure audits a failed login for the claimed handle, from
// the client address clientAddr. Nobody authenticated, so the entry has no
// actor: the handle is its target.
func (s *Service) RecordTokenFailure(ctx context.Context, handle, reason, clientAddr string) error {
	return s.w.Write(ctx, func(tx Tx) error {
		return tx.Audit(EventTokenIssueFailure, "", []string{handle}, map[string]any{"reason": reason, "client_address": clientAddr})
	})
}
