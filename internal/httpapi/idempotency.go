package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// idempotency makes POSTs that carry an Idempotency-Key safe to retry. A
// key the agent used before, within the window, is answered here: with the
// stored answer when the request is the same, IdempotencyKeyReused when it
// is not. Otherwise the key travels in the context and the create stores
// its answer in its own transaction (see answerWith), so that concurrent
// retries, or a crash between commit and response, still create once.
//
// It acts only on the operations whose contract takes the header (routes,
// as "METHOD /pattern"); elsewhere the header means nothing.
func idempotency(store Store, routes map[string]bool, ew errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("Idempotency-Key")
			caller, ok := auth.CallerFrom(r.Context())
			if key == "" || !ok || !routes[r.Method+" "+chi.RouteContext(r.Context()).RoutePattern()] {
				next.ServeHTTP(w, r)
				return
			}
			request, err := requestFingerprint(r)
			if err != nil {
				ew.Write(w, r, err)
				return
			}
			stored, status, body, err := store.IdempotentAnswer(r.Context(), caller.Handle, key)
			switch {
			case err == nil && stored != request:
				ew.Write(w, r, agcom.Errorf(agcom.EIDEMPOTENCY, "this Idempotency-Key was used for a different request; use a new key"))
				return
			case err == nil:
				ew.Write(w, r, &agcom.Replay{Status: status, Body: body})
				return
			case agcom.ErrorCode(err) != agcom.ENOTFOUND:
				ew.Write(w, r, err)
				return
			}
			ctx := agcom.WithIdempotency(r.Context(), &agcom.Idempotency{Handle: caller.Handle, Key: key, Request: request})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
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

// answerWith tells the create in ctx, if it carries an idempotency key, how
// to render its result as the answer a retry gets: the status and the JSON
// the strict server writes for it.
func answerWith(ctx context.Context, status int, toAPI func(result any) any) {
	idem := agcom.IdempotencyFrom(ctx)
	if idem == nil {
		return
	}
	idem.Render = func(result any) (int, []byte, error) {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(toAPI(result)); err != nil {
			return 0, nil, err
		}
		return status, buf.Bytes(), nil
	}
}
