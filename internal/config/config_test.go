package config_test

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/config"
)

const key = "0123456789abcdef0123456789abcdef"

func env(vars map[string]string) config.Getenv {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(env(map[string]string{"SECRET_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DBPath != "./data/agcom.db" || c.Addr() != "127.0.0.1:8000" || c.TokenTTL != time.Hour ||
		!c.RateLimits || c.MaxBodyBytes != 1<<20 || c.LogFormat != "json" || c.RateWrite != 100 ||
		len(c.CORSOrigins) != 1 || c.CORSOrigins[0] != "http://localhost:3000" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"missing key", map[string]string{}, "SECRET_KEY is not set"},
		{"short key", map[string]string{"SECRET_KEY": "short"}, "SECRET_KEY is too short"},
		{"algorithm", map[string]string{"SECRET_KEY": key, "ALGORITHM": "RS256"}, "only HS256"},
		{"cors star", map[string]string{"SECRET_KEY": key, "CORS_ORIGINS": `["*"]`}, "* is not accepted"},
		{"cors not json", map[string]string{"SECRET_KEY": key, "CORS_ORIGINS": "http://x"}, "JSON list"},
		{"port", map[string]string{"SECRET_KEY": key, "PORT": "http"}, "PORT"},
		{"bool", map[string]string{"SECRET_KEY": key, "RATE_LIMIT_ENABLED": "maybe"}, "RATE_LIMIT_ENABLED"},
		{"admin half", map[string]string{"SECRET_KEY": key, "ADMIN_HANDLE": "root"}, "set together"},
		{"log level", map[string]string{"SECRET_KEY": key, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"},
		{"trusted proxies", map[string]string{"SECRET_KEY": key, "TRUSTED_PROXIES": "10.0.0.0/8, nginx"}, "TRUSTED_PROXIES"},
		{"skew", map[string]string{"SECRET_KEY": key, "JWT_CLOCK_SKEW": "soon"}, "JWT_CLOCK_SKEW"},
		{"skew too large", map[string]string{"SECRET_KEY": key, "JWT_CLOCK_SKEW": "1h"}, "JWT_CLOCK_SKEW"},
		{"short previous key", map[string]string{"SECRET_KEY": key, "SECRET_KEY_PREVIOUS": "short"}, "SECRET_KEY_PREVIOUS"},
		{"streams", map[string]string{"SECRET_KEY": key, "MAX_EVENT_STREAMS_PER_AGENT": "0"}, "MAX_EVENT_STREAMS_PER_AGENT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.vars))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadSecuritySettings(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"SECRET_KEY": key, "SECRET_KEY_PREVIOUS": key + "-old",
		"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 ,fd00::/8", "JWT_CLOCK_SKEW": "5",
		"EVENT_STREAM_KEEPALIVE": "250ms", "AUTH_HASH_CONCURRENCY": "2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var proxies []string
	for _, p := range c.TrustedProxies {
		proxies = append(proxies, p.String())
	}
	if got := strings.Join(proxies, " "); got != "10.0.0.0/8 192.168.1.7/32 fd00::/8" {
		t.Errorf("TrustedProxies = %s", got)
	}
	if c.ClockSkew != 5*time.Second || c.StreamKeepAlive != 250*time.Millisecond || c.HashConcurrency != 2 ||
		c.SecretKeyPrevious != key+"-old" {
		t.Errorf("settings = %+v", c)
	}
	d, err := config.Load(env(map[string]string{"SECRET_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	if d.ClockSkew != 30*time.Second || d.StreamKeepAlive != 15*time.Second || d.TrustedProxies != nil ||
		d.RateAuth != 10 || d.RateAuthAddress != 50 || d.StreamsPerAgent != 10 || d.Streams != 10000 {
		t.Errorf("defaults = %+v", d)
	}
}

func TestEnvironmentWinsOverFile(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/.env"
	if err := os.WriteFile(file, []byte("PORT=9000\nHOST=0.0.0.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORT", "9100")
	getenv, err := config.FromEnvironment(file)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := getenv("PORT"); v != "9100" {
		t.Errorf("PORT = %q, want the environment's 9100", v)
	}
	if v, _ := getenv("HOST"); v != "0.0.0.0" {
		t.Errorf("HOST = %q, want the file's 0.0.0.0", v)
	}
}

func TestLoadRedis(t *testing.T) {
	cases := []struct {
		name         string
		vars         map[string]string
		wantURL      string
		wantFailOpen bool
	}{
		{"defaults", map[string]string{}, "", true},
		{"redis", map[string]string{"REDIS_URL": "redis://cache:6379/2"}, "redis://cache:6379/2", true},
		{"rediss", map[string]string{"REDIS_URL": "rediss://u:p@cache:6380/0"}, "rediss://u:p@cache:6380/0", true},
		{"fail closed", map[string]string{"REDIS_URL": "redis://cache", "RATE_LIMIT_FAIL_OPEN": "false"}, "redis://cache", false},
		{"fail open", map[string]string{"RATE_LIMIT_FAIL_OPEN": "true"}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.vars["SECRET_KEY"] = key
			c, err := config.Load(env(tc.vars))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if c.RedisURL != tc.wantURL || c.RateLimitFailOpen != tc.wantFailOpen {
				t.Errorf("RedisURL, RateLimitFailOpen = %q, %t; want %q, %t",
					c.RedisURL, c.RateLimitFailOpen, tc.wantURL, tc.wantFailOpen)
			}
		})
	}
}

func TestLoadRejectsRedis(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"scheme", map[string]string{"REDIS_URL": "http://user:hunter2@cache:6379"}, "REDIS_URL: must be a redis:// or rediss:// URL"},
		{"bare host", map[string]string{"REDIS_URL": "cache:6379"}, "REDIS_URL"},
		{"fail open", map[string]string{"RATE_LIMIT_FAIL_OPEN": "sometimes"}, "RATE_LIMIT_FAIL_OPEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.vars["SECRET_KEY"] = key
			_, err := config.Load(env(tc.vars))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load() error = %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Load() error %q shows the password", err)
			}
		})
	}
}

func TestLoadLogLevel(t *testing.T) {
	cases := []struct {
		value string
		want  slog.Level
	}{
		{"", slog.LevelInfo},
		{"DEBUG", slog.LevelDebug},
		{"debug", slog.LevelDebug},
		{"INFO", slog.LevelInfo},
		{"Info", slog.LevelInfo},
		{"WARN", slog.LevelWarn},
		{"warn", slog.LevelWarn},
		{"WARNING", slog.LevelWarn},
		{"warning", slog.LevelWarn},
		{"Warning", slog.LevelWarn},
		{"ERROR", slog.LevelError},
		{"error", slog.LevelError},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			c, err := config.Load(env(map[string]string{"SECRET_KEY": key, "LOG_LEVEL": tc.value}))
			if err != nil {
				t.Fatalf("Load(LOG_LEVEL=%q) error = %v", tc.value, err)
			}
			if c.LogLevel != tc.want {
				t.Errorf("LOG_LEVEL=%q: level %v, want %v", tc.value, c.LogLevel, tc.want)
			}
		})
	}
	for _, bad := range []string{"WARNINGS", "VERBOSE", "CRITICAL"} {
		if _, err := config.Load(env(map[string]string{"SECRET_KEY": key, "LOG_LEVEL": bad})); err == nil ||
			!strings.Contains(err.Error(), "LOG_LEVEL: one of DEBUG, INFO, WARNING (or WARN), ERROR") {
			t.Errorf("Load(LOG_LEVEL=%q) error = %v, want the list of levels", bad, err)
		}
	}
}

func TestLoadMetricsAddr(t *testing.T) {
	cases := []struct {
		name  string
		vars  map[string]string
		want  string
		pprof bool
	}{
		{"unset: the default", map[string]string{}, config.DefaultMetricsAddr, false},
		{"empty: off", map[string]string{"METRICS_ADDR": ""}, "", false},
		{"all interfaces", map[string]string{"METRICS_ADDR": "0.0.0.0:9464"}, "0.0.0.0:9464", false},
		{"no host", map[string]string{"METRICS_ADDR": ":9100"}, ":9100", false},
		{"ipv6", map[string]string{"METRICS_ADDR": "[::1]:9464"}, "[::1]:9464", false},
		{"pprof", map[string]string{"PPROF_ENABLED": "true"}, config.DefaultMetricsAddr, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.vars["SECRET_KEY"] = key
			c, err := config.Load(env(tc.vars))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if c.MetricsAddr != tc.want || c.Pprof != tc.pprof {
				t.Errorf("MetricsAddr, Pprof = %q, %t; want %q, %t", c.MetricsAddr, c.Pprof, tc.want, tc.pprof)
			}
		})
	}
}

func TestLoadTLS(t *testing.T) {
	c, err := config.Load(env(map[string]string{"SECRET_KEY": key}))
	if err != nil || c.TLS() {
		t.Fatalf("without TLS_*: TLS() = %t, error %v; want plain HTTP", c.TLS(), err)
	}
	c, err = config.Load(env(map[string]string{"SECRET_KEY": key, "TLS_CERT_FILE": "/etc/agcom/cert.pem", "TLS_KEY_FILE": "/etc/agcom/key.pem"}))
	if err != nil || !c.TLS() || c.TLSCertFile != "/etc/agcom/cert.pem" || c.TLSKeyFile != "/etc/agcom/key.pem" {
		t.Fatalf("with both TLS_*: %+v, error %v; want HTTPS with both files", c, err)
	}
}

func TestLoadRejectsListeners(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"metrics no port", map[string]string{"METRICS_ADDR": "127.0.0.1"}, "METRICS_ADDR: must be host:port"},
		{"metrics bad port", map[string]string{"METRICS_ADDR": "127.0.0.1:metrics"}, "METRICS_ADDR: must be host:port"},
		{"metrics port range", map[string]string{"METRICS_ADDR": "127.0.0.1:70000"}, "METRICS_ADDR: must be host:port"},
		{"pprof without metrics", map[string]string{"METRICS_ADDR": "", "PPROF_ENABLED": "true"}, "PPROF_ENABLED: the profiler is served on the metrics listener only"},
		{"cert alone", map[string]string{"TLS_CERT_FILE": "cert.pem"}, "TLS_CERT_FILE and TLS_KEY_FILE must be set together"},
		{"key alone", map[string]string{"TLS_KEY_FILE": "key.pem"}, "TLS_CERT_FILE and TLS_KEY_FILE must be set together"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.vars["SECRET_KEY"] = key
			_, err := config.Load(env(tc.vars))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestEverySettingDocumented: every variable Load reads is in .env.example
// and in the README, so that no setting exists only in the code.
func TestEverySettingDocumented(t *testing.T) {
	var names []string
	if _, err := config.Load(func(name string) (string, bool) {
		names = append(names, name)
		if name == "SECRET_KEY" {
			return key, true
		}
		return "", false
	}); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"../../.env.example", "../../README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if !strings.Contains(string(b), name) {
				t.Errorf("%s does not document %s", doc, name)
			}
		}
	}
}

