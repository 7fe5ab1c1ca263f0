package sdk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
)

// Retry defaults.
const (
	// DefaultMaxAttempts is how many times a request is sent at most,
	// the first attempt included.
	DefaultMaxAttempts = 4
	// DefaultMaxRetryWait is the longest wait before a retry; an answer
	// that asks for a longer one is returned instead.
	DefaultMaxRetryWait = 30 * time.Second
	// baseBackoff is the first wait when the server gives no Retry-After;
	// it doubles with each attempt.
	baseBackoff = 500 * time.Millisecond
	// maxPeekBytes bounds how much of an error body is read to decide on a
	// retry; envelopes are far smaller.
	maxPeekBytes = 1 << 20
)

// retryPolicy says how often and how long to retry.
type retryPolicy struct {
	maxAttempts int
	maxWait     time.Duration
}

// transport sends the generated client's requests: it sets the bearer
// token on every attempt, logs in again once after a 401 when it can,
// retries 429 and 503 answers that are safe to retry, honouring
// Retry-After, and retries requests with an Idempotency-Key that got no
// answer at all (a connection refused or reset).
type transport struct {
	next   agcomv1.HttpRequestDoer
	tokens *tokenSource // nil: no Authorization header (the login request)
	policy retryPolicy
	agent  string
	sleep  func(ctx context.Context, d time.Duration) error
}

// Do implements agcomv1.HttpRequestDoer.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	relogged := false
	for attempt, sent := 1, 0; ; attempt, sent = attempt+1, sent+1 {
		r, err := t.prepare(req, sent > 0)
		if err != nil {
			return nil, err
		}
		token := ""
		if t.tokens != nil {
			if token, err = t.tokens.Token(ctx); err != nil {
				return nil, err
			}
			r.Header.Set("Authorization", "Bearer "+token)
		}
		replayable := req.Body == nil || req.GetBody != nil
		idempotent := req.Header.Get("Idempotency-Key") != ""
		resp, err := t.next.Do(r)
		if err != nil {
			// No answer: the request may or may not have reached the
			// server. Only a key makes sending it again safe.
			if !idempotent || !replayable || ctx.Err() != nil || attempt >= t.policy.maxAttempts {
				return nil, err
			}
			wait := baseBackoff << (attempt - 1)
			if serr := t.sleep(ctx, wait); serr != nil {
				return nil, fmt.Errorf("%w while waiting %v to retry after %w", serr, wait, err)
			}
			continue
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !relogged && replayable && t.tokens.canLogin():
			// The token was refused (expired early, say): log in again
			// once. Nothing was done, so any method may be sent again.
			relogged = true
			attempt--
			discard(resp)
			t.tokens.invalidate(token)
			continue
		case resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable:
			return resp, nil
		}
		body, err := peek(resp)
		if err != nil {
			return nil, err
		}
		apiErr := newError(resp.StatusCode, body)
		if !replayable || !retryable(req.Method, idempotent, apiErr) || attempt >= t.policy.maxAttempts {
			return resp, nil
		}
		wait := retryWait(resp.Header, apiErr, attempt)
		if wait > t.policy.maxWait {
			return resp, nil
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w while waiting %v to retry after %w", err, wait, apiErr)
		}
	}
}

// prepare returns the request to send: a clone, with a fresh body when
// req's was already sent.
func (t *transport) prepare(req *http.Request, resend bool) (*http.Request, error) {
	r := req.Clone(req.Context())
	if resend && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("agcom: replay request body: %w", err)
		}
		r.Body = b
	}
	if t.agent != "" {
		r.Header.Set("User-Agent", t.agent)
	}
	return r, nil
}

// retryable reports whether a 429 or 503 answer may be retried. Reads,
// and creates that carry an Idempotency-Key, may always be sent again:
// the server answers a repeated key with the original answer. Another
// write may only when the answer says nothing was done: a rate limit
// refuses before the handler runs, and DatabaseBusy means the transaction
// rolled back. Any other 503 to a write (a proxy, an outage mid-request)
// might have come after the write.
func retryable(method string, idempotent bool, e *Error) bool {
	switch {
	case method == http.MethodGet || method == http.MethodHead || idempotent:
		return true
	case e.Status == http.StatusTooManyRequests:
		return true
	default:
		return e.Status == http.StatusServiceUnavailable && e.Type == agcomv1.DatabaseBusy
	}
}

// retryWait is how long to wait before the next attempt: the Retry-After
// header (seconds or an HTTP date), else the envelope's retry_after, else
// a doubling backoff.
func retryWait(h http.Header, e *Error, attempt int) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(0, time.Until(at))
		}
	}
	if e.RetryAfter > 0 {
		return e.RetryAfter
	}
	return baseBackoff << (attempt - 1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// peek reads resp's body and puts it back, so the generated client can
// still parse it.
func peek(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPeekBytes))
	if err != nil {
		return nil, fmt.Errorf("agcom: read response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// discard drains and closes a body that will not be used, so the
// connection can be reused.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxPeekBytes))
	resp.Body.Close()
}
