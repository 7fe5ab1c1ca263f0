// Package migrations applies a store's schema migrations: the SQL files
// migrations/*.sql embedded in the store, applied in name order, each once
// and in a transaction of its own. The schema version is how many have
// been applied; each store records it its own way.
package migrations

import (
	"fmt"
	"io/fs"
	"sort"
)

// Set is a store's migrations, in the order they apply.
type Set struct {
	fsys  fs.FS
	names []string
}

// New returns the migrations migrations/*.sql of fsys.
func New(fsys fs.FS) Set {
	// Glob fails only on a malformed pattern, and this one is fixed.
	names, _ := fs.Glob(fsys, "migrations/*.sql")
	sort.Strings(names)
	return Set{fsys: fsys, names: names}
}

// Version returns the schema version the set migrates to.
func (s Set) Version() int { return len(s.names) }

// First returns the first n migrations: the set a build of schema version
// n had.
func (s Set) First(n int) Set { return Set{fsys: s.fsys, names: s.names[:n]} }

// Apply applies, in order, the migrations after the database's version:
// apply runs migration n's body (n counting from 1) in one transaction that
// also records n as the schema version. Apply stops at the first that
// fails, and applies none to a database whose version is newer than the
// set's.
func (s Set) Apply(version int, apply func(n int, body string) error) error {
	if version > len(s.names) {
		return fmt.Errorf("store: database schema version %d is newer than this build's %d", version, len(s.names))
	}
	for i := version; i < len(s.names); i++ {
		body, err := fs.ReadFile(s.fsys, s.names[i])
		if err != nil {
			return fmt.Errorf("store: read migration %s: %w", s.names[i], err)
		}
		if err := apply(i+1, string(body)); err != nil {
			return fmt.Errorf("store: migration %s: %w", s.names[i], err)
		}
	}
	return nil
}
