// Package config reads AgCom's configuration from the environment and an
// optional .env file, once, into one struct.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/mcp"
)

// Defaults.
const (
	DefaultDBPath              = "./data/agcom.db"
	DefaultBusyTimeout         = 5 * time.Second
	DefaultAlgorithm           = "HS256"
	DefaultTokenExpireMinutes  = 60
	DefaultHost                = "127.0.0.1"
	DefaultPort                = 8000
	DefaultCORSOrigins         = `["http://localhost:3000"]`
	DefaultLogLevel            = "INFO"
	DefaultLogFormat           = "json"
	DefaultMaxBodyBytes        = 1 << 20
	DefaultShutdownTimeout     = 15 * time.Second
	DefaultRateWrite           = 100
	DefaultRateRead            = 500
	DefaultRateSearch          = 50
	DefaultRateAudit           = 100
	DefaultRateAuth            = 10
	DefaultEventRetentionHours = 7 * 24
	DefaultRateAuthAddress     = 50
	DefaultClockSkew           = 30 * time.Second
	DefaultStreamKeepAlive     = 15 * time.Second
	DefaultStreamsPerAgent     = 10
	DefaultStreams             = 10_000
	DefaultHashConcurrency     = 4
	DefaultMCPSessionsPerAgent = 10
	DefaultMCPSessions         = 1_000
	DefaultMCPSessionIdle      = 30 * time.Minute
	DefaultMCPAttachmentBytes  = mcp.DefaultMaxAttachmentBytes
	// DefaultMetricsAddr keeps /metrics on the loopback interface, apart
	// from the API's port.
	DefaultMetricsAddr = "127.0.0.1:9464"
	minSecretKeyLen    = 32
)

// Defaults of the limits the store enforces (agcom.Limits).
const (
	DefaultMaxMetadataKeysPerThread  = agcom.DefaultMetadataKeys
	DefaultMaxMetadataBytesPerThread = agcom.DefaultMetadataBytes
	DefaultSearchMaxScanBytes        = agcom.DefaultSearchScanBytes
	DefaultMaxAPIKeysPerAgent        = agcom.DefaultAPIKeysPerAgent
	DefaultMaxAttachmentBytes        = agcom.DefaultAttachmentBytes
	DefaultAttachmentQuotaBytes      = agcom.DefaultAttachmentQuotaBytes
	DefaultAttachmentUnattachedTTL   = agcom.DefaultUnattachedTTL
	DefaultAttachmentIdleTimeout     = agcom.DefaultAttachmentIdle
)

// Defaults of the identity provider's settings.
const (
	DefaultOIDCHandleClaim    = auth.DefaultHandleClaim
	DefaultOIDCJWKSRefresh    = auth.DefaultJWKSRefresh
	DefaultOIDCJWKSMinRefresh = auth.DefaultJWKSMinRefresh
)

