package tests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	"github.com/redis/go-redis/v9"

	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/httpapi"
	"github.com/agcom/agcom/internal/testdb"
)

// Tests of rate limits counted in Redis (REDIS_URL). Those that need a real
// Redis read its URL from AGCOM_TEST_REDIS_URL; the others use a Redis that
// cannot be reached.

// unreachableRedisURL is a Redis nothing listens on: connections are
// refused at once.
const unreachableRedisURL = "redis://127.0.0.1:1/0"

// Metric names of the Redis behind the rate limits.
const (
	redisUpMetric     = "agcom_rate_limit_redis_up"
	redisErrorsMetric = "agcom_rate_limit_redis_errors_total"
)

// redisTestClient connects to the test Redis, for looking at the counts.
func redisTestClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("AGCOM_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("test redis at AGCOM_TEST_REDIS_URL: %v", err)
	}
	return c
}

// redisHandle is a handle no other run has used, so that counts left in a
// shared Redis by earlier runs do not count against it.
func redisHandle(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// withRedis points the rate limits at the Redis at url.
func withRedis(url string, failOpen bool) func(*config.Config) {
	return func(c *config.Config) {
		c.RedisURL = url
		c.RateLimitFailOpen = failOpen
	}
}

// asEnv lets the env helpers (do, hardScrape) drive a hardBoot server.
func asEnv(t *testing.T, s *hardServer) *env {
	return &env{t: t, URL: s.URL, MetricsURL: s.MetricsURL, App: s.App}
}

// redisWrite sends one write (a message) as token and returns the response.
func redisWrite(e *env, token string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do("POST", "/api/v1/messages", token, hardSendBody("bob", "s", "b"))
}

// redisMetric is the value of a Redis metric of e, or -1 when it is absent.
func redisMetric(t *testing.T, e *env, name string) float64 {
	t.Helper()
	got := hardFind(hardScrape(t, e), name, nil)
	switch len(got) {
	case 0:
		return -1
	case 1:
		return got[0].value
	}
	t.Fatalf("%s: %d samples, want 1", name, len(got))
	return 0
}

// waitFor polls cond every 50 ms for up to 10 s and reports whether it
// became true.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestRateLimitRedisShared429(t *testing.T) {
	url := testdb.NeedRedis(t)
	rdb := redisTestClient(t, url)
	const limit = 3
	a := newEnv(t, hardLimits(limit, 100, 100, 100, 100), withRedis(url, true))
	b := newEnv(t, hardLimits(limit, 100, 100, 100, 100), withRedis(url, true))
	handle, other := redisHandle("shared"), redisHandle("other")
	// Both servers share SECRET_KEY: a token minted by one is good on both.
	tok := a.token(handle)

	// The budget is spent across the two servers: each answer's
	// X-RateLimit-Remaining counts the other server's requests too.
	for i, e := range []*env{a, b, a} {
		resp, body := redisWrite(e, tok)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("write %d: status %d, want 201; body %s", i+1, resp.StatusCode, body)
		}
		if got := hardRateHeaders(t, "write "+strconv.Itoa(i+1), resp, limit); got != limit-i-1 {
			t.Errorf("write %d: X-RateLimit-Remaining = %d, want %d (counted on both servers)", i+1, got, limit-i-1)
		}
	}
	for _, tc := range []struct {
		name string
		e    *env
	}{{"server b", b}, {"server a", a}} {
		resp, body := redisWrite(tc.e, tok)
		wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
		if after := hardRetryAfter(t, resp, body); after > 60 {
			t.Errorf("%s: retry_after = %d, want at most the 60 s window", tc.name, after)
		}
		if got := hardRateHeaders(t, tc.name, resp, limit); got != 0 {
			t.Errorf("%s: X-RateLimit-Remaining = %d, want 0", tc.name, got)
		}
	}

	// Another agent has a budget of its own, on either server.
	resp, body := redisWrite(b, b.token(other))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("other agent: status %d, want 201; body %s", resp.StatusCode, body)
	}
	if got := hardRateHeaders(t, "other agent", resp, limit); got != limit-1 {
		t.Errorf("other agent: X-RateLimit-Remaining = %d, want %d", got, limit-1)
	}

	// The counts are in Redis under the agcom:ratelimit prefix: the
	// admitted writes, in this minute's key or (if the minute turned
	// meanwhile) the previous one's.
	now := time.Now().UTC().Truncate(time.Minute)
	var keys []string
	for _, w := range []time.Time{now, now.Add(-time.Minute)} {
		keys = append(keys, fmt.Sprintf("%s:%d", httpapi.DefaultRedisPrefix, httprate.LimitCounterKey("write|agent:"+handle, w)))
	}
	t.Cleanup(func() { rdb.Del(context.Background(), keys...) })
	sum := 0
	for _, k := range keys {
		n, err := rdb.Get(context.Background(), k).Int()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("GET %s: %v", k, err)
		}
		sum += n
	}
	if sum != limit {
		t.Errorf("writes counted in redis for %s = %d, want %d", handle, sum, limit)
	}
	for _, e := range []*env{a, b} {
		if got := redisMetric(t, e, redisUpMetric); got != 1 {
			t.Errorf("%s = %v, want 1", redisUpMetric, got)
		}
		if got := redisMetric(t, e, redisErrorsMetric); got != 0 {
			t.Errorf("%s = %v, want 0", redisErrorsMetric, got)
		}
	}
}

