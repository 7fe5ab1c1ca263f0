package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/agcom/agcom/internal/agcom"
)

// validator checks every request against the contract (kin-openapi's
// openapi3filter) before a handler sees it. It finds the operation itself so
// that it can decode path parameters first: the router matches the escaped
// path, and a percent-encoded parameter must be measured as the text it
// stands for.
func validator(spec *openapi3.T, ew errorWriter) (func(http.Handler) http.Handler, error) {
	routed := *spec
	routed.Servers = nil // paths are matched below BasePath, on any host
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("httpapi: route the spec: %w", err)
	}
	opts := &openapi3filter.Options{
		// Authentication already happened; the validator checks shape only.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// The strict server binds the value validated here instead of
		// decoding the body a second time.
		KeepValidatedValue: true,
		// An explicit null must fail a non-nullable property rather than
		// be replaced by its default; handlers apply defaults themselves.
		SkipSettingDefaults: true,
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route, params, err := findRoute(router, r)
			if err != nil {
				if errors.Is(err, routers.ErrMethodNotAllowed) {
					ew.Write(w, r, agcom.Errorf(agcom.EMETHOD, "method %s not allowed here", r.Method))
				} else {
					ew.Write(w, r, agcom.Errorf(agcom.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
				}
				return
			}
			for name, v := range params {
				if params[name], err = url.PathUnescape(v); err != nil {
					ew.Write(w, r, agcom.Invalid(name, "malformed percent-encoding"))
					return
				}
			}
			input := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
			if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
				ew.Write(w, r, describeValidation(err))
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// findRoute matches r's path below BasePath against the spec.
func findRoute(router routers.Router, r *http.Request) (*routers.Route, map[string]string, error) {
	u := *r.URL
	u.Path = strings.TrimPrefix(u.Path, BasePath)
	u.RawPath = strings.TrimPrefix(u.RawPath, BasePath)
	rr := *r
	rr.URL = &u
	return router.FindRoute(&rr)
}
