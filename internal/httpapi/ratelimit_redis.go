package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/httprate"
	httprateredis "github.com/go-chi/httprate-redis"
	"github.com/redis/go-redis/v9"

	"github.com/agcom/agcom/internal/agcom"
)

// DefaultRedisPrefix starts the name of every rate-limit key in Redis.
const DefaultRedisPrefix = "agcom:ratelimit"

// Redis timeouts used when REDIS_URL does not set its own (dial_timeout,
// read_timeout, write_timeout): short, because every limited request waits
// for Redis, and an unreachable Redis should cost a request little before
// it is counted locally (fail open) or refused (fail closed).
const (
	redisDialTimeout  = 500 * time.Millisecond
	redisIOTimeout    = 250 * time.Millisecond
	redisStartTimeout = 2 * time.Second
)

// unavailableMessage is all a client learns when its request cannot be
// counted: nothing about Redis.
const unavailableMessage = "rate limiting is temporarily unavailable; retry shortly"

// RedisObserver receives the health of the rate limits' Redis (the
// Prometheus metrics).
type RedisObserver interface {
	// RedisUp reports whether Redis answers; it is called at start-up and
	// on every change.
	RedisUp(up bool)
	// RedisError counts one failed Redis operation.
	RedisError()
}

// RedisOptions configure NewRedisCounters.
type RedisOptions struct {
	// URL is the redis:// or rediss:// URL of the server (REDIS_URL).
	URL string
	// Prefix starts every key; DefaultRedisPrefix when empty.
	Prefix string
	// FailOpen lets requests through while Redis cannot be reached,
	// counting them in process meanwhile; otherwise they are refused with
	// ServiceUnavailable (RATE_LIMIT_FAIL_OPEN).
	FailOpen bool
	// Logger receives a warning when Redis goes away and a notice when it
	// is back.
	Logger *slog.Logger
	// Observer receives Redis's health; nil discards it.
	Observer RedisObserver
}

// RedisCounters keeps the counts of the rate limits in Redis, so that a
// limit holds across every node that shares the Redis. It owns the
// process's one Redis client: pass NewCounter as RateLimits.NewCounter and
// call Close on shutdown.
//
// While Redis cannot be reached, a counter either falls back to counting in
// process (FailOpen: each node then enforces the limit on its own, so the
// effective limit is multiplied by the number of nodes) or fails, which the
// rate limiter answers with 503 ServiceUnavailable. Counting in Redis
// resumes on its own once Redis answers again.
type RedisCounters struct {
	client   *redis.Client
	prefix   string
	failOpen bool
	health   *redisHealth
}

// NewRedisCounters connects to the Redis at o.URL. An unreachable Redis is
// not an error (it is logged, and handled as RedisOptions.FailOpen says);
// a malformed URL is.
func NewRedisCounters(ctx context.Context, o RedisOptions) (*RedisCounters, error) {
	opts, err := redis.ParseURL(o.URL)
	if err != nil {
		// A url.Error quotes the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = redisDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = redisIOTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = redisIOTimeout
	}
	if opts.MaxRetries == 0 {
		// A retry only delays the fallback or the refusal.
		opts.MaxRetries = -1
	}
	opts.DisableIdentity = true // no CLIENT SETINFO: one command less per connection
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	obs := o.Observer
	if obs == nil {
		obs = nopRedisObserver{}
	}
	rc := &RedisCounters{
		client:   redis.NewClient(opts),
		prefix:   o.Prefix,
		failOpen: o.FailOpen,
		health:   &redisHealth{log: log, obs: obs, failOpen: o.FailOpen},
	}
	if rc.prefix == "" {
		rc.prefix = DefaultRedisPrefix
	}
	rc.health.up.Store(true)
	pingCtx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	defer cancel()
	if err := rc.client.Ping(pingCtx).Err(); err != nil {
		rc.health.failed(err)
	} else {
		obs.RedisUp(true)
	}
	return rc, nil
}

// NewCounter returns a counter for one limiter. Counters share the client;
// each keeps its own in-process fallback.
func (rc *RedisCounters) NewCounter() httprate.LimitCounter {
	h := rc.health
	inner := httprateredis.NewCounter(&httprateredis.Config{
		Client:           rc.client,
		PrefixKey:        rc.prefix,
		WindowLength:     rateWindow,
		FallbackDisabled: !rc.failOpen,
		// Called, fail open only, for the error that starts a fallback.
		OnError: h.failed,
		OnFallbackChange: func(activated bool) {
			if !activated {
				h.ok()
			}
		},
	})
	c := &redisCounter{inner: inner, health: h}
	if rc.failOpen {
		c.fallback = inner
	}
	return c
}

// Close closes the Redis client.
func (rc *RedisCounters) Close() error {
	return rc.client.Close()
}

// redisCounter is an httprate-redis counter that reports Redis's health and
// turns its errors into ServiceUnavailable.
type redisCounter struct {
	inner httprate.LimitCounter
	// fallback tells whether the counter counts in process; nil when it
	// never does (fail closed).
	fallback interface{ IsFallbackActivated() bool }
	health   *redisHealth
}

func (c *redisCounter) Config(requestLimit int, windowLength time.Duration) {
	c.inner.Config(requestLimit, windowLength)
}

func (c *redisCounter) Increment(key string, currentWindow time.Time) error {
	return c.IncrementBy(key, currentWindow, 1)
}

func (c *redisCounter) IncrementBy(key string, currentWindow time.Time, amount int) error {
	return c.observe(c.inner.IncrementBy(key, currentWindow, amount))
}

func (c *redisCounter) Get(key string, currentWindow, previousWindow time.Time) (int, int, error) {
	curr, prev, err := c.inner.Get(key, currentWindow, previousWindow)
	return curr, prev, c.observe(err)
}

// observe reports the outcome of one operation. Only fail closed returns
// errors: fail open falls back instead, having reported through OnError.
func (c *redisCounter) observe(err error) error {
	if err != nil {
		c.health.failed(err)
		return &agcom.Error{Code: agcom.EUNAVAILABLE, Message: unavailableMessage}
	}
	if c.fallback == nil || !c.fallback.IsFallbackActivated() {
		c.health.ok() // the operation went to Redis
	}
	return nil
}

// redisHealth is whether Redis answers, shared by all counters, so that an
// outage is logged once (not once per limiter and request).
type redisHealth struct {
	log      *slog.Logger
	obs      RedisObserver
	failOpen bool
	up       atomic.Bool // read without mu on every request
	mu       sync.Mutex  // orders the changes of up with their logs
}

// ok records an operation that Redis answered.
func (h *redisHealth) ok() {
	if h.up.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.up.Load() {
		return
	}
	h.up.Store(true)
	h.obs.RedisUp(true)
	h.log.Info("rate limits: redis is reachable again; limits are shared across nodes again")
}

// failed records an operation that Redis did not answer.
func (h *redisHealth) failed(err error) {
	h.obs.RedisError()
	if !h.up.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.up.Load() {
		return
	}
	h.up.Store(false)
	h.obs.RedisUp(false)
	effect := "limited requests are refused with 503 until it is back (RATE_LIMIT_FAIL_OPEN=false)"
	if h.failOpen {
		effect = "requests are counted per node until it is back (RATE_LIMIT_FAIL_OPEN=true)"
	}
	h.log.Warn("rate limits: redis is unreachable; "+effect, "error", err.Error())
}

// nopRedisObserver discards Redis's health.
type nopRedisObserver struct{}

func (nopRedisObserver) RedisUp(bool) {}
func (nopRedisObserver) RedisError()  {}