func TestRateLimitRedisFailOpen(t *testing.T) {
	const limit = 3
	s := hardBoot(t, hardLimits(limit, 100, 100, 100, 100), withRedis(unreachableRedisURL, true))
	e := asEnv(t, s)
	tok := e.token("alice")

	// Redis is down: requests pass, counted in process, so the limit
	// still holds on this node.
	for i := 1; i <= limit; i++ {
		resp, body := redisWrite(e, tok)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("write %d with redis down: status %d, want 201; body %s", i, resp.StatusCode, body)
		}
		if got := hardRateHeaders(t, "write "+strconv.Itoa(i), resp, limit); got != limit-i {
			t.Errorf("write %d: X-RateLimit-Remaining = %d, want %d", i, got, limit-i)
		}
	}
	resp, body := redisWrite(e, tok)
	wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
	hardRetryAfter(t, resp, body)
	if resp, body := e.do("GET", "/api/v1/threads", tok, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("read with redis down: status %d, want 200; body %s", resp.StatusCode, body)
	}

	if got := redisMetric(t, e, redisUpMetric); got != 0 {
		t.Errorf("%s = %v, want 0", redisUpMetric, got)
	}
	if got := redisMetric(t, e, redisErrorsMetric); got < 1 {
		t.Errorf("%s = %v, want at least 1", redisErrorsMetric, got)
	}
	logs := s.Logs.String()
	if n := strings.Count(logs, "redis is unreachable"); n != 1 {
		t.Errorf("log has %d lines saying redis is unreachable, want 1; log:\n%s", n, logs)
	}
	if !strings.Contains(logs, `"level":"WARN","msg":"rate limits: redis is unreachable`) {
		t.Errorf("log has no WARN line saying redis is unreachable; log:\n%s", logs)
	}

	// Without REDIS_URL there is no Redis to report on.
	plain := newEnv(t, hardLimits(limit, 100, 100, 100, 100))
	for _, name := range []string{redisUpMetric, redisErrorsMetric} {
		if got := hardFind(hardScrape(t, plain), name, nil); len(got) != 0 {
			t.Errorf("without REDIS_URL: %s = %v, want no sample", name, got)
		}
	}
}

func TestRateLimitRedisFailClosed503(t *testing.T) {
	s := hardBoot(t, hardLimits(100, 100, 100, 100, 100), withRedis(unreachableRedisURL, false))
	e := asEnv(t, s)
	tok := e.token("alice")

	requests := []struct {
		name                string
		method, path, token string
		body                string
	}{
		{"write", "POST", "/api/v1/messages", tok, hardSendBody("bob", "s", "b")},
		{"read", "GET", "/api/v1/threads", tok, ""},
		{"search", "GET", "/api/v1/messages/search?query=s", tok, ""},
		{"audit", "GET", "/api/v1/audit/events", tok, ""},
		{"auth", "POST", "/api/v1/auth/token", "", `{"agent_handle":"alice","agent_secret":"wrong-secret"}`},
	}
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			resp, body := e.do(r.method, r.path, r.token, r.body)
			got := wantError(t, resp, body, http.StatusServiceUnavailable, "ServiceUnavailable")
			hardRetryAfter(t, resp, body)
			hardNoRateHeaders(t, r.name, resp)
			for _, leak := range []string{"redis", "127.0.0.1", "dial", "refused", "httprate", "mget", "tcp"} {
				if strings.Contains(strings.ToLower(string(body)), leak) {
					t.Errorf("body shows %q: %s", leak, body)
				}
			}
			if got.Message == "" || got.Details != nil {
				t.Errorf("error = %+v, want a message and no details", got)
			}
		})
	}

	// The refused write was counted as a 503, not as a 500.
	if n := hardValue(t, hardScrape(t, e), "agcom_http_requests_total",
		map[string]string{"route": "/api/v1/messages", "method": "POST", "status": "503"}); n != 1 {
		t.Errorf(`agcom_http_requests_total{route="/api/v1/messages",status="503"} = %v, want 1`, n)
	}
	// Unlimited routes still answer.
	if resp, body := e.do("GET", "/api/v1/health", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("health with redis down: status %d, want 200; body %s", resp.StatusCode, body)
	}

	if got := redisMetric(t, e, redisUpMetric); got != 0 {
		t.Errorf("%s = %v, want 0", redisUpMetric, got)
	}
	// Every refused request is a failed Redis operation, plus the ping at
	// start-up.
	if got := redisMetric(t, e, redisErrorsMetric); got < float64(len(requests)+1) {
		t.Errorf("%s = %v, want at least %d", redisErrorsMetric, got, len(requests)+1)
	}
	logs := s.Logs.String()
	if n := strings.Count(logs, "redis is unreachable"); n != 1 {
		t.Errorf("log has %d lines saying redis is unreachable, want 1 (not one per request); log:\n%s", n, logs)
	}
	if strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("log has an ERROR line (an internal error?); log:\n%s", logs)
	}
}

