package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// internalMessage is all a client learns of an unexpected failure.
const internalMessage = "an unexpected error occurred; quote the request id when reporting it"

// retryAfterSeconds is the advice given with DatabaseBusy.
const retryAfterSeconds = 1

var statusOf = map[agcom.Code]int{
	agcom.EINVALID:         http.StatusBadRequest,
	agcom.EUNAUTHENTICATED: http.StatusUnauthorized,
	agcom.EFORBIDDEN:       http.StatusForbidden,
	agcom.ENOTFOUND:        http.StatusNotFound,
	agcom.EMETHOD:          http.StatusMethodNotAllowed,
	agcom.ECONFLICT:        http.StatusConflict,
	agcom.EVERSION:         http.StatusConflict,
	agcom.EIDEMPOTENCY:     http.StatusConflict,
	agcom.EGONE:            http.StatusGone,
	agcom.ETIMEOUT:         http.StatusRequestTimeout,
	agcom.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	agcom.ERANGE:           http.StatusRequestedRangeNotSatisfiable,
	agcom.ERATELIMIT:       http.StatusTooManyRequests,
	agcom.EINTERNAL:        http.StatusInternalServerError,
	agcom.EBUSY:            http.StatusServiceUnavailable,
	agcom.EUNAVAILABLE:     http.StatusServiceUnavailable,
}

// errorWriter writes every error envelope of the API. Every layer (routing,
// body limit, authentication, validation, parameter binding, handlers and
// panic recovery) reports its failures through Write.
type errorWriter struct {
	log *slog.Logger
}

// Write answers r with err in the error envelope. An error that is not an
// *agcom.Error is logged with the request id and shown as InternalError.
func (ew errorWriter) Write(w http.ResponseWriter, r *http.Request, err error) {
	var e *agcom.Error
	if !errors.As(err, &e) {
		ew.log.ErrorContext(r.Context(), "internal error",
			"request_id", requestIDFrom(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err.Error())
		e = &agcom.Error{Code: agcom.EINTERNAL, Message: internalMessage}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	body := agcomv1.ErrorBody{
		Type:      agcomv1.ErrorBodyType(e.Code),
		Message:   e.Message,
		RequestId: requestIDFrom(r.Context()),
	}
	if len(e.Details) > 0 {
		d := e.Details
		body.Details = &d
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		after := e.RetryAfter
		if after <= 0 {
			after = retryAfterSeconds
		}
		body.RetryAfter = &after
		w.Header().Set("Retry-After", strconv.Itoa(after))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-ID", body.RequestId)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(agcomv1.ErrorEnvelope{Error: body})
}

// requestError is the strict server's handler for bodies it cannot decode.
func (ew errorWriter) requestError(w http.ResponseWriter, r *http.Request, err error) {
	ew.Write(w, r, &agcom.Error{Code: agcom.EINVALID, Message: "request body must be a JSON object matching the schema"})
}

// paramError is the chi wrapper's handler for parameters it cannot bind.
func (ew errorWriter) paramError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		name      string
		invalid   *agcomv1.InvalidParamFormatError
		required  *agcomv1.RequiredParamError
		tooMany   *agcomv1.TooManyValuesForParamError
		unmarshal *agcomv1.UnmarshalingParamError
	)
	switch {
	case errors.As(err, &invalid):
		name = invalid.ParamName
	case errors.As(err, &required):
		name = required.ParamName
	case errors.As(err, &tooMany):
		name = tooMany.ParamName
	case errors.As(err, &unmarshal):
		name = unmarshal.ParamName
	default:
		name = "parameter"
	}
	ew.Write(w, r, agcom.Invalid(name, "invalid value"))
}

// describeValidation turns a validator error into a ValidationError naming
// the offending field, without echoing the offending value.
func describeValidation(err error) *agcom.Error {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return &agcom.Error{Code: agcom.EINVALID, Message: "request does not match the API contract"}
	}
	field := "body"
	if re.Parameter != nil {
		field = re.Parameter.Name
	}
	reason := re.Reason
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		if ptr := se.JSONPointer(); len(ptr) > 0 {
			if re.Parameter == nil {
				field = strings.Join(ptr, ".")
			}
		}
		reason = se.Reason
	} else if re.Err != nil && reason == "" {
		reason = firstLine(re.Err.Error())
	}
	if reason == "" {
		reason = "invalid value"
	}
	return &agcom.Error{
		Code:    agcom.EINVALID,
		Message: fmt.Sprintf("%s: %s", field, reason),
		Details: map[string]any{"field": field},
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
