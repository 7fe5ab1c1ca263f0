package migrations_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"testing/fstest"

	"github.com/agcom/agcom/internal/store/migrations"
)

var files = fstest.MapFS{
	"migrations/0002_b.sql": {Data: []byte("b")},
	"migrations/0001_a.sql": {Data: []byte("a")},
	"migrations/0003_c.sql": {Data: []byte("c")},
	"migrations/README":     {Data: []byte("not a migration")},
	"other/0004_d.sql":      {Data: []byte("not one either")},
}

// applied lists the bodies Apply hands over, each with its version,
// failing at the body fail.
func applied(set migrations.Set, version int, fail string) ([]string, error) {
	var got []string
	err := set.Apply(version, func(n int, body string) error {
		if body == fail {
			return errors.New("broken")
		}
		got = append(got, body+strconv.Itoa(n))
		return nil
	})
	return got, err
}

func TestApply(t *testing.T) {
	set := migrations.New(files)
	if v := set.Version(); v != 3 {
		t.Fatalf("Version() = %d, want 3", v)
	}
	tests := []struct {
		name    string
		set     migrations.Set
		version int
		fail    string
		want    []string
		wantErr string
	}{
		{"new database: all, in name order", set, 0, "", []string{"a1", "b2", "c3"}, ""},
		{"after version 1", set, 1, "", []string{"b2", "c3"}, ""},
		{"up to date", set, 3, "", nil, ""},
		{"first two", set.First(2), 0, "", []string{"a1", "b2"}, ""},
		{"stops at the first failure", set, 0, "b", []string{"a1"}, "store: migration migrations/0002_b.sql: broken"},
		{"newer database", set, 4, "", nil, "store: database schema version 4 is newer than this build's 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := applied(tc.set, tc.version, tc.fail)
			if !slices.Equal(got, tc.want) {
				t.Errorf("applied %q, want %q", got, tc.want)
			}
			if gotErr := errString(err); gotErr != tc.wantErr {
				t.Errorf("error %q, want %q", gotErr, tc.wantErr)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
