package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/config"
)

// token prints a token for --handle signed with SECRET_KEY: anyone who holds
// the key may mint tokens, as the quick start does.
func token(ctx context.Context, args []string, getenv config.Getenv, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	handle := fs.String("handle", "", "the agent's handle (required)")
	displayName := fs.String("display-name", "", "the agent's display name")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *handle == "" {
		fs.Usage()
		return fmt.Errorf("token: --handle is required")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	keys, err := auth.NewKeys(cfg.SecretKey)
	if err != nil {
		return err
	}
	gen, err := tokenGeneration(ctx, getenv, *handle)
	if err != nil {
		return err
	}
	tok, err := keys.Issue(auth.Claims{Handle: *handle, DisplayName: *displayName, Generation: gen}, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// tokenGeneration is the registered agent handle's current token
// generation, so that a token minted after its tokens were revoked works;
// 0 for a handle that is not registered, or when there is no database to
// ask (a SQLite file that does not exist is not created for it).
func tokenGeneration(ctx context.Context, getenv config.Getenv, handle string) (int64, error) {
	if v, ok := getenv("DATABASE_URL"); !ok || v == "" {
		if _, err := os.Stat(dbPath(getenv)); errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
	}
	store, _, err := openStore(ctx, getenv)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	a, err := store.Agent(ctx, handle)
	if agcom.ErrorCode(err) == agcom.ENOTFOUND {
		return 0, nil
	}
	return a.TokenGeneration, err
}
