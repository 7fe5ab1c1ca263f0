package main

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Scenarios driven together take turns: each is served in every one of
// its turns, and each is measured over its share of the time.
func TestDriveTurns(t *testing.T) {
	var (
		mu    sync.Mutex
		order []string // the path of each request, in arrival order, runs merged
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if len(order) == 0 || order[len(order)-1] != r.URL.Path {
			order = append(order, r.URL.Path)
		}
		mu.Unlock()
		time.Sleep(time.Millisecond)
	}))
	defer srv.Close()
	at := func(path string) scenario {
		return scenario{name: path, want: http.StatusOK, build: func(*rand.Rand) *http.Request {
			return mustRequest(http.MethodGet, srv.URL+path, "", "")
		}}
	}
	d := 500 * time.Millisecond
	rs := driveTurns(t.Context(), srv.Client(), 4, d, at("/a"), at("/b"))
	for i, want := range []string{"/a", "/b"} {
		r := rs[i]
		if r.name != want || r.requests == 0 || r.errors != 0 {
			t.Errorf("result %d: %+v, want %s served without errors", i, r, want)
		}
		if r.elapsed < d || r.elapsed > 2*d {
			t.Errorf("%s measured over %s, want about %s", r.name, r.elapsed, d)
		}
	}
	// Runs of one path: two turns each, a request or two of the last turn
	// overlapping the next one's start.
	if len(order) < 2*turns-1 {
		t.Errorf("the paths alternated %d times, want at least %d: %v", len(order)-1, 2*turns-2, order)
	}
}
