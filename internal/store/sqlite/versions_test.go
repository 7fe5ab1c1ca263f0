package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agcom/agcom/internal/agcom"
)

// TestVersionsFollowCommits: each commit raises the versions of exactly
// the readers it can change (every one when it comes from elsewhere), and
// a version read again without a commit in between is the same.
func TestVersionsFollowCommits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agcom.db")
	s := openTestStore(t, path)
	alice, bob, carol := agcom.Caller{Handle: "alice"}, agcom.Caller{Handle: "bob"}, agcom.Caller{Handle: "carol"}
	admin := agcom.Caller{Handle: "root", IsAdmin: true}
	scopes := []string{"bob", "carol", "admin", "contacts", "agents"}
	versionOf := map[string]func(context.Context) (uint64, error){
		"bob":      func(ctx context.Context) (uint64, error) { return s.CallerVersion(ctx, bob) },
		"carol":    func(ctx context.Context) (uint64, error) { return s.CallerVersion(ctx, carol) },
		"admin":    func(ctx context.Context) (uint64, error) { return s.CallerVersion(ctx, admin) },
		"contacts": s.ContactsVersion,
		"agents":   s.AgentsVersion,
	}
	versions := func() map[string]uint64 {
		t.Helper()
		got := map[string]uint64{}
		for _, sc := range scopes {
			v, err := versionOf[sc](ctx)
			if err != nil {
				t.Fatalf("%s's version: %v", sc, err)
			}
			got[sc] = v
		}
		return got
	}
	other := func(write func(o *Store) error) func() error {
		return func() error {
			o, err := Open(ctx, path)
			if err != nil {
				return err
			}
			defer o.Close()
			return write(o)
		}
	}
	send := func(from agcom.Caller, to string) func() error {
		return func() error {
			_, _, err := agcom.NewService(s).SendMessage(ctx, from, agcom.NewMessage{ToHandles: []string{to}, Subject: "s", Body: "b"}, nil)
			return err
		}
	}
	steps := []struct {
		name    string
		write   func() error
		changed []string // the rest must not change
	}{
		{"nothing", func() error { return nil }, nil},
		{"alice writes to bob", send(alice, "bob"), []string{"bob", "admin"}},
		{"alice writes to carol", send(alice, "carol"), []string{"carol", "admin"}},
		{"bob marks his thread read", func() error {
			l, err := s.ListThreads(ctx, bob, agcom.ThreadFilter{})
			if err != nil {
				return err
			}
			_, err = agcom.NewService(s).MarkThreadRead(ctx, bob, l.Threads[0].ID)
			return err
		}, []string{"bob", "admin"}},
		{"carol adds a contact", func() error {
			_, _, err := agcom.NewService(s).CreateContact(ctx, carol, agcom.Contact{Handle: "dave"}, nil)
			return err
		}, []string{"carol", "admin", "contacts"}},
		{"an admin adds an agent", func() error {
			_, err := agcom.NewService(s).CreateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, agcom.Agent{Handle: "erin"}, "hash")
			return err
		}, []string{"admin", "agents"}},
		{"a failed login audits bob", func() error {
			return agcom.NewService(s).RecordTokenFailure(ctx, "bob", "bad secret", "192.0.2.1")
		}, []string{"bob", "admin"}},
		{"another store on the file writes", other(func(o *Store) error {
			return agcom.NewService(o).RecordTokenFailure(ctx, "zed", "bad secret", "192.0.2.1")
		}), scopes},
		{"another store writes, then this one, before any read", func() error {
			if err := other(func(o *Store) error {
				_, err := agcom.NewService(o).CreateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, agcom.Agent{Handle: "fay"}, "hash")
				return err
			})(); err != nil {
				return err
			}
			return send(alice, "carol")()
		}, scopes},
		{"a program without a store writes", func() error {
			db, err := sql.Open("sqlite3", "file:"+path)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.Exec(`UPDATE threads SET subject = 'renamed'`)
			return err
		}, scopes},
	}
	before := versions()
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := versions()
		for _, sc := range scopes {
			if changed := after[sc] != before[sc]; changed != slices.Contains(st.changed, sc) {
				t.Errorf("%s: %s's version %d → %d, want changed %t", st.name, sc, before[sc], after[sc], !changed)
			}
			if after[sc] < before[sc] {
				t.Errorf("%s: %s's version fell from %d to %d", st.name, sc, before[sc], after[sc])
			}
		}
		before = after
	}
}
