package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
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
	// Auth limits failed logins (POST /auth/token answered 401) per
	// claimed handle and client address, and AuthAddress per client
	// address: guessing is stopped, but nobody's failures keep an agent
	// from logging in from elsewhere.
	Auth        int
	AuthAddress int
	// NewCounter makes the counter a limiter keeps its counts in; nil
	// keeps them in process. A shared (e.g. Redis, see RedisCounters)
	// counter makes a limit hold across nodes. A request whose count fails
	// is refused with ServiceUnavailable.
	NewCounter func() httprate.LimitCounter
}

// Rate limit categories, as the spec's x-rate-limit-category names them.
const (
	catWrite  = "write"
	catRead   = "read"
	catSearch = "search"
	catAudit  = "audit"
	catAuth   = "auth"
	catNone   = "none" // never limited
)

// rateCategories are the categories an operation may name.
var rateCategories = []string{catRead, catWrite, catSearch, catAudit, catAuth, catNone}

// rateLimiter applies RateLimits. Authenticated requests are counted per
// agent (the verified handle in the context); others per client address.
// Logins count only their failures (see login).
type rateLimiter struct {
	// categories maps every operation, as "METHOD /api/v1/path", to the
	// category the spec names (rateLimitCategories).
	categories map[string]string
	limiters   map[string]*httprate.RateLimiter
	// loginFailures per (handle, address), and per address.
	loginFailures, addressFailures *failureLimit
	ew                             errorWriter
	onLimit                        func(category string)
	// shared is set when the counts live outside the process, where
	// counting can fail.
	shared bool
}

func newRateLimiter(l RateLimits, categories map[string]string, ew errorWriter, onLimit func(category string)) *rateLimiter {
	rl := &rateLimiter{categories: categories, limiters: map[string]*httprate.RateLimiter{}, ew: ew, onLimit: onLimit, shared: l.NewCounter != nil}
	newCounter := func() httprate.LimitCounter { return httprate.NewLocalLimitCounter(rateWindow) }
	if l.NewCounter != nil {
		newCounter = l.NewCounter
	}
	rl.loginFailures = newFailureLimit(l.Auth, newCounter)
	rl.addressFailures = newFailureLimit(l.AuthAddress, newCounter)
	for cat, n := range map[string]int{catWrite: l.Write, catRead: l.Read, catSearch: l.Search, catAudit: l.Audit} {
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
		cat := rl.categories[r.Method+" "+chi.RouteContext(r.Context()).RoutePattern()]
		if cat == catAuth {
			rl.login(w, r, next)
			return
		}
		lim := rl.limiters[cat]
		if lim == nil { // none, or a limit turned off
			next.ServeHTTP(w, r)
			return
		}
		keys := []string{requesterKey(r)}
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
	rl.refuse(w, r, cat, "rate limit exceeded: "+w.Header().Get("X-RateLimit-Limit")+" "+cat+" requests per minute")
}

func (rl *rateLimiter) refuse(w http.ResponseWriter, r *http.Request, cat, msg string) {
	if rl.onLimit != nil {
		rl.onLimit(cat)
	}
	after := int(rateWindow.Seconds())
	if reset, err := strconv.ParseInt(w.Header().Get("X-RateLimit-Reset"), 10, 64); err == nil {
		after = max(1, int(time.Until(time.Unix(reset, 0)).Seconds()+0.999))
	}
	rl.ew.Write(w, r, &agcom.Error{Code: agcom.ERATELIMIT, Message: msg, RetryAfter: after})
}

// login serves a token request unless its client address has failed too
// often, for the claimed handle or for any, in the last minute; a failure
// (401) then counts against both. Only failures count, and only the
// address they came from is refused: a stranger's wrong guesses never
// keep an agent out, while guessing from one address stops at the limit.
func (rl *rateLimiter) login(w http.ResponseWriter, r *http.Request, next http.Handler) {
	addr := requestInfoFrom(r.Context()).client
	checks := []loginCheck{{rl.addressFailures, "auth-address|" + addr, "too many failed logins from this address"}}
	if h := claimedHandle(r); h != "" {
		checks = append(checks, loginCheck{rl.loginFailures, "auth-handle|" + h + "|" + addr, "too many failed logins for this handle from this address"})
	}
	now := time.Now()
	shown := -1 // the remaining failures the headers show
	for i, c := range checks {
		if c.lim == nil {
			continue
		}
		remaining, reset, err := c.lim.remaining(c.key, now)
		if err != nil {
			rl.unavailable(w, r, catAuth, err)
			return
		}
		if i == len(checks)-1 || remaining <= 0 {
			h := w.Header()
			shown = max(0, remaining)
			h.Set("X-RateLimit-Limit", strconv.Itoa(c.lim.limit))
			h.Set("X-RateLimit-Remaining", strconv.Itoa(shown))
			h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		}
		if remaining <= 0 {
			rl.refuse(w, r, catAuth, fmt.Sprintf("%s: at most %d a minute", c.msg, c.lim.limit))
			return
		}
	}
	lw := &loginWriter{ResponseWriter: w, shown: shown}
	next.ServeHTTP(lw, r)
	if !lw.failed {
		return
	}
	for _, c := range checks {
		if c.lim == nil {
			continue
		}
		if err := c.lim.fail(c.key, now); err != nil {
			rl.ew.log.WarnContext(r.Context(), "count a failed login", "request_id", requestIDFrom(r.Context()), "error", err.Error())
		}
	}
}

// loginWriter notes a failed login (401) and, as it is answered, counts it
// in the X-RateLimit-Remaining it shows.
type loginWriter struct {
	http.ResponseWriter
	shown  int
	failed bool
	wrote  bool
}

func (w *loginWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if w.failed = code == http.StatusUnauthorized; w.failed && w.shown > 0 {
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(w.shown-1))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *loginWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *loginWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// loginCheck is one failure count a login is checked against.
type loginCheck struct {
	lim      *failureLimit
	key, msg string
}

// failureLimit counts events (failed logins) per key in the sliding
// window httprate uses: the last minute's count weighed by how much of it
// is still inside the window, plus this minute's. Windows are aligned to
// the wall clock, so that counts kept in Redis agree across nodes.
type failureLimit struct {
	limit   int
	counter httprate.LimitCounter
}

func newFailureLimit(limit int, newCounter func() httprate.LimitCounter) *failureLimit {
	if limit <= 0 {
		return nil
	}
	c := newCounter()
	c.Config(limit, rateWindow)
	return &failureLimit{limit: limit, counter: c}
}

// remaining returns how many more events key may have now, and when the
// current window ends.
func (f *failureLimit) remaining(key string, now time.Time) (int, time.Time, error) {
	cur := now.UTC().Truncate(rateWindow)
	n, prev, err := f.counter.Get(key, cur, cur.Add(-rateWindow))
	if err != nil {
		return 0, time.Time{}, err
	}
	left := 1 - float64(now.Sub(cur))/float64(rateWindow)
	rate := float64(prev)*left + float64(n)
	return f.limit - int(math.Round(rate)), cur.Add(rateWindow), nil
}

// fail counts one event for key.
func (f *failureLimit) fail(key string, now time.Time) error {
	return f.counter.IncrementBy(key, now.UTC().Truncate(rateWindow), 1)
}

// requesterKey identifies who a request counts against: the verified agent,
// or the client's address when there is none.
func requesterKey(r *http.Request) string {
	if c, ok := auth.CallerFrom(r.Context()); ok {
		return "agent:" + c.Handle
	}
	return "ip:" + requestInfoFrom(r.Context()).client
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
