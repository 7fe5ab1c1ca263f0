package config_test

import (
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
