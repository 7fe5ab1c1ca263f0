package httpapi

import (
	"context"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// pinger is what the health check asks of the store.
type pinger interface {
	Ping(ctx context.Context) (schemaVersion int, err error)
}

// objectPinger is what readiness asks of a store that keeps attachments'
// bytes in a bucket.
type objectPinger interface {
	// PingObjects checks the bucket; kept is false when there is none.
	PingObjects(ctx context.Context) (kept bool, err error)
}

// GetHealth implements GET /health: the process is alive.
func (s *Server) GetHealth(ctx context.Context, _ agcomv1.GetHealthRequestObject) (agcomv1.GetHealthResponseObject, error) {
	return agcomv1.GetHealth200JSONResponse{Status: agcomv1.Healthy, Timestamp: s.now().UTC(), Version: s.version}, nil
}

// GetReadiness implements GET /health/ready: the database answers and is
// migrated; and whether the identity provider's keys are loaded and the
// attachments' bucket answers.
func (s *Server) GetReadiness(ctx context.Context, _ agcomv1.GetReadinessRequestObject) (agcomv1.GetReadinessResponseObject, error) {
	version, err := s.store.Ping(ctx)
	if err != nil {
		return nil, &agcom.Error{Code: agcom.EUNAVAILABLE, Message: "the database is not available"}
	}
	if version == 0 {
		return nil, &agcom.Error{Code: agcom.EUNAVAILABLE, Message: "the database is not initialised"}
	}
	resp := agcomv1.GetReadiness200JSONResponse{Status: agcomv1.Ready, Timestamp: s.now().UTC()}
	resp.Database.Connected = true
	resp.Database.Initialized = true
	resp.Database.SchemaVersion = &version
	if s.provider != nil {
		st := s.provider.Status(ctx)
		resp.IdentityProvider = &struct {
			Keys       *int `json:"keys,omitempty"`
			KeysLoaded bool `json:"keys_loaded"`
		}{Keys: &st.Keys, KeysLoaded: st.KeysLoaded}
	}
	if op, ok := s.store.(objectPinger); ok {
		if kept, err := op.PingObjects(ctx); kept {
			resp.ObjectStore = &struct {
				Reachable bool `json:"reachable"`
			}{Reachable: err == nil}
		}
	}
	return resp, nil
}
