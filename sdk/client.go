// Package sdk is the Go client of AgCom, the messaging service for
// software agents. It wraps the client generated from openapi.yaml
// (package agcomv1) with what every caller needs:
//
//   - authentication with a static token (WithToken), an API key
//     (WithAPIKey), a token from the organisation's identity provider
//     (WithTokenFunc, asked on every request, so that it can renew it), or
//     a handle and secret (WithLogin) that logs in through POST /auth/token
//     and renews the token before it expires;
//   - retries of 429 and 503 answers that honour Retry-After, with bounded
//     attempts and waits that end with the context; writes are retried
//     only when the answer says nothing was done (429, 503 DatabaseBusy)
//     or when they carry an idempotency key;
//   - idempotency keys: every create (SendMessage, ReplyToMessage,
//     CreateContact, ...) carries an Idempotency-Key made once per call
//     (or the caller's, with WithIdempotencyKey), so that its retries,
//     after a 429, any 503 or a connection that failed before an answer,
//     create one thing at most;
//   - typed errors: every error answer is an *Error (get it with
//     errors.As), and IsNotFound, IsConflict and friends classify them;
//   - events: Events streams the caller's events (Server-Sent Events),
//     reconnecting and resuming from the last cursor on its own;
//   - a context on every call.
//
// Methods are named after the API's operations and return the generated
// model types (agcomv1.Message, agcomv1.ThreadPage, ...). A Client is safe
// for concurrent use.
package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
)

// Client defaults.
const (
	// DefaultTimeout bounds one HTTP attempt when the caller supplies no
	// HTTP client.
	DefaultTimeout = 60 * time.Second
	// DefaultUserAgent is sent unless WithUserAgent says otherwise.
	DefaultUserAgent = "agcom-go-sdk/1"
	// apiPath is the API's base path on a server.
	apiPath = "/api/v1"
)

// Client talks to one AgCom server as one agent.
type Client struct {
	api    *agcomv1.ClientWithResponses
	tokens *tokenSource
	// server is the API's base URL; stream sends the event stream's
	// requests, like api's but without the HTTP client's timeout.
	server string
	stream agcomv1.HttpRequestDoer
	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*options)

type options struct {
	token          string
	tokenFunc      func(ctx context.Context) (string, error)
	handle, secret string
	doer           agcomv1.HttpRequestDoer
	policy         retryPolicy
	userAgent      string
}

// WithToken authenticates every request with a bearer token obtained
// elsewhere (`agcomd token`, a login). It is never renewed.
func WithToken(token string) Option {
	return func(o *options) { o.token = token }
}

// WithAPIKey authenticates every request with an API key (agk_…, from
// CreateAPIKey), sent as a bearer token.
func WithAPIKey(key string) Option {
	return WithToken(key)
}

// WithTokenFunc authenticates every request with the bearer token fn
// returns then: an access token of the identity provider the server
// trusts, for instance, which fn renews before it expires (an
// oauth2.TokenSource's Token method, wrapped, does). fn is called for
// every request, concurrently, and must be cheap while its token is
// current.
func WithTokenFunc(fn func(ctx context.Context) (string, error)) Option {
	return func(o *options) { o.tokenFunc = fn }
}

// WithLogin authenticates as a registered agent: the Client exchanges the
// handle and secret for a token on first use, renews it before it
// expires, and logs in again once if the server refuses it.
func WithLogin(handle, secret string) Option {
	return func(o *options) { o.handle, o.secret = handle, secret }
}

// WithHTTPClient sends requests through doer (an *http.Client, usually)
// instead of a default client with DefaultTimeout.
func WithHTTPClient(doer agcomv1.HttpRequestDoer) Option {
	return func(o *options) { o.doer = doer }
}

// WithRetry sets how many times a request is sent at most (1 disables
// retries) and the longest wait before a retry: an answer whose
// Retry-After asks for more is returned at once as an error.
func WithRetry(maxAttempts int, maxWait time.Duration) Option {
	return func(o *options) { o.policy = retryPolicy{maxAttempts: maxAttempts, maxWait: maxWait} }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(o *options) { o.userAgent = ua }
}

