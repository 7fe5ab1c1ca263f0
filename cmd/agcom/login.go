package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

// login exchanges a handle and secret for a token, or checks a given
// token, and saves it with the server's URL in the configuration file.
func (c *cli) login(ctx context.Context, args []string) error {
	fs := c.newFlags("login", "login --handle NAME [--secret-file FILE|-]   or   agcom login --token TOKEN")
	handle := fs.String("handle", "", "log in as this registered agent, with its secret")
	secret := fs.String("secret", "", "the agent's `SECRET` (others may see it in the process list: prefer --secret-file or AGCOM_SECRET)")
	secretFile := fs.String("secret-file", "", "read the secret from `FILE` (- for standard input)")
	if _, err := c.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	serverURL, _, err := c.settings()
	if err != nil {
		return err
	}
	var token string
	switch {
	case *handle != "" && c.token != "":
		return usagef("login", "use --handle or --token, not both")
	case *handle != "":
		s, err := loginSecret(*secret, *secretFile, c.getenv("AGCOM_SECRET"))
		if err != nil {
			return err
		}
		cl, err := newClient(serverURL, sdk.WithLogin(*handle, s))
		if err != nil {
			return err
		}
		if token, err = cl.Token(ctx); err != nil {
			if sdk.IsUnauthorized(err) {
				return withHint(err, "check the handle and secret; an operator can issue a new secret with `agcomd agent rotate-secret "+*handle+"`")
			}
			return err
		}
	case c.token != "":
		token = c.token
		cl, err := newClient(serverURL, sdk.WithToken(token))
		if err != nil {
			return err
		}
		if _, err := cl.ListThreads(ctx, &agcomv1.ListThreadsParams{Limit: new(1)}); err != nil {
			if sdk.IsUnauthorized(err) {
				return withHint(err, "the server refused this token: it may have expired, or be signed with another key")
			}
			return err
		}
	default:
		return usagef("login", "say who you are: --handle NAME (with its secret) or --token TOKEN")
	}

	cl, _ := parseClaims(token)
	if cl.Handle == "" {
		cl.Handle = *handle
	}
	f, err := c.config()
	if err != nil {
		return err
	}
	f.URL, f.Token, f.Handle = serverURL, token, cl.Handle
	path, err := c.saveConfig(f)
	if err != nil {
		return err
	}
	if c.json {
		out := map[string]any{"url": serverURL, "handle": cl.Handle, "config_file": path}
		if !cl.Expires.IsZero() {
			out["expires_at"] = cl.Expires.UTC().Format(time.RFC3339)
		}
		return c.printJSON(out)
	}
	fmt.Fprintf(c.stdout, "Logged in to %s as %s", serverURL, orDash(cl.Handle))
	if !cl.Expires.IsZero() {
		fmt.Fprintf(c.stdout, " until %s", cl.Expires.Local().Format(time.DateTime))
	}
	fmt.Fprintf(c.stdout, ".\nThe token is saved in %s.\n", path)
	return nil
}

// loginSecret picks the secret from --secret, --secret-file or
// AGCOM_SECRET.
func loginSecret(flagValue, file, env string) (string, error) {
	switch {
	case flagValue != "" && file != "":
		return "", usagef("login", "use --secret or --secret-file, not both")
	case flagValue != "":
		return flagValue, nil
	case file != "":
		var b []byte
		var err error
		if file == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(file)
		}
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", usagef("login", "the secret file %s is empty", file)
		}
		return s, nil
	case env != "":
		return env, nil
	}
	return "", usagef("login", "the agent's secret is needed: --secret-file FILE (- for stdin), AGCOM_SECRET, or --secret")
}

// logout removes the saved token.
func (c *cli) logout(_ context.Context, args []string) error {
	if _, err := c.parse("logout", "", args, 0, 0); err != nil {
		return err
	}
	f, err := c.config()
	if err != nil {
		return err
	}
	f.Token, f.Handle = "", ""
	path, err := c.saveConfig(f)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"config_file": path})
	}
	fmt.Fprintf(c.stdout, "Logged out: the token is removed from %s.\n", path)
	return nil
}
