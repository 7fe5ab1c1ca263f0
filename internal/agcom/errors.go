// Package agcom holds AgCom's domain: its types, the rules that make them
// valid, and the error codes every layer speaks. It imports nothing of ours.
package agcom

import (
	"errors"
	"fmt"
)

// Code classifies an Error. Each code maps one-to-one onto the `type` of the
// API's error envelope.
type Code string

// The error codes.
const (
	EINVALID         Code = "ValidationError"
	EUNAUTHENTICATED Code = "AuthenticationError"
	EFORBIDDEN       Code = "PermissionDenied"
	ENOTFOUND        Code = "NotFound"
	EMETHOD          Code = "MethodNotAllowed"
	ECONFLICT        Code = "Conflict"
	EVERSION         Code = "VersionConflict"
	EIDEMPOTENCY     Code = "IdempotencyKeyReused"
	EGONE            Code = "CursorExpired"
	ETIMEOUT         Code = "RequestTimeout"
	ETOOLARGE        Code = "PayloadTooLarge"
	ERANGE           Code = "RangeNotSatisfiable"
	ERATELIMIT       Code = "RateLimitExceeded"
	EINTERNAL        Code = "InternalError"
	EBUSY            Code = "DatabaseBusy"
	EUNAVAILABLE     Code = "ServiceUnavailable"
)

// Error is a failure the caller can act on: its Message is safe to show.
type Error struct {
	Code    Code
	Message string
	// Details carries machine-readable context, such as the offending field.
	Details map[string]any
	// RetryAfter, in seconds, tells the caller when to try again (rate
	// limits, a busy database); 0 means no advice.
	RetryAfter int
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("agcom: %s: %s", e.Code, e.Message)
}

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a ValidationError about one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{
		Code:    EINVALID,
		Message: field + ": " + fmt.Sprintf(format, args...),
		Details: map[string]any{"field": field},
	}
}

// ErrorCode returns the code of the Error in err's chain, EINTERNAL for any
// other error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
