package tests

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testserver"
)

// hardSample is one sample of the Prometheus text format.
type hardSample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	hardSampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$`)
	hardLabelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
	hardULIDish    = regexp.MustCompile(`[0-9A-HJKMNP-TV-Z]{26}`)
)

// hardScrape fetches /metrics from the metrics listener, without a token,
// and parses it.
func hardScrape(t *testing.T, e *env) []hardSample {
	t.Helper()
	if e.MetricsURL == "" {
		t.Fatal("the server serves no metrics (METRICS_ADDR is empty)")
	}
	resp, body := hardDo(t, nil, "GET", e.MetricsURL+"/metrics", "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, want 200 without a token; body %.300s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") && !strings.Contains(ct, "openmetrics") {
		t.Errorf("GET /metrics: Content-Type = %q, want the Prometheus text format", ct)
	}
	var out []hardSample
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := hardSampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unparsable metrics line %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("metrics line %q: value: %v", line, err)
		}
		s := hardSample{name: m[1], labels: map[string]string{}, value: v}
		for _, p := range hardLabelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		out = append(out, s)
	}
	return out
}

// hardFind returns the samples named name whose labels include want.
func hardFind(samples []hardSample, name string, want map[string]string) []hardSample {
	var out []hardSample
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// hardValue is the value of the one sample named name with labels want.
func hardValue(t *testing.T, samples []hardSample, name string, want map[string]string) float64 {
	t.Helper()
	got := hardFind(samples, name, want)
	if len(got) != 1 {
		t.Fatalf("%s%v: %d samples, want 1", name, want, len(got))
	}
	return got[0].value
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, hardLimits(3, 1000, 1000, 1000, 1000))
	tok := e.token("alice")

	m := e.send("alice", []string{"bob"}, "metrics", "hello")
	for i := 0; i < 2; i++ {
		if resp, body := e.do("GET", "/api/v1/threads/"+m.ThreadId, tok, ""); resp.StatusCode != 200 {
			t.Fatalf("get thread: status %d; body %s", resp.StatusCode, body)
		}
	}
	if resp, _ := e.do("GET", "/api/v1/messages/"+m.MessageId, tok, ""); resp.StatusCode != 200 {
		t.Fatalf("get message: status %d", resp.StatusCode)
	}
	e.do("GET", "/api/v1/threads/not-a-ulid", tok, "")                 // 400
	e.do("GET", "/api/v1/no/such/"+m.ThreadId, tok, "")                // 404 on no route
	e.do("GET", "/api/v1/threads/01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", tok, "") // 404 on a route
	// Spend the write budget (1 used by the send above) and get a 429.
	for i := 0; i < 3; i++ {
		e.do("POST", "/api/v1/messages", tok, hardSendBody("bob", "s", "b"))
	}

	samples := hardScrape(t, e)

	const reqs = "agcom_http_requests_total"
	if got := hardValue(t, samples, reqs, map[string]string{"route": "/api/v1/threads/{thread_id}", "method": "GET", "status": "200"}); got != 2 {
		t.Errorf(`%s{route="/api/v1/threads/{thread_id}",status="200"} = %v, want 2`, reqs, got)
	}
	if got := hardValue(t, samples, reqs, map[string]string{"route": "/api/v1/threads/{thread_id}", "method": "GET", "status": "400"}); got != 1 {
		t.Errorf(`%s{route="/api/v1/threads/{thread_id}",status="400"} = %v, want 1`, reqs, got)
	}
	if got := hardValue(t, samples, reqs, map[string]string{"route": "/api/v1/messages/{message_id}", "method": "GET", "status": "200"}); got != 1 {
		t.Errorf(`%s{route="/api/v1/messages/{message_id}",status="200"} = %v, want 1`, reqs, got)
	}
	if got := hardValue(t, samples, reqs, map[string]string{"route": "/api/v1/messages", "method": "POST", "status": "201"}); got != 3 {
		t.Errorf(`%s{route="/api/v1/messages",method="POST",status="201"} = %v, want 3`, reqs, got)
	}
	if got := hardValue(t, samples, reqs, map[string]string{"route": "/api/v1/messages", "method": "POST", "status": "429"}); got != 1 {
		t.Errorf(`%s{route="/api/v1/messages",status="429"} = %v, want 1`, reqs, got)
	}
	for _, s := range samples {
		if !strings.HasPrefix(s.name, "agcom_http_") {
			continue
		}
		route, ok := s.labels["route"]
		if s.name != "agcom_http_requests_in_flight" && (!ok || route == "") {
			t.Errorf("%s%v: no route label", s.name, s.labels)
		}
		if hardULIDish.MatchString(route) || strings.Contains(route, "not-a-ulid") {
			t.Errorf("%s: route label %q holds a raw path value, want the route pattern", s.name, route)
		}
	}

	const dur = "agcom_http_request_duration_seconds"
	if got := hardValue(t, samples, dur+"_count", map[string]string{"route": "/api/v1/threads/{thread_id}", "method": "GET"}); got != 4 {
		t.Errorf(`%s_count{route="/api/v1/threads/{thread_id}"} = %v, want 4 (200, 200, 400, 404)`, dur, got)
	}
	if len(hardFind(samples, dur+"_bucket", map[string]string{"route": "/api/v1/messages", "method": "POST", "le": "+Inf"})) != 1 {
		t.Errorf(`%s_bucket{route="/api/v1/messages",le="+Inf"}: missing`, dur)
	}

	// The scrape is not an API request: nothing is in flight.
	if got := hardValue(t, samples, "agcom_http_requests_in_flight", nil); got != 0 {
		t.Errorf("agcom_http_requests_in_flight = %v during a lone scrape, want 0", got)
	}

	if got := hardValue(t, samples, "agcom_rate_limit_rejections_total", map[string]string{"category": "write"}); got != 1 {
		t.Errorf(`agcom_rate_limit_rejections_total{category="write"} = %v, want 1`, got)
	}

	const tx = "agcom_store_transaction_duration_seconds"
	for _, kind := range []string{"read", "write"} {
		c := hardFind(samples, tx+"_count", map[string]string{"kind": kind, "outcome": "ok"})
		if len(c) != 1 || c[0].value < 1 {
			t.Errorf(`%s_count{kind=%q,outcome="ok"} = %v, want at least 1`, tx, kind, c)
		}
	}

	// A second scrape: the first was not counted as an API request.
	samples = hardScrape(t, e)
	if got := hardFind(samples, reqs, map[string]string{"route": "/metrics"}); len(got) != 0 {
		t.Errorf(`%s{route="/metrics"} = %v, want no sample: scrapes are not API requests`, reqs, got)
	}
}

// metricsPaths are what the metrics listener serves with pprof on.
var metricsPaths = []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/vars"}

// metricsNotOnAPI checks that the API answers every metrics path with the
// usual 404 envelope, with and without a token.
func metricsNotOnAPI(t *testing.T, e *env) {
	t.Helper()
	tok := e.token("alice")
	for _, p := range metricsPaths {
		for _, token := range []string{"", tok} {
			resp, body := e.do("GET", p, token, "")
			t.Run(p, func(t *testing.T) { wantError(t, resp, body, http.StatusNotFound, "NotFound") })
		}
	}
}

func TestMetricsOnTheirOwnListener(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Pprof = true })
	metricsNotOnAPI(t, e)
	for _, p := range metricsPaths {
		resp, body := hardDo(t, nil, "GET", e.MetricsURL+p, "", nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("metrics listener: GET %s: status %d, want 200; body %.200s", p, resp.StatusCode, body)
		}
	}

	// Without pprof the metrics listener serves the metrics alone.
	e = newEnv(t)
	metricsNotOnAPI(t, e)
	for _, p := range metricsPaths[1:] {
		if resp, body := hardDo(t, nil, "GET", e.MetricsURL+p, "", nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("metrics listener without pprof: GET %s: status %d, want 404; body %.200s", p, resp.StatusCode, body)
		}
	}
}

// The program's own listeners: METRICS_ADDR gets one of its own, and empty
// opens none.
func TestMetricsAddr(t *testing.T) {
	serve := func(t *testing.T, metricsAddr string) (*env, *hardLogBuffer) {
		t.Helper()
		logs := &hardLogBuffer{}
		s, err := testserver.Start(t.TempDir(), testserver.Options{
			Listen: true,
			Env:    map[string]string{"METRICS_ADDR": metricsAddr, "PPROF_ENABLED": strconv.FormatBool(metricsAddr != ""), "LOG_LEVEL": "INFO"},
			Logs:   logs,
			Config: []func(*config.Config){onTestStore(t)},
		})
		if err != nil {
			t.Fatalf("start with METRICS_ADDR=%q: %v", metricsAddr, err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return &env{t: t, URL: s.URL, MetricsURL: s.MetricsURL, App: s.App}, logs
	}

	t.Run("own listener", func(t *testing.T) {
		e, logs := serve(t, "127.0.0.1:0")
		if e.MetricsURL == "" || e.MetricsURL == e.URL {
			t.Fatalf("metrics at %q, API at %q: want a listener of their own", e.MetricsURL, e.URL)
		}
		metricsNotOnAPI(t, e)
		for _, p := range metricsPaths {
			if resp, body := hardDo(t, nil, "GET", e.MetricsURL+p, "", nil, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("metrics listener: GET %s: status %d, want 200; body %.200s", p, resp.StatusCode, body)
			}
		}
		if !strings.Contains(logs.String(), `"msg":"metrics listening","addr":"`+strings.TrimPrefix(e.MetricsURL, "http://")+`"`) {
			t.Errorf("no log line for the metrics listener at %s; logs:\n%s", e.MetricsURL, logs)
		}
	})

	t.Run("empty", func(t *testing.T) {
		e, logs := serve(t, "")
		if e.MetricsURL != "" || e.App.MetricsHandler != nil {
			t.Errorf("METRICS_ADDR empty: metrics at %q (handler %v), want none", e.MetricsURL, e.App.MetricsHandler)
		}
		if strings.Contains(logs.String(), "metrics listening") {
			t.Errorf("METRICS_ADDR empty: a metrics listener was opened; logs:\n%s", logs)
		}
		metricsNotOnAPI(t, e)
		if resp, body := e.do("GET", "/api/v1/health", "", ""); resp.StatusCode != http.StatusOK {
			t.Errorf("health: status %d; body %s", resp.StatusCode, body)
		}
	})
}