func TestRateLimitRedisRecovers(t *testing.T) {
	url := testdb.NeedRedis(t)
	redisTestClient(t, url)
	for _, failOpen := range []bool{true, false} {
		t.Run("fail open "+strconv.FormatBool(failOpen), func(t *testing.T) {
			proxy := startRedisProxy(t, url)
			s := hardBoot(t, hardLimits(100, 100, 100, 100, 100), withRedis(proxy.url(t, url), failOpen))
			e := asEnv(t, s)
			tok := e.token(redisHandle("recover"))

			if resp, body := redisWrite(e, tok); resp.StatusCode != http.StatusCreated {
				t.Fatalf("write with redis up: status %d, want 201; body %s", resp.StatusCode, body)
			}
			if got := redisMetric(t, e, redisUpMetric); got != 1 {
				t.Fatalf("%s with redis up = %v, want 1", redisUpMetric, got)
			}

			proxy.stop()
			resp, body := redisWrite(e, tok)
			if failOpen {
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("write with redis down, fail open: status %d, want 201; body %s", resp.StatusCode, body)
				}
			} else {
				wantError(t, resp, body, http.StatusServiceUnavailable, "ServiceUnavailable")
			}
			if got := redisMetric(t, e, redisUpMetric); got != 0 {
				t.Errorf("%s with redis down = %v, want 0", redisUpMetric, got)
			}
			if !strings.Contains(s.Logs.String(), `"level":"WARN","msg":"rate limits: redis is unreachable`) {
				t.Errorf("no WARN line saying redis is unreachable; log:\n%s", s.Logs.String())
			}

			proxy.start(t)
			// Fail open notices by itself (it pings Redis while counting
			// in process); fail closed on the next request that counts.
			back := waitFor(func() bool {
				if !failOpen {
					redisWrite(e, tok)
				}
				return strings.Contains(s.Logs.String(), `"level":"INFO","msg":"rate limits: redis is reachable again`)
			})
			if !back {
				t.Fatalf("no INFO line saying redis is back; log:\n%s", s.Logs.String())
			}
			if got := redisMetric(t, e, redisUpMetric); got != 1 {
				t.Errorf("%s after redis is back = %v, want 1", redisUpMetric, got)
			}
			if resp, body := redisWrite(e, tok); resp.StatusCode != http.StatusCreated {
				t.Errorf("write after redis is back: status %d, want 201; body %s", resp.StatusCode, body)
			}
			logs := s.Logs.String()
			if down, up := strings.Count(logs, "redis is unreachable"), strings.Count(logs, "redis is reachable again"); down != 1 || up != 1 {
				t.Errorf("log says unreachable %d times and back %d times, want 1 and 1; log:\n%s", down, up, logs)
			}
		})
	}
}

// redisProxy forwards TCP connections to a Redis and can be stopped and
// started again on the same address, to take Redis away from the server
// under test.
type redisProxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startRedisProxy starts a proxy to the Redis at url.
func startRedisProxy(t *testing.T, url string) *redisProxy {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("AGCOM_TEST_REDIS_URL: %v", err)
	}
	p := &redisProxy{target: opts.Addr, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.start(t)
	t.Cleanup(p.stop)
	return p
}

// url is redisURL with its host and port replaced by the proxy's.
func (p *redisProxy) url(t *testing.T, redisURL string) string {
	t.Helper()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(redisURL, opts.Addr, p.addr, 1)
}

// start listens (again) on the proxy's address.
func (p *redisProxy) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("redis proxy: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.forward(c) }()
		}
	}()
}

// forward copies between c and a new connection to the target until
// either side closes.
func (p *redisProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // stopped meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// stop closes the listener and every forwarded connection, and waits for
// the proxy's goroutines.
func (p *redisProxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
