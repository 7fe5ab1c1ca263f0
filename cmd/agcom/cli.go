package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agcom/agcom/sdk"
)

// Client settings.
const (
	defaultURL     = "http://127.0.0.1:8000"
	cliMaxAttempts = 3
)

// cliMaxRetryWait is the longest wait for a retry, so that a person is not
// left staring at a silent terminal for a minute; a longer Retry-After
// ends the command with exit code 6. Tests lower it.
var cliMaxRetryWait = 10 * time.Second

// cli is one invocation: the environment, the outputs and the settings the
// flags, the environment and the configuration file give.
type cli struct {
	getenv         func(string) string
	stdout, stderr io.Writer

	// The global flags; every command accepts them too.
	url, token string
	json       bool

	// loaded says the configuration file has been read into file.
	loaded bool
	file   fileConfig
}

// errUsageShown is returned when the flag package has already explained
// the usage error.
var errUsageShown = errors.New("usage error")

// usageError is a mistake in the command line.
type usageError struct {
	cmd, msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// authError is a missing or expired login, found before any request.
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }

// hintError carries advice for the person, shown after the error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// flagSet returns a FlagSet with the global flags.
func (c *cli) flagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.url, "url", c.url, "AgCom server `URL` (env AGCOM_URL; default "+defaultURL+")")
	fs.StringVar(&c.token, "token", c.token, "bearer `TOKEN`: an AgCom token, an API key (agk_…) or the identity provider's (env AGCOM_TOKEN; default: the one `agcom login` saved)")
	fs.BoolVar(&c.json, "json", c.json, "print the API's JSON objects instead of tables")
	return fs
}

