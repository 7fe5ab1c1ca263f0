package sdk

import (
	"context"
	"time"
)

// Hooks for the external tests.

// SetSleep replaces how c waits between attempts.
func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.sleep = f }

// SetClock replaces the clock c's token renewal reads.
func SetClock(c *Client, now func() time.Time) { c.tokens.now = now }

// ReplaceToken swaps c's current login token for tok, keeping its renewal
// time, as if the server had stopped accepting the real one.
func ReplaceToken(c *Client, tok string) {
	c.tokens.mu.Lock()
	defer c.tokens.mu.Unlock()
	c.tokens.token = tok
}

// Retryable is retryable for a table test.
func Retryable(method string, idempotent bool, e *Error) bool {
	return retryable(method, idempotent, e)
}

// APIURL is apiURL for a table test.
func APIURL(base string) (string, error) { return apiURL(base) }
