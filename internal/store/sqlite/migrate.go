package sqlite

import (
	"context"
	"embed"
	"fmt"
	"strconv"

	"github.com/agcom/agcom/internal/store/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// schema is the store's migrations; the schema version is the database's
// user_version.
var schema = migrations.New(migrationFS)

// SchemaVersion is the schema version this build migrates to.
func SchemaVersion() int { return schema.Version() }

// migrate applies the embedded migrations newer than the database's
// user_version.
func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	return schema.Apply(version, func(n int, body string) error {
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, body); err != nil {
			return err
		}
		// PRAGMA takes no parameters; the value is our own integer.
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(n)); err != nil {
			return err
		}
		return tx.Commit()
	})
}
