package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/config"
)

// token prints a token for --handle signed with SECRET_KEY: anyone who holds
// the key may mint tokens, as the quick start does.
func token(args []string, getenv config.Getenv, stdout, stderr io.Writer) error {
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
	tok, err := keys.Mint(*handle, *displayName, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