// New returns a Client for the server at baseURL, such as
// "http://127.0.0.1:8000"; the API's base path /api/v1 is added unless
// baseURL already ends with it. Without credentials only the
// health endpoints and logins succeed.
func New(baseURL string, opts ...Option) (*Client, error) {
	o := options{
		policy:    retryPolicy{maxAttempts: DefaultMaxAttempts, maxWait: DefaultMaxRetryWait},
		userAgent: DefaultUserAgent,
	}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case (o.token != "") && (o.handle != "") || (o.tokenFunc != nil) && (o.token != "" || o.handle != ""):
		return nil, errors.New("agcom: use one of WithToken (or WithAPIKey), WithTokenFunc and WithLogin")
	case (o.handle == "") != (o.secret == ""):
		return nil, errors.New("agcom: WithLogin needs both a handle and a secret")
	case o.policy.maxAttempts < 1 || o.policy.maxWait < 0:
		return nil, errors.New("agcom: WithRetry needs at least 1 attempt and a wait of 0 or more")
	}
	server, err := apiURL(baseURL)
	if err != nil {
		return nil, err
	}
	streamDoer := o.doer
	switch hc, ok := o.doer.(*http.Client); {
	case o.doer == nil:
		o.doer, streamDoer = &http.Client{Timeout: DefaultTimeout}, &http.Client{}
	case ok && hc.Timeout > 0:
		// A stream lasts: bound its silences instead (EventStream).
		untimed := *hc
		untimed.Timeout = 0
		streamDoer = &untimed
	}
	// The generated requests resolve their paths against the base URL.
	c := &Client{server: server + "/", sleep: sleep}
	newTransport := func(doer agcomv1.HttpRequestDoer, tokens *tokenSource) *transport {
		return &transport{
			next: doer, tokens: tokens, policy: o.policy, agent: o.userAgent,
			sleep: func(ctx context.Context, d time.Duration) error { return c.sleep(ctx, d) },
		}
	}
	var login func(context.Context) (agcomv1.TokenResponse, error)
	if o.handle != "" {
		// Logins go through a client of their own: no bearer token, and
		// no second login when one is refused.
		anon, err := agcomv1.NewClientWithResponses(server, agcomv1.WithHTTPClient(newTransport(o.doer, nil)))
		if err != nil {
			return nil, fmt.Errorf("agcom: %w", err)
		}
		req := agcomv1.TokenRequest{AgentHandle: o.handle, AgentSecret: o.secret}
		login = func(ctx context.Context) (agcomv1.TokenResponse, error) {
			r, err := anon.IssueTokenWithResponse(ctx, req)
			return value(r, err, (*agcomv1.IssueTokenResponse).GetJSON200)
		}
	}
	c.tokens = newTokenSource(o.token, login)
	c.tokens.fn = o.tokenFunc
	var tokens *tokenSource
	if o.token != "" || login != nil || o.tokenFunc != nil {
		tokens = c.tokens
	}
	c.stream = newTransport(streamDoer, tokens)
	c.api, err = agcomv1.NewClientWithResponses(server, agcomv1.WithHTTPClient(newTransport(o.doer, tokens)))
	if err != nil {
		return nil, fmt.Errorf("agcom: %w", err)
	}
	return c, nil
}

// apiURL turns a server's address into the API's base URL.
func apiURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("agcom: server URL %q: want http(s)://HOST[:PORT]", base)
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, apiPath) {
		p += apiPath
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// API returns the generated client underneath, for operations this
// package does not wrap. Its requests get the same authentication and
// retries.
func (c *Client) API() *agcomv1.ClientWithResponses {
	return c.api
}

// Token returns the bearer token the Client sends: the static one, or a
// current one from a login (logging in first when needed). It is empty for
// a Client without credentials.
func (c *Client) Token(ctx context.Context) (string, error) {
	return c.tokens.Token(ctx)
}
