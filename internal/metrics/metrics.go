// Package metrics exposes AgCom's Prometheus metrics: requests and latency
// by route pattern and status, requests in flight, rate-limit rejections,
// the health of the Redis that shared rate limits count in, and store
// transaction latency.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors, registered on their own registry.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rateLimited *prometheus.CounterVec
	storeTx     *prometheus.HistogramVec

	// The Redis collectors are registered on first use, so that a server
	// without REDIS_URL does not report a Redis that is "down".
	redisOnce   sync.Once
	redisUp     prometheus.Gauge
	redisErrors prometheus.Counter
}

// New returns Metrics with the Go runtime and process collectors too.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agcom_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agcom_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agcom_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agcom_rate_limit_rejections_total",
			Help: "Requests rejected by a rate limit, by category.",
		}, []string{"category"}),
		storeTx: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agcom_store_transaction_duration_seconds",
			Help:    "Store transaction latency by kind (read, write) and outcome (ok, error).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1, 5},
		}, []string{"kind", "outcome"}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agcom_rate_limit_redis_up",
			Help: "1 while the Redis that shared rate limits count in answers, 0 while it does not.",
		}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agcom_rate_limit_redis_errors_total",
			Help: "Failed Redis operations of the shared rate limits.",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.inFlight, m.rateLimited, m.storeTx,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// RateLimited counts one rejection in category.
func (m *Metrics) RateLimited(category string) {
	m.rateLimited.WithLabelValues(category).Inc()
}

// RedisUp records whether the rate limits' Redis answers.
func (m *Metrics) RedisUp(up bool) {
	m.registerRedis()
	v := 0.0
	if up {
		v = 1
	}
	m.redisUp.Set(v)
}

// RedisError counts one failed Redis operation of the rate limits.
func (m *Metrics) RedisError() {
	m.registerRedis()
	m.redisErrors.Inc()
}

func (m *Metrics) registerRedis() {
	m.redisOnce.Do(func() { m.registry.MustRegister(m.redisUp, m.redisErrors) })
}

// ObserveTx records one store transaction.
func (m *Metrics) ObserveTx(kind string, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.storeTx.WithLabelValues(kind, outcome).Observe(d.Seconds())
}

// RequestStarted counts a request in flight until RequestDone.
func (m *Metrics) RequestStarted() { m.inFlight.Inc() }

// RequestDone records a finished request by the route pattern it matched
// (never the raw path, which would make unbounded label values).
func (m *Metrics) RequestDone(route, method string, status int, d time.Duration) {
	m.inFlight.Dec()
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}
