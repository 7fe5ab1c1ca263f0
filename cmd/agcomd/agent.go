package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/config"
)

// operator is who makes the changes of the agent commands, as the audit
// trail records them: whoever holds the database acts as an admin.
var operator = agcom.Caller{Handle: "operator", IsAdmin: true}

// agent manages registered agents directly on the store (DATABASE_URL or
// DB_PATH): for the first admin
// and for recovery when no admin can log in.
func agent(ctx context.Context, args []string, getenv config.Getenv, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("agent: a subcommand is required")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("agent "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	displayName := fs.String("display-name", "", "display name (add)")
	admin := fs.Bool("admin", false, "make the agent an admin (add)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Allow flags after the handle too: agent add bob --admin.
	rest := fs.Args()
	if len(rest) > 0 {
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
		rest = append(rest[:1], fs.Args()...)
	}
	store, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()

	if sub == "list" {
		return listAgents(ctx, store, stdout)
	}
	if len(rest) != 1 {
		return fmt.Errorf("agent %s: exactly one HANDLE is required", sub)
	}
	handle := rest[0]
	service := agcom.NewService(store)
	yes, no := true, false
	switch sub {
	case "add":
		secret, hash, err := auth.NewCredentials()
		if err != nil {
			return err
		}
		a, err := service.CreateAgent(ctx, operator, agcom.Agent{Handle: handle, DisplayName: *displayName, IsAdmin: *admin}, hash)
		if err != nil {
			return err
		}
		return printSecret(stdout, a, secret)
	case "rotate-secret":
		secret, hash, err := auth.NewCredentials()
		if err != nil {
			return err
		}
		a, err := service.SetAgentSecret(ctx, operator, handle, hash)
		if err != nil {
			return err
		}
		return printSecret(stdout, a, secret)
	case "revoke-tokens":
		a, err := service.RevokeAgentTokens(ctx, operator, handle)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "agent %s: every token issued before now is refused\n", a.Handle)
		return err
	case "disable":
		return updateAgent(ctx, service, stdout, handle, agcom.AgentUpdate{Disabled: &yes})
	case "enable":
		return updateAgent(ctx, service, stdout, handle, agcom.AgentUpdate{Disabled: &no})
	case "promote":
		return updateAgent(ctx, service, stdout, handle, agcom.AgentUpdate{IsAdmin: &yes})
	case "demote":
		return updateAgent(ctx, service, stdout, handle, agcom.AgentUpdate{IsAdmin: &no})
	}
	return fmt.Errorf("agent: unknown subcommand %q", sub)
}

func printSecret(w io.Writer, a agcom.Agent, secret string) error {
	_, err := fmt.Fprintf(w, "agent:  %s (admin: %t)\nsecret: %s\nKeep the secret now: it is not stored and cannot be shown again.\n",
		a.Handle, a.IsAdmin, secret)
	return err
}

func updateAgent(ctx context.Context, service *agcom.Service, w io.Writer, handle string, u agcom.AgentUpdate) error {
	a, err := service.UpdateAgent(ctx, operator, handle, u)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "agent %s: admin %t, disabled %t\n", a.Handle, a.IsAdmin, a.Disabled)
	return err
}

func listAgents(ctx context.Context, store app.Store, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLE\tDISPLAY NAME\tADMIN\tDISABLED\tCREATED")
	for page := (agcom.Page{Limit: agcom.MaxLimit}); ; page.Offset += page.Limit {
		list, err := store.ListAgents(ctx, page)
		if err != nil {
			return err
		}
		for _, a := range list.Agents {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%t\t%s\n", a.Handle, a.DisplayName, a.IsAdmin, a.Disabled, a.CreatedAt.Format("2006-01-02 15:04:05Z"))
		}
		if !list.Pagination.HasMore {
			break
		}
	}
	return tw.Flush()
}
