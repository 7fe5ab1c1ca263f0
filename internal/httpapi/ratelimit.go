package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// rateWindow is the window every limit counts over.
const rateWindow = time.Minute

// RateLimits are the per-minute limits of each category of request. A
// limit of 0 means unlimited.
type RateLimits struct {
	Write  int // creates and changes
	Read   int // reads other than search and audit
	Search int // message and contact search
	Audit  int // the audit trail
	// Auth limits POST /auth/token per client IP and, separately, per
	// claimed handle, against password guessing.
	Auth int
	// NewCounter makes the counter a limiter keeps its counts in; nil
	// keeps them in process. A shared (e.g. Redis, see RedisCounters)
	// counter makes a limit hold across nodes. A request whose count fails
	// is refused with ServiceUnavailable.
	NewCounter func() httprate.LimitCounter
}

// Rate limit categories.
const (
	catWrite  = "write"
	catRead   = "read"
	catSearch = "search"
	catAudit  = "audit"
	catAuth   = "auth"
)

// categoryOf returns the limit category of a route, or "" for routes that
// are never limited (health).
func categoryOf(method, pattern string) string {
	switch {
	case strings.HasPrefix(pattern, BasePath+"/health"):
		return ""
	case pattern == BasePath+"/auth/token":
		return catAuth
	case strings.HasSuffix(pattern, "/search"):
		return catSearch
	case strings.HasPrefix(pattern, BasePath+"/audit"):
		return catAudit
	case method == http.MethodGet || method == http.MethodHead:
		return catRead
	}
	return catWrite
}

// rateLimiter applies RateLimits. Authenticated requests are counted per
// agent (the verified handle in the context); others per client IP.
type rateLimiter struct {
	limiters map[string]*httprate.RateLimiter
	ew       errorWriter
	onLimit  func(category string)
	// shared is set when the counts live outside the process, where
	// counting can fail.
	shared bool
}

func newRateLimiter(l RateLimits, ew errorWriter, onLimit func(category string)) *rateLimiter {
	rl := &rateLimiter{limiters: map[string]*httprate.RateLimiter{}, ew: ew, onLimit: onLimit, shared: l.NewCounter != nil}
	for cat, n := range map[string]int{catWrite: l.Write, catRead: l.Read, catSearch: l.Search, catAudit: l.Audit, catAuth: l.Auth} {
		if n <= 0 {
			continue
		}
		opts := []httprate.Option{httprate.WithErrorHandler(keepCounterError)}
		if l.NewCounter != nil {
			opts = append(opts, httprate.WithLimitCounter(l.NewCounter()))
		}
		rl.limiters[cat] = httprate.NewRateLimiter(n, rateWindow, opts...)
	}
	return rl
}

// Handler limits requests by category; it runs after authentication, on
// matched routes.
func (rl *rateLimiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cat := categoryOf(r.Method, chi.RouteContext(r.Context()).RoutePattern())
		lim := rl.limiters[cat]
		if lim == nil {
			next.ServeHTTP(w, r)
			return
		}
		keys := []string{requesterKey(r)}
		if cat == catAuth {
			if h := claimedHandle(r); h != "" {
				keys = append(keys, "handle:"+h)
			}
		}
		var counterErr error
		counted := r
		if rl.shared { // only a shared counter can fail: spare the others a copy of r
			counted = r.WithContext(context.WithValue(r.Context(), counterErrKey{}, &counterErr))
		}
		for _, k := range keys {
			if lim.OnLimit(w, counted, cat+"|"+k) {
				if counterErr != nil {
					rl.unavailable(w, r, cat, counterErr)
				} else {
					rl.reject(w, r, cat)
				}
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// counterErrKey holds, in the context of a request being counted, where
// keepCounterError puts the counter's error.
type counterErrKey struct{}

// keepCounterError is the limiters' error handler. httprate calls it when
// the counter fails, then reports the request as limited; keeping the
// error lets Handler answer 503 instead of 429 (httprate's own handler
// would answer 428 with the error's text).
func keepCounterError(_ http.ResponseWriter, r *http.Request, err error) {
	if p, ok := r.Context().Value(counterErrKey{}).(*error); ok {
		*p = err
	}
}

// unavailable answers a request that could not be counted with
// ServiceUnavailable, never with the counter's error text.
func (rl *rateLimiter) unavailable(w http.ResponseWriter, r *http.Request, cat string, err error) {
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		w.Header().Del(h) // set before the count failed; they would mislead
	}
	var e *agcom.Error
	if !errors.As(err, &e) || e.Code != agcom.EUNAVAILABLE {
		rl.ew.log.WarnContext(r.Context(), "rate limit counter failed",
			"request_id", requestIDFrom(r.Context()), "category", cat, "error", err.Error())
		e = &agcom.Error{Code: agcom.EUNAVAILABLE, Message: unavailableMessage}
	}
	rl.ew.Write(w, r, e)
}

// reject answers 429 with the seconds until the window resets.
func (rl *rateLimiter) reject(w http.ResponseWriter, r *http.Request, cat string) {
	if rl.onLimit != nil {
		rl.onLimit(cat)
	}
	after := int(rateWindow.Seconds())
	if reset, err := strconv.ParseInt(w.Header().Get("X-RateLimit-Reset"), 10, 64); err == nil {
		after = max(1, int(time.Until(time.Unix(reset, 0)).Seconds()+0.999))
	}
	rl.ew.Write(w, r, &agcom.Error{
		Code:       agcom.ERATELIMIT,
		Message:    "rate limit exceeded: " + w.Header().Get("X-RateLimit-Limit") + " " + cat + " requests per minute",
		RetryAfter: after,
	})
}

// requesterKey identifies who a request counts against: the verified agent,
// or the client's IP when there is none.
func requesterKey(r *http.Request) string {
	if c, ok := auth.CallerFrom(r.Context()); ok {
		return "agent:" + c.Handle
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + httprate.CanonicalizeIP(host)
}

// claimedHandle returns the agent_handle of a token request's (buffered)
// body, if it has one.
func claimedHandle(r *http.Request) string {
	if r.GetBody == nil {
		return ""
	}
	body, err := r.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	var req struct {
		AgentHandle string `json:"agent_handle"`
	}
	if json.NewDecoder(body).Decode(&req) != nil || !agcom.ValidHandle(req.AgentHandle) {
		return ""
	}
	return req.AgentHandle
}