func TestLoadStoreLimits(t *testing.T) {
	c, err := config.Load(env(map[string]string{"SECRET_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxMetadataKeys != 50 || c.MaxMetadataBytes != 16384 || c.SearchMaxScanBytes != 64<<20 {
		t.Errorf("defaults: %d keys, %d bytes of metadata, %d bytes of search scan; want 50, 16384, 64 MiB",
			c.MaxMetadataKeys, c.MaxMetadataBytes, c.SearchMaxScanBytes)
	}
	c, err = config.Load(env(map[string]string{"SECRET_KEY": key,
		"MAX_METADATA_KEYS_PER_THREAD": "7", "MAX_METADATA_BYTES_PER_THREAD": "2048", "SEARCH_MAX_SCAN_BYTES": "1000"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxMetadataKeys != 7 || c.MaxMetadataBytes != 2048 || c.SearchMaxScanBytes != 1000 {
		t.Errorf("set: %d, %d, %d; want 7, 2048, 1000", c.MaxMetadataKeys, c.MaxMetadataBytes, c.SearchMaxScanBytes)
	}
	for name, v := range map[string]string{
		"MAX_METADATA_KEYS_PER_THREAD":  "0",
		"MAX_METADATA_BYTES_PER_THREAD": "63",
		"SEARCH_MAX_SCAN_BYTES":         "-1",
	} {
		if _, err := config.Load(env(map[string]string{"SECRET_KEY": key, name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: error %v, want one naming it", name, v, err)
		}
	}
}

func TestLoadS3(t *testing.T) {
	const pg = "postgres://agcom@db/agcom"
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"SECRET_KEY": key, "DATABASE_URL": pg, "S3_ENDPOINT": "https://s3.example.com", "S3_BUCKET": "files"}
		for k, v := range extra {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	c, err := config.Load(env(base(map[string]string{
		"S3_PREFIX": "agcom/", "S3_REGION": "eu-west-1", "S3_ACCESS_KEY_ID": "id", "S3_SECRET_ACCESS_KEY": "s3cr3t",
	})))
	if err != nil {
		t.Fatal(err)
	}
	if !c.S3() || c.S3Endpoint != "https://s3.example.com" || c.S3Bucket != "files" || c.S3Prefix != "agcom/" ||
		c.S3Region != "eu-west-1" || c.S3AccessKeyID != "id" || c.S3SecretAccessKey != "s3cr3t" {
		t.Errorf("S3 settings = %+v", c)
	}
	c, err = config.Load(env(base(map[string]string{"AWS_ACCESS_KEY_ID": "aws-id", "AWS_SECRET_ACCESS_KEY": "aws-secret", "AWS_REGION": "us-east-2"})))
	if err != nil || c.S3AccessKeyID != "aws-id" || c.S3SecretAccessKey != "aws-secret" || c.S3Region != "us-east-2" {
		t.Errorf("the AWS_* fallbacks: %+v, %v", c, err)
	}
	if c, err := config.Load(env(map[string]string{"SECRET_KEY": key})); err != nil || c.S3() {
		t.Errorf("no S3 by default: S3() = %v, %v", c.S3(), err)
	}

	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"endpoint only", base(map[string]string{"S3_BUCKET": ""}), "S3_ENDPOINT and S3_BUCKET must be set together"},
		{"bucket only", base(map[string]string{"S3_ENDPOINT": ""}), "S3_ENDPOINT and S3_BUCKET must be set together"},
		{"with SQLite", base(map[string]string{"DATABASE_URL": ""}), "only with the PostgreSQL store"},
		{"scheme", base(map[string]string{"S3_ENDPOINT": "s3.example.com"}), "S3_ENDPOINT"},
		{"path", base(map[string]string{"S3_ENDPOINT": "https://s3.example.com/files"}), "S3_ENDPOINT"},
		{"key id only", base(map[string]string{"S3_ACCESS_KEY_ID": "id"}), "must be set together"},
		{"secret only", base(map[string]string{"S3_SECRET_ACCESS_KEY": "s3cr3t"}), "must be set together"},
		{"prefix", base(map[string]string{"S3_PREFIX": "/files"}), "S3_PREFIX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.vars))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A secret never shows in an error, even one written into the URL.
	_, err = config.Load(env(base(map[string]string{"S3_ENDPOINT": "https://id:s3cr3t@s3.example.com", "S3_SECRET_ACCESS_KEY": "s3cr3t"})))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("Load() error = %v, want one without the secret", err)
	}
}