// Config is the server's configuration.
type Config struct {
	DBPath string
	// DatabaseURL, when set (postgres://…), selects the PostgreSQL store
	// instead of the SQLite file at DBPath.
	DatabaseURL string
	// RedisURL, when set (redis://…), keeps rate-limit counts in Redis so
	// that a limit is shared by every node.
	RedisURL string
	// RateLimitFailOpen lets requests through (true) or refuses them with
	// 503 (false) while Redis cannot be reached.
	RateLimitFailOpen bool
	DBBusyTimeout     time.Duration
	SecretKey         string
	// SecretKeyPrevious, when set, still verifies tokens (never signs
	// them), so that SECRET_KEY can be rotated without logging anyone out.
	SecretKeyPrevious string
	// ClockSkew is tolerated on a token's exp, nbf and iat.
	ClockSkew time.Duration
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// StreamKeepAlive is how often a quiet event stream sends a comment
	// and checks its caller again.
	StreamKeepAlive time.Duration
	// StreamsPerAgent and Streams bound open event streams and waiting
	// long-polls, per agent and in all.
	StreamsPerAgent int
	Streams         int
	// MCPSessionsPerAgent and MCPSessions bound open MCP sessions, per
	// agent and in all; MCPSessionIdle closes a session that has had no
	// request open for this long.
	MCPSessionsPerAgent int
	MCPSessions         int
	MCPSessionIdle      time.Duration
	// MCPAttachmentBytes bounds the file an MCP get_attachment answers with.
	MCPAttachmentBytes int64
	// HashConcurrency bounds how many secrets are hashed at once (each
	// argon2id hash holds 19 MiB).
	HashConcurrency int
	TokenTTL        time.Duration
	Host            string
	Port            int
	CORSOrigins     []string
	RateLimits      bool
	RateWrite       int // requests per minute per agent, by category
	RateRead        int
	RateSearch      int
	RateAudit       int
	// RateAuth bounds failed logins per minute per (handle, client
	// address); RateAuthAddress per client address, whatever the handle.
	// Successful logins are never refused for someone else's failures.
	RateAuth        int
	RateAuthAddress int
	LogLevel        slog.Level
	LogFormat       string // "json" or "text"
	AdminHandle     string
	AdminSecret     string
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	// EventRetention is how long agents' events are kept for resuming.
	EventRetention time.Duration
	// MetricsAddr is the listen address of /metrics (and pprof), never the
	// API's; empty serves neither.
	MetricsAddr string
	// Pprof serves Go's profiler at /debug/pprof/ on the metrics listener
	// (unauthenticated: only for diagnosing, on a trusted network).
	Pprof bool
	// TLSCertFile and TLSKeyFile, both set, make the API serve HTTPS with
	// this PEM certificate (chain) and key, read again on SIGHUP.
	TLSCertFile string
	TLSKeyFile  string
	// MaxMetadataKeys and MaxMetadataBytes bound one thread's metadata:
	// its keys, and the bytes of its keys plus values (UTF-8).
	MaxMetadataKeys  int
	MaxMetadataBytes int
	// SearchMaxScanBytes bounds the bytes of candidate subjects and bodies
	// one message search reads before it answers what it found so far.
	SearchMaxScanBytes int64
	// MaxAPIKeysPerAgent bounds the API keys one agent holds.
	MaxAPIKeysPerAgent int
	// OIDCIssuer and JWKSURL, either set, trust an identity provider's
	// access tokens: the issuer's keys are found by discovery, or at
	// JWKSURL. OIDCAudience must then be set.
	OIDCIssuer   string
	JWKSURL      string
	OIDCAudience string
	// OIDCHandleClaim names the claim that holds the agent's handle.
	OIDCHandleClaim string
	// OIDCAdminClaim and OIDCAdminValue, both set, make a provider's
	// token whose claim holds the value act as an admin.
	OIDCAdminClaim string
	OIDCAdminValue string
	// OIDCJWKSRefresh is how often the provider's keys are fetched again;
	// OIDCJWKSMinRefresh how soon after a fetch a token naming an unknown
	// key may fetch them again.
	OIDCJWKSRefresh    time.Duration
	OIDCJWKSMinRefresh time.Duration
	// MaxAttachmentBytes bounds one upload; AttachmentQuotaBytes the bytes
	// of one agent's uploads. AttachmentUnattachedTTL is how long an upload
	// no message carries is kept.
	MaxAttachmentBytes      int64
	AttachmentQuotaBytes    int64
	AttachmentUnattachedTTL time.Duration
	// AttachmentIdleTimeout cuts off an upload or a download that stands
	// still this long.
	AttachmentIdleTimeout time.Duration
	// AttachmentsDir holds the SQLite store's attachment files; empty:
	// "attachments" beside the database file.
	AttachmentsDir string
	// S3Endpoint and S3Bucket, both set, keep the PostgreSQL store's
	// attachment bytes in that S3-compatible bucket, under S3Prefix plus
	// the blob's id, instead of the database. S3Region may be empty.
	S3Endpoint string
	S3Bucket   string
	S3Region   string
	S3Prefix   string
	// S3AccessKeyID and S3SecretAccessKey sign the requests (AWS_* as a
	// fallback); neither set sends anonymous ones.
	S3AccessKeyID     string
	S3SecretAccessKey string
}

