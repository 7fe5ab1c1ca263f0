package main

import (
	"context"
	"fmt"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
)

const apiKeysUsage = `usage: agcom api-keys SUBCOMMAND [flags]

subcommands:
  list [--limit N] [--offset N]        your API keys (never their secrets)
  create NAME [--expires DURATION]     a new key, printed this once
  revoke KEY_ID                        the key stops working at once

Use a key as the token: --token agk_… or AGCOM_TOKEN=agk_… (or save it
with ` + "`agcom login --token agk_…`" + `).
`

// apiKeys dispatches the API key subcommands.
func (c *cli) apiKeys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, apiKeysUsage)
		return errUsageShown
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list", "ls":
		return c.apiKeysList(ctx, args)
	case "create", "add":
		return c.apiKeysCreate(ctx, args)
	case "revoke", "rm":
		return c.apiKeysRevoke(ctx, args)
	case "-h", "--help", "help":
		fmt.Fprint(c.stdout, apiKeysUsage)
		return nil
	}
	fmt.Fprint(c.stderr, apiKeysUsage)
	return usagef("api-keys", "unknown subcommand %q", sub)
}

func (c *cli) apiKeysList(ctx context.Context, args []string) error {
	fs := c.newFlags("api-keys list", "api-keys list [--limit N] [--offset N]")
	limit := fs.Int("limit", 50, "keys per page (at most 100)")
	offset := fs.Int("offset", 0, "keys to skip")
	if _, err := c.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	page, err := cl.ListAPIKeys(ctx, &agcomv1.ListMyApiKeysParams{Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(page)
	}
	t := c.newTable("KEY ID", "NAME", "CREATED", "EXPIRES", "LAST USED")
	for _, k := range page.ApiKeys {
		t.row(k.KeyId, cell(k.Name), when(k.CreatedAt), whenOr(k.ExpiresAt, "never"), whenOr(k.LastUsedAt, "-"))
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.footer(page.Pagination, len(page.ApiKeys), "agcom api-keys list")
	return nil
}

func (c *cli) apiKeysCreate(ctx context.Context, args []string) error {
	fs := c.newFlags("api-keys create", "api-keys create NAME [--expires DURATION]")
	expires := fs.Duration("expires", 0, "the key stops working after this `DURATION` (such as 720h); default never")
	pos, err := c.parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	req := agcomv1.ApiKeyCreate{Name: pos[0]}
	if *expires < 0 {
		return usagef("api-keys create", "--expires must be positive")
	} else if *expires > 0 {
		at := time.Now().Add(*expires)
		req.ExpiresAt = &at
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	created, err := cl.CreateAPIKey(ctx, req)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(created)
	}
	fmt.Fprintf(c.stdout, "%s\n\nAPI key %s (%s) created; it is shown only this once.\n",
		created.Key, created.ApiKey.KeyId, created.ApiKey.Name)
	return nil
}

func (c *cli) apiKeysRevoke(ctx context.Context, args []string) error {
	pos, err := c.parse("api-keys revoke", "KEY_ID", args, 1, 1)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if err := cl.RevokeAPIKey(ctx, pos[0]); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"key_id": pos[0], "revoked": true})
	}
	fmt.Fprintf(c.stdout, "API key %s revoked.\n", pos[0])
	return nil
}

// whenOr is when for an optional instant, or none when there is none.
func whenOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return when(*t)
}
