package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
)

// Error is an error answer of the AgCom API, decoded from its envelope
// `{"error": {"type", "message", "details", "request_id", "retry_after"}}`.
// Get it from any error the Client returns with errors.As.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Type is the envelope's type, such as agcomv1.NotFound; it is empty
	// when the answer was not an envelope (a proxy in between, say).
	Type agcomv1.ErrorBodyType
	// Message is the server's explanation, safe to show to a person.
	Message string
	// Details carries machine-readable context, such as the offending field.
	Details map[string]any
	// RequestID identifies the request in the server's logs.
	RequestID string
	// RetryAfter is the server's advice on when to try again (429, 503).
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "agcom: %d", e.Status)
	if e.Type != "" {
		fmt.Fprintf(&b, " %s", e.Type)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// maxErrorSnippet bounds how much of a body that is not an envelope goes
// into an Error's message.
const maxErrorSnippet = 200

// newError decodes an error answer. Bodies that are not the envelope still
// give an Error, with the status text and the start of the body.
func newError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var env agcomv1.ErrorEnvelope
	if err := json.Unmarshal(body, &env); err != nil || env.Error.Type == "" {
		e.Message = http.StatusText(status)
		if s := strings.TrimSpace(string(body)); s != "" {
			if len(s) > maxErrorSnippet {
				s = s[:maxErrorSnippet] + "..."
			}
			e.Message += ": " + s
		}
		return e
	}
	e.Type = env.Error.Type
	e.Message = env.Error.Message
	e.RequestID = env.Error.RequestId
	if env.Error.Details != nil {
		e.Details = *env.Error.Details
	}
	if env.Error.RetryAfter != nil {
		e.RetryAfter = time.Duration(*env.Error.RetryAfter) * time.Second
	}
	return e
}

// statusOf returns the HTTP status of the *Error in err's chain, or 0.
func statusOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status
	}
	return 0
}

// IsValidation reports whether err is a 400 ValidationError.
func IsValidation(err error) bool { return statusOf(err) == http.StatusBadRequest }

// IsUnauthorized reports whether err is a 401: no token, a bad or expired
// one, or a failed login.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsForbidden reports whether err is a 403 PermissionDenied.
func IsForbidden(err error) bool { return statusOf(err) == http.StatusForbidden }

// IsNotFound reports whether err is a 404: the object does not exist, or
// the caller may not see it.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is a 409, a Conflict or a VersionConflict.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsVersionConflict reports whether err is a 409 VersionConflict: the
// object changed since the version the update expected.
func IsVersionConflict(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Type == agcomv1.VersionConflict
}

// IsRateLimited reports whether err is a 429, still there after retries.
func IsRateLimited(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

// IsUnavailable reports whether err is a 503 (DatabaseBusy or
// ServiceUnavailable), still there after retries.
func IsUnavailable(err error) bool { return statusOf(err) == http.StatusServiceUnavailable }

// IsCursorExpired reports whether err is a 410 CursorExpired: the events
// after the cursor are no longer kept. Resynchronise (list threads and
// the inbox again), then read events without a cursor.
func IsCursorExpired(err error) bool { return statusOf(err) == http.StatusGone }