// S3 reports whether attachments' bytes are kept in an S3 bucket.
func (c Config) S3() bool {
	return c.S3Endpoint != ""
}

// OIDC reports whether the server trusts an identity provider.
func (c Config) OIDC() bool {
	return c.OIDCIssuer != "" || c.JWKSURL != ""
}

// TLS reports whether the API serves HTTPS.
func (c Config) TLS() bool {
	return c.TLSCertFile != ""
}

// Addr is the listen address.
func (c Config) Addr() string {
	return c.Host + ":" + strconv.Itoa(c.Port)
}

// Getenv looks up one variable; ok is false when it is unset.
type Getenv func(name string) (value string, ok bool)

// FromEnvironment returns a Getenv over the process environment, falling
// back to the variables of envFile (if it exists): the real environment
// wins.
func FromEnvironment(envFile string) (Getenv, error) {
	file := map[string]string{}
	if envFile != "" {
		m, err := godotenv.Read(envFile)
		switch {
		case err == nil:
			file = m
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, fmt.Errorf("config: read %s: %w", envFile, err)
		}
	}
	return func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := file[name]
		return v, ok
	}, nil
}

// Load reads the configuration. It fails, saying why, on a missing or
// short SECRET_KEY, an algorithm other than HS256, or a malformed value.
func Load(getenv Getenv) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		DBPath:            r.str("DB_PATH", DefaultDBPath),
		DatabaseURL:       r.str("DATABASE_URL", ""),
		RedisURL:          r.str("REDIS_URL", ""),
		RateLimitFailOpen: r.bool("RATE_LIMIT_FAIL_OPEN", true),
		DBBusyTimeout:     time.Duration(r.int("DB_BUSY_TIMEOUT_MS", int(DefaultBusyTimeout/time.Millisecond), 0, 600_000)) * time.Millisecond,
		SecretKey:         r.str("SECRET_KEY", ""),
		TokenTTL:          time.Duration(r.int("ACCESS_TOKEN_EXPIRE_MINUTES", DefaultTokenExpireMinutes, 1, 60*24*30)) * time.Minute,
		Host:              r.str("HOST", DefaultHost),
		Port:              r.int("PORT", DefaultPort, 0, 65535),
		RateLimits:        r.bool("RATE_LIMIT_ENABLED", true),
		RateWrite:         r.int("RATE_LIMIT_WRITE_PER_MINUTE", DefaultRateWrite, 1, 1_000_000),
		RateRead:          r.int("RATE_LIMIT_READ_PER_MINUTE", DefaultRateRead, 1, 1_000_000),
		RateSearch:        r.int("RATE_LIMIT_SEARCH_PER_MINUTE", DefaultRateSearch, 1, 1_000_000),
		RateAudit:         r.int("RATE_LIMIT_AUDIT_PER_MINUTE", DefaultRateAudit, 1, 1_000_000),
		RateAuth:          r.int("RATE_LIMIT_AUTH_PER_MINUTE", DefaultRateAuth, 1, 1_000_000),
		RateAuthAddress:   r.int("RATE_LIMIT_AUTH_ADDRESS_PER_MINUTE", DefaultRateAuthAddress, 1, 1_000_000),
		SecretKeyPrevious: r.str("SECRET_KEY_PREVIOUS", ""),
		ClockSkew:         r.duration("JWT_CLOCK_SKEW", DefaultClockSkew, 0, 10*time.Minute),
		TrustedProxies:    r.prefixes("TRUSTED_PROXIES"),
		StreamKeepAlive:   r.duration("EVENT_STREAM_KEEPALIVE", DefaultStreamKeepAlive, 100*time.Millisecond, 10*time.Minute),
		StreamsPerAgent:   r.int("MAX_EVENT_STREAMS_PER_AGENT", DefaultStreamsPerAgent, 1, 1_000_000),
		Streams:           r.int("MAX_EVENT_STREAMS", DefaultStreams, 1, 10_000_000),
		HashConcurrency:   r.int("AUTH_HASH_CONCURRENCY", DefaultHashConcurrency, 1, 1024),
		LogFormat:         strings.ToLower(r.str("LOG_FORMAT", DefaultLogFormat)),
		AdminHandle:       r.str("ADMIN_HANDLE", ""),
		AdminSecret:       r.str("ADMIN_SECRET", ""),
		MaxBodyBytes:      int64(r.int("MAX_REQUEST_BODY_BYTES", DefaultMaxBodyBytes, 1024, 64<<20)),
		MetricsAddr:       r.optional("METRICS_ADDR", DefaultMetricsAddr),
		Pprof:             r.bool("PPROF_ENABLED", false),
		TLSCertFile:       r.str("TLS_CERT_FILE", ""),
		TLSKeyFile:        r.str("TLS_KEY_FILE", ""),
		EventRetention:    time.Duration(r.int("EVENT_RETENTION_HOURS", DefaultEventRetentionHours, 1, 24*365)) * time.Hour,
		ShutdownTimeout:   time.Duration(r.int("SHUTDOWN_TIMEOUT_SECONDS", int(DefaultShutdownTimeout/time.Second), 1, 3600)) * time.Second,
	}
	c.MaxMetadataKeys = r.int("MAX_METADATA_KEYS_PER_THREAD", DefaultMaxMetadataKeysPerThread, 1, 10_000)
	c.MaxMetadataBytes = r.int("MAX_METADATA_BYTES_PER_THREAD", DefaultMaxMetadataBytesPerThread, 64, 1<<20)
	c.SearchMaxScanBytes = int64(r.int("SEARCH_MAX_SCAN_BYTES", DefaultSearchMaxScanBytes, 1, 1<<40))
	c.MaxAPIKeysPerAgent = r.int("MAX_API_KEYS_PER_AGENT", DefaultMaxAPIKeysPerAgent, 1, 10_000)
	c.OIDCIssuer = r.str("OIDC_ISSUER", "")
	c.JWKSURL = r.str("JWKS_URL", "")
	c.OIDCAudience = r.str("OIDC_AUDIENCE", "")
	c.OIDCHandleClaim = r.str("OIDC_HANDLE_CLAIM", DefaultOIDCHandleClaim)
	c.OIDCAdminClaim = r.str("OIDC_ADMIN_CLAIM", "")
	c.OIDCAdminValue = r.str("OIDC_ADMIN_VALUE", "")
	c.OIDCJWKSRefresh = r.duration("OIDC_JWKS_REFRESH_INTERVAL", DefaultOIDCJWKSRefresh, time.Minute, 7*24*time.Hour)
	c.OIDCJWKSMinRefresh = r.duration("OIDC_JWKS_MIN_REFRESH_INTERVAL", DefaultOIDCJWKSMinRefresh, 0, time.Hour)
	c.MaxAttachmentBytes = int64(r.int("MAX_ATTACHMENT_BYTES", DefaultMaxAttachmentBytes, 1, 1<<40))
	c.AttachmentQuotaBytes = int64(r.int("ATTACHMENT_QUOTA_BYTES", DefaultAttachmentQuotaBytes, 1, 1<<50))
	c.AttachmentUnattachedTTL = r.duration("ATTACHMENT_UNATTACHED_TTL", DefaultAttachmentUnattachedTTL, time.Second, 365*24*time.Hour)
	c.AttachmentIdleTimeout = r.duration("ATTACHMENT_IDLE_TIMEOUT", DefaultAttachmentIdleTimeout, time.Second, time.Hour)
	c.AttachmentsDir = r.str("ATTACHMENTS_DIR", "")
	r.readS3(&c)
	c.MCPSessionsPerAgent = r.int("MAX_MCP_SESSIONS_PER_AGENT", DefaultMCPSessionsPerAgent, 1, 1_000_000)
	c.MCPSessions = r.int("MAX_MCP_SESSIONS", DefaultMCPSessions, 1, 10_000_000)
	c.MCPSessionIdle = r.duration("MCP_SESSION_IDLE_TIMEOUT", DefaultMCPSessionIdle, time.Second, 7*24*time.Hour)
	c.MCPAttachmentBytes = int64(r.int("MAX_MCP_ATTACHMENT_BYTES", DefaultMCPAttachmentBytes, 1, 256<<20))
	if alg := r.str("ALGORITHM", DefaultAlgorithm); alg != DefaultAlgorithm {
		r.fail("ALGORITHM: only HS256 is supported, got %q", alg)
	}
	if err := json.Unmarshal([]byte(r.str("CORS_ORIGINS", DefaultCORSOrigins)), &c.CORSOrigins); err != nil {
		r.fail(`CORS_ORIGINS: must be a JSON list of origins, such as ["http://localhost:3000"]`)
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			r.fail("CORS_ORIGINS: list the allowed origins; * is not accepted")
		}
	}
	if level, err := parseLevel(r.str("LOG_LEVEL", DefaultLogLevel)); err != nil {
		r.fail("LOG_LEVEL: one of DEBUG, INFO, WARNING (or WARN), ERROR")
	} else {
		c.LogLevel = level
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		r.fail("LOG_FORMAT: json or text, got %q", c.LogFormat)
	}
	switch {
	case c.SecretKey == "":
		r.fail("SECRET_KEY is not set: set it to at least %d random bytes, e.g. `openssl rand -hex 32` (make run writes one into .env)", minSecretKeyLen)
	case len(c.SecretKey) < minSecretKeyLen:
		r.fail("SECRET_KEY is too short: %d bytes, at least %d are needed", len(c.SecretKey), minSecretKeyLen)
	}
	if c.SecretKeyPrevious != "" && len(c.SecretKeyPrevious) < minSecretKeyLen {
		r.fail("SECRET_KEY_PREVIOUS is too short: %d bytes, at least %d are needed", len(c.SecretKeyPrevious), minSecretKeyLen)
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		r.fail("DATABASE_URL: must be a postgres:// URL (leave it unset for the SQLite file at DB_PATH)")
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		r.fail("REDIS_URL: must be a redis:// or rediss:// URL")
	}
	if (c.AdminHandle == "") != (c.AdminSecret == "") {
		r.fail("ADMIN_HANDLE and ADMIN_SECRET must be set together")
	}
	if c.MetricsAddr != "" && !validAddr(c.MetricsAddr) {
		r.fail("METRICS_ADDR: must be host:port, such as %s, or empty to serve no metrics; got %q", DefaultMetricsAddr, c.MetricsAddr)
	}
	if c.Pprof && c.MetricsAddr == "" {
		r.fail("PPROF_ENABLED: the profiler is served on the metrics listener only; set METRICS_ADDR too")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		r.fail("TLS_CERT_FILE and TLS_KEY_FILE must be set together (both for HTTPS, neither for HTTP)")
	}
	for name, u := range map[string]string{"OIDC_ISSUER": c.OIDCIssuer, "JWKS_URL": c.JWKSURL} {
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			r.fail("%s: must be an https:// (or, for testing, http://) URL, got %q", name, u)
		}
	}
	if c.OIDC() && c.OIDCAudience == "" {
		r.fail("OIDC_AUDIENCE: required with OIDC_ISSUER or JWKS_URL: the audience (aud) the provider's tokens must be for")
	}
	if (c.OIDCAdminClaim == "") != (c.OIDCAdminValue == "") {
		r.fail("OIDC_ADMIN_CLAIM and OIDC_ADMIN_VALUE must be set together")
	}
	r.checkS3(c)
	if c.S3() && c.DatabaseURL == "" {
		r.fail("S3_ENDPOINT: attachments are kept in a bucket only with the PostgreSQL store (DATABASE_URL); the SQLite store keeps them under ATTACHMENTS_DIR")
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadS3 reads and checks the S3 settings alone, as Load does, for a
// command that fills a PostgreSQL database it is told of (agcomd copy):
// the bytes it writes must go where the servers will look for them.
func LoadS3(getenv Getenv) (Config, error) {
	r := reader{getenv: getenv}
	var c Config
	r.readS3(&c)
	r.checkS3(c)
	return c, errors.Join(r.errs...)
}

// readS3 reads the S3 settings into c.
func (r *reader) readS3(c *Config) {
	c.S3Endpoint = r.str("S3_ENDPOINT", "")
	c.S3Bucket = r.str("S3_BUCKET", "")
	c.S3Region = r.str("S3_REGION", r.str("AWS_REGION", ""))
	c.S3Prefix = r.str("S3_PREFIX", "")
	c.S3AccessKeyID = r.str("S3_ACCESS_KEY_ID", r.str("AWS_ACCESS_KEY_ID", ""))
	c.S3SecretAccessKey = r.str("S3_SECRET_ACCESS_KEY", r.str("AWS_SECRET_ACCESS_KEY", ""))
}

// checkS3 checks the S3 settings; the secret is never part of an error.
func (r *reader) checkS3(c Config) {
	if (c.S3Endpoint == "") != (c.S3Bucket == "") {
		r.fail("S3_ENDPOINT and S3_BUCKET must be set together (both to keep attachments in a bucket, neither to keep them in the database)")
		return
	}
	if !c.S3() {
		return
	}
	u, err := url.Parse(c.S3Endpoint)
	switch {
	case err != nil:
		r.fail("S3_ENDPOINT: must be an https:// (or http://) URL, such as https://s3.example.com: %v", err)
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil:
		// Redacted: credentials go in S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY.
		r.fail("S3_ENDPOINT: must be an https:// (or http://) URL with no path, query or credentials, such as https://s3.example.com; got %q", u.Redacted())
	}
	if (c.S3AccessKeyID == "") != (c.S3SecretAccessKey == "") {
		r.fail("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	}
	if strings.HasPrefix(c.S3Prefix, "/") {
		r.fail("S3_PREFIX: an object key prefix, such as attachments/, without a leading /; got %q", c.S3Prefix)
	}
}

// parseLevel reads a log level by slog's names in any case, and WARNING
// (the Python name the spec's configuration uses) as WARN.
func parseLevel(s string) (slog.Level, error) {
	if strings.EqualFold(s, "WARNING") {
		s = "WARN"
	}
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// validAddr reports whether addr is host:port with a numeric port (an
// empty host listens on every interface).
func validAddr(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// reader collects every problem, so that one start-up reports them all.
type reader struct {
	getenv Getenv
	errs   []error
}

func (r *reader) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("config: "+format, args...))
}

func (r *reader) str(name, def string) string {
	if v, ok := r.getenv(name); ok && v != "" {
		return v
	}
	return def
}

// optional is str for a variable that an empty value turns off: unset
// gives def, set and empty gives "".
func (r *reader) optional(name, def string) string {
	if v, ok := r.getenv(name); ok {
		return strings.TrimSpace(v)
	}
	return def
}

func (r *reader) int(name string, def, min, max int) int {
	v, ok := r.getenv(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.fail("%s: must be an integer from %d to %d, got %q", name, min, max, v)
		return def
	}
	return n
}

// duration reads a Go duration ("30s", "1m"); a bare integer is seconds.
func (r *reader) duration(name string, def, min, max time.Duration) time.Duration {
	v, ok := r.getenv(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if n, aerr := strconv.Atoi(v); aerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d < min || d > max {
		r.fail("%s: must be a duration from %s to %s (such as 30s), got %q", name, min, max, v)
		return def
	}
	return d
}

// prefixes reads a comma-separated list of CIDRs or single addresses.
func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.Split(r.str(name, ""), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				r.fail("%s: %q is neither a CIDR (10.0.0.0/8) nor an address", name, f)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

func (r *reader) bool(name string, def bool) bool {
	v, ok := r.getenv(name)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail("%s: must be true or false, got %q", name, v)
		return def
	}
	return b
}
