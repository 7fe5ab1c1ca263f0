package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/httpapi"
	"github.com/agcom/agcom/internal/store/cache"
	"github.com/agcom/agcom/internal/store/postgres"
	"github.com/agcom/agcom/internal/store/sqlite"
)

// Store is what the program needs of a store: the API's use cases and the
// operations around them. SQLite (the default) and PostgreSQL implement it.
type Store interface {
	httpapi.Store
	// Write runs the use cases' write transactions.
	agcom.Writer
	// Agent returns the registered agent handle, or ENOTFOUND.
	Agent(ctx context.Context, handle string) (agcom.Agent, error)
	// Prune deletes events older than eventsBefore and expired
	// idempotency keys.
	Prune(ctx context.Context, eventsBefore time.Time) error
	// Attachments keep uploads' bytes; PruneAttachments removes uploads
	// no message carries once they are older than the unattached time.
	agcom.AttachmentStore
	PruneAttachments(ctx context.Context) (removed int, err error)
	// SetClock replaces the store's clock (tests that control time).
	SetClock(clock func() time.Time)
	// SetObserver receives the kind, duration and outcome of every
	// transaction; call it before serving.
	SetObserver(observe func(kind string, d time.Duration, err error))
	Close() error
}

var (
	_ Store       = (*sqlite.Store)(nil)
	_ Store       = (*postgres.Store)(nil)
	_ cache.Store = (*sqlite.Store)(nil)
)

// OpenStore opens (and migrates) the store the configuration names: the
// PostgreSQL database at DATABASE_URL when it is set, otherwise the SQLite
// file at DB_PATH.
func OpenStore(ctx context.Context, cfg config.Config) (Store, error) {
	return openStore(ctx, cfg, slog.New(slog.DiscardHandler))
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (Store, error) {
	if cfg.DatabaseURL != "" {
		opts := []postgres.Option{postgres.WithLogger(log), postgres.WithLimits(storeLimits(cfg))}
		if cfg.S3() {
			opts = append(opts, ObjectStore(cfg))
		}
		return postgres.Open(ctx, cfg.DatabaseURL, opts...)
	}
	return sqlite.Open(ctx, cfg.DBPath, sqlite.WithBusyTimeout(cfg.DBBusyTimeout), sqlite.WithLogger(log),
		sqlite.WithLimits(storeLimits(cfg)), sqlite.WithAttachmentsDir(cfg.AttachmentsDir))
}

// storeLimits are the limits the configuration sets on the store; a
// setting left at zero takes its default.
func storeLimits(cfg config.Config) agcom.Limits {
	return agcom.Limits{
		MetadataKeys:         cfg.MaxMetadataKeys,
		MetadataBytes:        cfg.MaxMetadataBytes,
		SearchScanBytes:      cfg.SearchMaxScanBytes,
		APIKeysPerAgent:      cfg.MaxAPIKeysPerAgent,
		AttachmentBytes:      cfg.MaxAttachmentBytes,
		AttachmentQuotaBytes: cfg.AttachmentQuotaBytes,
		UnattachedTTL:        cfg.AttachmentUnattachedTTL,
	}
}

// WithCache returns s with its list and search reads and its agent records
// answered from memory while they are current (cache.Reads), when s can
// tell what each commit changed, as SQLite's store can. PostgreSQL's stays
// uncached: nodes share its database, and a node cannot learn of another
// node's commits before it reads without a round trip to the database per
// read and a row that every writer updates.
func WithCache(s Store) (Store, error) {
	cs, ok := s.(cache.Store)
	if !ok {
		return s, nil
	}
	reads, err := cache.New(cs, cache.DefaultLists, cache.DefaultAgents)
	if err != nil {
		return nil, err
	}
	return cachedStore{reads, uncached{s}}, nil
}

// cachedStore is a Store with the reads that cache.Reads has answered by it.
type cachedStore struct {
	*cache.Reads
	uncached
}

// uncached holds the store one level deeper than cache.Reads, so that
// where both have a method, cachedStore's is the cache's.
type uncached struct{ Store }

// keptEncodings is how many list answers' encodings the API keeps for s
// (httpapi.Options.KeptEncodings): as many as the cache keeps answers,
// and none when s reads every answer afresh.
func keptEncodings(s Store) int {
	if _, ok := s.(cachedStore); ok {
		return cache.DefaultLists
	}
	return 0
}

// ObjectStore is the PostgreSQL store's option that keeps attachments'
// bytes in the bucket cfg's S3 settings name.
func ObjectStore(cfg config.Config) postgres.Option {
	return postgres.WithObjectStore(postgres.ObjectStore{
		Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Region: cfg.S3Region, Prefix: cfg.S3Prefix,
		AccessKeyID: cfg.S3AccessKeyID, SecretAccessKey: cfg.S3SecretAccessKey,
	})
}
