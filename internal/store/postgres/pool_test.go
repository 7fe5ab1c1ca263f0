package postgres

import (
	neturl "net/url"
	"testing"

	"github.com/agcom/agcom/internal/testdb"
)

func TestSetsPoolSize(t *testing.T) {
	for conn, want := range map[string]bool{
		"postgres://agcom@db:5432/agcom?sslmode=disable":                  false,
		"postgres://agcom@db:5432/agcom?sslmode=disable&pool_max_conns=8": true,
		"postgresql://agcom@db/agcom?pool_max_conns=40":                   true,
		"postgres://agcom@db/agcom?application_name=pool_max_conns":       false,
		"host=db user=agcom dbname=agcom":                                 false,
		"host=db user=agcom pool_max_conns=8 dbname=agcom":                true,
		"pool_max_conns = 8 host=db":                                      true,
		"host=db user=agcom application_name=my_pool_max_conns=8":         false,
	} {
		if got := setsPoolSize(conn); got != want {
			t.Errorf("setsPoolSize(%q) = %t, want %t", conn, got, want)
		}
	}
}

// A node's pool is DATABASE_URL's pool_max_conns when it sets one, larger
// or smaller than the default, and the default otherwise.
func TestPoolSize(t *testing.T) {
	base := testdb.NeedPostgres(t)
	sized := func(n string) string {
		u, err := neturl.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("pool_max_conns", n)
		u.RawQuery = q.Encode()
		return u.String()
	}
	for _, tt := range []struct {
		url  string
		want int32
	}{
		{base, defaultMaxConns},
		{sized("3"), 3},
		{sized("40"), 40},
	} {
		s, err := Open(t.Context(), tt.url)
		if err != nil {
			t.Fatalf("open %s: %v", tt.url, err)
		}
		if got := s.pool.Config().MaxConns; got != tt.want {
			t.Errorf("%s: pool of %d connections, want %d", tt.url, got, tt.want)
		}
		s.Close()
	}
}
