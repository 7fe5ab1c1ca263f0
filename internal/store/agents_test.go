package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/app"
)

// Revocations and secret rotations of one agent at once each raise its
// token generation by one, and each audits the generation it made: none
// is lost to another that read the agent before it.
func TestAgentGenerationsUnderConcurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		root := agcom.Caller{Handle: "root", IsAdmin: true}
		service := agcom.NewService(s)
		if _, err := service.CreateAgent(ctx, root, agcom.Agent{Handle: "bob"}, "hash-0"); err != nil {
			t.Fatalf("create: %v", err)
		}
		const n = 8
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			gens []int64
		)
		for i := range 2 * n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var (
					a   agcom.Agent
					err error
				)
				if i%2 == 0 {
					a, err = service.RevokeAgentTokens(ctx, root, "bob")
				} else {
					a, err = service.SetAgentSecret(ctx, root, "bob", fmt.Sprintf("hash-%d", i))
				}
				if err != nil {
					t.Errorf("change %d: %v", i, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				gens = append(gens, a.TokenGeneration)
			}()
		}
		wg.Wait()
		slices.Sort(gens)
		want := make([]int64, 2*n)
		for i := range want {
			want[i] = int64(i + 1)
		}
		if !slices.Equal(gens, want) {
			t.Errorf("generations returned = %v, want %v", gens, want)
		}
		a, err := s.Agent(ctx, "bob")
		if err != nil || a.TokenGeneration != 2*n {
			t.Errorf("agent = %+v, %v; want generation %d", a, err, 2*n)
		}
		list, err := s.ListAuditEvents(ctx, root, agcom.AuditFilter{EventType: agcom.EventAgentTokensRevoke, Page: agcom.Page{Limit: agcom.MaxLimit}})
		if err != nil {
			t.Fatal(err)
		}
		var audited []string
		for _, e := range list.Events {
			audited = append(audited, fmt.Sprint(e.Details["token_generation"]))
		}
		slices.Sort(audited)
		if len(audited) != n || len(slices.Compact(slices.Clone(audited))) != n {
			t.Errorf("revocations audited generations %v, want %d different ones", audited, n)
		}
	})
}

// The agent use cases refuse before they write: a caller that is not an
// admin, an unknown agent, a taken handle or a bad field changes nothing
// and audits nothing.
func TestAgentRefusalsWriteNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		root, bob := agcom.Caller{Handle: "root", IsAdmin: true}, agcom.Caller{Handle: "bob"}
		service := agcom.NewService(s)
		if _, err := service.CreateAgent(ctx, root, agcom.Agent{Handle: "bob", DisplayName: "Bob"}, "hash"); err != nil {
			t.Fatalf("create: %v", err)
		}
		before, err := s.Agent(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		yes, blank := true, " "
		for _, tc := range []struct {
			name string
			want agcom.Code
			call func() error
		}{
			{"create by an agent", agcom.EFORBIDDEN, func() error {
				_, err := service.CreateAgent(ctx, bob, agcom.Agent{Handle: "carol"}, "hash")
				return err
			}},
			{"promote by an agent", agcom.EFORBIDDEN, func() error {
				_, err := service.UpdateAgent(ctx, bob, "bob", agcom.AgentUpdate{IsAdmin: &yes})
				return err
			}},
			{"rotate by an agent", agcom.EFORBIDDEN, func() error {
				_, err := service.SetAgentSecret(ctx, bob, "bob", "other")
				return err
			}},
			{"revoke by an agent", agcom.EFORBIDDEN, func() error {
				_, err := service.RevokeAgentTokens(ctx, bob, "bob")
				return err
			}},
			{"create taken", agcom.ECONFLICT, func() error {
				_, err := service.CreateAgent(ctx, root, agcom.Agent{Handle: "bob"}, "hash")
				return err
			}},
			{"update unknown", agcom.ENOTFOUND, func() error {
				_, err := service.UpdateAgent(ctx, root, "nobody", agcom.AgentUpdate{Disabled: &yes})
				return err
			}},
			{"revoke unknown", agcom.ENOTFOUND, func() error {
				_, err := service.RevokeAgentTokens(ctx, root, "nobody")
				return err
			}},
			{"blank display name", agcom.EINVALID, func() error {
				_, err := service.UpdateAgent(ctx, root, "bob", agcom.AgentUpdate{DisplayName: &blank})
				return err
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				audit, err := s.ListAuditEvents(ctx, root, agcom.AuditFilter{Page: agcom.Page{Limit: 1}})
				if err != nil {
					t.Fatal(err)
				}
				if err := tc.call(); agcom.ErrorCode(err) != tc.want {
					t.Fatalf("got %v, want %s", err, tc.want)
				}
				after, err := s.ListAuditEvents(ctx, root, agcom.AuditFilter{Page: agcom.Page{Limit: 1}})
				if err != nil || after.Pagination.Total != audit.Pagination.Total {
					t.Errorf("audit events %d after the refusal, %d before (%v)", after.Pagination.Total, audit.Pagination.Total, err)
				}
				if a, err := s.Agent(ctx, "bob"); err != nil || a != before {
					t.Errorf("bob = %+v, %v; want unchanged %+v", a, err, before)
				}
			})
		}
	})
}
