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
	"github.com/go-chi/chi/v5"

	"github.com/agcom/agcom/internal/agcom"
)

// validator checks every request against the contract (kin-openapi's
// openapi3filter) before a handler sees it. It finds the operation itself so
// that it can decode path parameters first: a percent-encoded parameter must
// be measured as the text it stands for.
//
// chi has already routed the request, and its route patterns are the
// spec's paths, so the operation is one map lookup (matching the path
// again against every operation cost more than the rest of validation).
// The spec's own router is the fallback for a request chi did not route.
//
// The body of a streamed route (an upload, whose file the handler streams)
// is left to the handler: the validator would read it whole.
func validator(spec *openapi3.T, streamed map[string]bool, ew errorWriter) (func(http.Handler) http.Handler, error) {
	routed := *spec
	routed.Servers = nil // paths are matched below BasePath, on any host
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("httpapi: route the spec: %w", err)
	}
	operations := map[string]*routers.Route{}
	for path, item := range routed.Paths.Map() {
		for method, op := range item.Operations() {
			operations[method+" "+BasePath+path] = &routers.Route{
				Spec: &routed, Path: path, PathItem: item, Method: method, Operation: op,
			}
		}
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
	streamedOpts := *opts
	streamedOpts.ExcludeRequestBody = true
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route, params, err := routeOf(operations, router, r)
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
			if name := nulParameter(r, route.Operation, params); name != "" {
				ew.Write(w, r, agcom.Invalid(name, "must not contain the NUL character (U+0000)"))
				return
			}
			input := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
			if streamed[r.Method+" "+BasePath+route.Path] {
				// Its security check would read the whole body too (for an
				// authentication function that might look at it; ours does
				// not): it sees none.
				bodiless := *r
				bodiless.Body = http.NoBody
				input.Request, input.Options = &bodiless, &streamedOpts
			}
			if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
				ew.Write(w, r, describeValidation(err))
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// nulParameter names a path or query parameter of op, as r sends it
// decoded, that holds U+0000, or returns "". Parameters op does not take
// are ignored, as everywhere; bodies are checked by limitBody.
func nulParameter(r *http.Request, op *openapi3.Operation, path map[string]string) string {
	for name, v := range path {
		if strings.IndexByte(v, 0) >= 0 {
			return name
		}
	}
	if !strings.Contains(r.URL.RawQuery, "%00") {
		return ""
	}
	query := r.URL.Query()
	for _, p := range op.Parameters {
		if p.Value == nil || p.Value.In != openapi3.ParameterInQuery {
			continue
		}
		for _, v := range query[p.Value.Name] {
			if strings.IndexByte(v, 0) >= 0 {
				return p.Value.Name
			}
		}
	}
	return ""
}

// routeOf returns r's operation and its path parameters, still escaped:
// the operation chi routed r to, or else the one the spec's router finds.
func routeOf(operations map[string]*routers.Route, router routers.Router, r *http.Request) (*routers.Route, map[string]string, error) {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if route := operations[r.Method+" "+rc.RoutePattern()]; route != nil {
			if params, ok := pathParams(route.Path, strings.TrimPrefix(r.URL.EscapedPath(), BasePath)); ok {
				return route, params, nil
			}
		}
	}
	return findRoute(router, r)
}

// pathParams matches the escaped path against the template (whose
// parameters are whole segments, as in "/messages/{id}/reply").
func pathParams(template, path string) (map[string]string, bool) {
	params := map[string]string{}
	for template != "" || path != "" {
		var t, p string
		t, template, _ = strings.Cut(strings.TrimPrefix(template, "/"), "/")
		p, path, _ = strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if name, ok := strings.CutPrefix(t, "{"); ok && strings.HasSuffix(name, "}") && p != "" {
			params[strings.TrimSuffix(name, "}")] = p
		} else if t != p {
			return nil, false
		}
	}
	return params, true
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
