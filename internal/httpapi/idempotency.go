package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// idempotency notes the Idempotency-Key of a create, with the fingerprint
// of its request, for the handler to pass to the use case (see
// idempotencyKeyFrom). It acts only on the operations whose contract takes
// the header (routes, as "METHOD /pattern"); elsewhere the header means
// nothing.
func idempotency(routes map[string]bool, ew errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("Idempotency-Key")
			caller, ok := auth.CallerFrom(r.Context())
			if key == "" || !ok || !routes[r.Method+" "+chi.RouteContext(r.Context()).RoutePattern()] {
				next.ServeHTTP(w, r)
				return
			}
			fingerprint, err := requestFingerprint(r)
			if err != nil {
				ew.Write(w, r, err)
				return
			}
			requestInfoFrom(r.Context()).idempotency = &agcom.IdempotencyKey{Handle: caller.Handle, Key: key, Fingerprint: fingerprint}
			next.ServeHTTP(w, r)
		})
	}
}

// idempotencyKeyFrom returns the request's idempotency key, or nil.
func idempotencyKeyFrom(ctx context.Context) *agcom.IdempotencyKey {
	return requestInfoFrom(ctx).idempotency
}

// requestFingerprint identifies a request by its method, path and body.
func requestFingerprint(r *http.Request) (string, error) {
	h := sha256.New()
	io.WriteString(h, r.Method+" "+r.URL.Path+"\n")
	if r.GetBody != nil {
		body, err := r.GetBody()
		if err != nil {
			return "", err
		}
		defer body.Close()
		if _, err := io.Copy(h, body); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// replayedHeader is the Idempotent-Replayed header of a create's answer:
// "true" on a replay, absent otherwise.
func replayedHeader(replayed bool) *string {
	if !replayed {
		return nil
	}
	t := "true"
	return &t
}