// newFlags returns a subcommand's FlagSet; synopsis is its usage line
// after "agcom ".
func (c *cli) newFlags(name, synopsis string) *flag.FlagSet {
	fs := c.flagSet(name, c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: agcom %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses args with fs, allowing flags after the positional
// arguments, and checks that there are from min to max (-1: any number)
// positional arguments.
func (c *cli) parseArgs(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsageShown
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	switch {
	case len(pos) < min:
		return nil, usagef(fs.Name(), "missing arguments")
	case max >= 0 && len(pos) > max:
		return nil, usagef(fs.Name(), "unexpected arguments: %s", strings.Join(pos[max:], " "))
	}
	return pos, nil
}

// parse is parseArgs for a command with no flags of its own.
func (c *cli) parse(name, synopsis string, args []string, min, max int) ([]string, error) {
	return c.parseArgs(c.newFlags(name, name+" "+synopsis), args, min, max)
}

// settings resolves the server URL and token: flags, then the
// environment, then the configuration file.
func (c *cli) settings() (serverURL, token string, err error) {
	serverURL, token = c.url, c.token
	if serverURL == "" {
		serverURL = c.getenv("AGCOM_URL")
	}
	if token == "" {
		token = c.getenv("AGCOM_TOKEN")
	}
	if serverURL == "" || token == "" {
		f, err := c.config()
		if err != nil {
			return "", "", err
		}
		if serverURL == "" {
			serverURL = f.URL
		}
		// A saved token belongs to the server it was saved for.
		if token == "" && (f.URL == "" || f.URL == serverURL) {
			token = f.Token
		}
	}
	if serverURL == "" {
		serverURL = defaultURL
	}
	return serverURL, token, nil
}

// client returns an SDK client with the resolved settings. It fails with
// an authError, before any request, when there is no token or it has
// expired.
func (c *cli) client() (*sdk.Client, error) {
	serverURL, token, err := c.credentials()
	if err != nil {
		return nil, err
	}
	return newClient(serverURL, sdk.WithToken(token))
}

// credentials are the resolved server URL and token, or an authError when
// there is no token or it has expired.
func (c *cli) credentials() (serverURL, token string, err error) {
	serverURL, token, err = c.settings()
	if err != nil {
		return "", "", err
	}
	if token == "" {
		if c.file.Token != "" && c.file.URL != serverURL {
			return "", "", &authError{fmt.Sprintf("not logged in to %s (the saved token is for %s): run `agcom login --handle NAME` (or set AGCOM_TOKEN)", serverURL, c.file.URL)}
		}
		return "", "", &authError{"not logged in: run `agcom login --handle NAME` (or set AGCOM_TOKEN)"}
	}
	if cl, ok := parseClaims(token); ok && !cl.Expires.IsZero() && time.Now().After(cl.Expires) {
		return "", "", &authError{fmt.Sprintf("your token expired at %s: run `agcom login --handle %s`",
			cl.Expires.Local().Format(time.DateTime), cl.Handle)}
	}
	return serverURL, token, nil
}

func newClient(serverURL string, opts ...sdk.Option) (*sdk.Client, error) {
	opts = append(opts, sdk.WithRetry(cliMaxAttempts, cliMaxRetryWait), sdk.WithUserAgent("agcom-cli/"+version))
	cl, err := sdk.New(serverURL, opts...)
	if err != nil {
		return nil, usagef("", "%v", err)
	}
	return cl, nil
}

// loginHandle names the agent to log in as in advice: the current token's,
// when there is one.
func (c *cli) loginHandle() string {
	if _, token, err := c.settings(); err == nil {
		if cl, ok := parseClaims(token); ok && cl.Handle != "" {
			return cl.Handle
		}
	}
	return "NAME"
}

// exit reports err on stderr and returns the exit code it calls for.
func (c *cli) exit(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	code, msg, hint := c.describe(err)
	if h, ok := errors.AsType[*hintError](err); ok {
		hint = h.hint
	}
	if msg != "" {
		fmt.Fprintln(c.stderr, "agcom:", msg)
	}
	if hint != "" {
		fmt.Fprintln(c.stderr, "  "+hint)
	}
	return code
}

// describe turns err into an exit code, a message and advice.
func (c *cli) describe(err error) (code int, msg, hint string) {
	if errors.Is(err, errUsageShown) {
		return exitUsage, "", ""
	}
	if u, ok := errors.AsType[*usageError](err); ok {
		if u.cmd == "" {
			return exitUsage, u.msg, ""
		}
		return exitUsage, u.cmd + ": " + u.msg, "run `agcom " + u.cmd + " -h` for usage"
	}
	if a, ok := errors.AsType[*authError](err); ok {
		return exitAuth, a.msg, ""
	}
	if e, ok := errors.AsType[*sdk.Error](err); ok {
		return c.describeAPI(e)
	}
	if errors.Is(err, context.Canceled) {
		return exitError, "interrupted", ""
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		serverURL, _, _ := c.settings()
		return exitUnavailable, fmt.Sprintf("cannot reach the AgCom server at %s: %v", serverURL, connError(err)),
			"is agcomd running? Set its address with --url or AGCOM_URL"
	}
	return exitError, err.Error(), ""
}

func (c *cli) describeAPI(e *sdk.Error) (code int, msg, hint string) {
	retry := ""
	if e.RetryAfter > 0 {
		retry = "try again in " + e.RetryAfter.String()
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return exitUsage, "invalid input: " + e.Message, ""
	case http.StatusUnauthorized:
		return exitAuth, "authentication failed: " + e.Message,
			"run `agcom login --handle " + c.loginHandle() + "` for a new token"
	case http.StatusForbidden:
		return exitAuth, "permission denied: " + e.Message, ""
	case http.StatusNotFound:
		return exitNotFound, "not found: " + e.Message, ""
	case http.StatusConflict:
		return exitConflict, "conflict: " + e.Message, ""
	case http.StatusGone:
		return exitError, "expired: " + e.Message, ""
	case http.StatusTooManyRequests:
		return exitUnavailable, "rate limited: " + e.Message, retry
	case http.StatusServiceUnavailable:
		return exitUnavailable, "server unavailable: " + e.Message, retry
	}
	msg = fmt.Sprintf("server error %d: %s", e.Status, e.Message)
	if e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	return exitError, msg, ""
}

// connError says what happened to a connection, without the request's
// method and URL that *url.Error repeats.
func connError(err error) error {
	if op, ok := errors.AsType[*net.OpError](err); ok {
		return op
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
