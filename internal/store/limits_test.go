package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
)

func withMetadataLimits(keys, bytes int) func(*config.Config) {
	return func(c *config.Config) { c.MaxMetadataKeys, c.MaxMetadataBytes = keys, bytes }
}

// wantLimitError checks that err is the ValidationError of the named
// metadata limit, with its maximum and the thread's current size.
func wantLimitError(t *testing.T, what string, err error, limit string, max, current int) {
	t.Helper()
	var e *agcom.Error
	if !errors.As(err, &e) || e.Code != agcom.EINVALID {
		t.Fatalf("%s: %v, want a ValidationError", what, err)
	}
	if e.Details["limit"] != limit || e.Details["max"] != max || e.Details["current"] != current {
		t.Fatalf("%s: details %v, want limit %s, max %d, current %d", what, e.Details, limit, max, current)
	}
}

// A thread's metadata holds at most the configured number of keys and
// bytes (keys plus values, UTF-8); the write that would exceed one is
// refused and changes nothing, while replacing a value at the limit and
// removing a key pass.
func TestMetadataLimits(t *testing.T) {
	eachStoreWith(t, withMetadataLimits(3, 40), func(t *testing.T, s app.Store) {
		ctx := context.Background()
		alice := caller("alice")
		th := send(t, s, "alice", []string{"bob"}, "limits", "body").ThreadID
		set := func(key string, value *string) error {
			return agcom.NewService(s).SetThreadMetadata(ctx, alice, th, key, value)
		}
		must := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		unchanged := func(what string, want map[string]string) {
			t.Helper()
			got, err := s.ThreadMetadata(ctx, alice, th)
			must("read metadata", err)
			if !maps.Equal(got, want) {
				t.Fatalf("after %s: metadata %v, want %v", what, got, want)
			}
		}

		for _, k := range []string{"k1", "k2", "k3"} {
			must("set "+k, set(k, ptr("v")))
		}
		full := map[string]string{"k1": "v", "k2": "v", "k3": "v"}
		wantLimitError(t, "a fourth key", set("k4", ptr("v")), agcom.LimitMetadataKeys, 3, 3)
		unchanged("a refused fourth key", full)
		wantLimitError(t, "archiving a full thread", set(agcom.MetadataArchived, ptr("true")), agcom.LimitMetadataKeys, 3, 3)
		unchanged("refused archiving", full)
		must("replace a value at the key limit", set("k3", ptr("vv")))
		must("remove a key", set("k1", nil))
		must("a key again after removing one", set("k4", ptr("v")))

		// k2=v, k3=vv, k4=v: 3+4+3 = 10 bytes, so k2's value may grow to 31.
		must("grow a value to the byte limit", set("k2", ptr(strings.Repeat("x", 31))))
		atLimit := map[string]string{"k2": strings.Repeat("x", 31), "k3": "vv", "k4": "v"}
		wantLimitError(t, "one byte over", set("k2", ptr(strings.Repeat("x", 32))), agcom.LimitMetadataBytes, 40, 40)
		// 16 characters, 32 bytes: bytes count, not characters.
		wantLimitError(t, "two-byte characters", set("k2", ptr(strings.Repeat("é", 16))), agcom.LimitMetadataBytes, 40, 40)
		unchanged("refused growth", atLimit)
		must("replace a value at the byte limit", set("k2", ptr(strings.Repeat("y", 31))))
		must("remove a key at the byte limit", set("k2", nil))
	})
}

// Concurrent writers on one thread never take its metadata over a limit
// together: exactly as many new keys as fit are accepted.
func TestMetadataLimitsHoldUnderConcurrentWriters(t *testing.T) {
	const writers = 24
	for _, tc := range []struct {
		name        string
		keys, bytes int
		value       string
		fit         int
	}{
		{"keys", 5, 1 << 20, "v", 5},
		{"bytes", 1000, 100, strings.Repeat("v", 20), 4}, // a key of 3 bytes and 20: 4 fit in 100
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStoreWith(t, withMetadataLimits(tc.keys, tc.bytes), func(t *testing.T, s app.Store) {
				ctx := context.Background()
				alice := caller("alice")
				// Once on another thread first, so that every writer has a
				// connection ready and they overlap.
				race := func(th string) (accepted int) {
					var (
						wg sync.WaitGroup
						mu sync.Mutex
					)
					start := make(chan struct{})
					for i := range writers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							err := agcom.NewService(s).SetThreadMetadata(ctx, alice, th, fmt.Sprintf("k%02d", i), ptr(tc.value))
							switch agcom.ErrorCode(err) {
							case "":
								mu.Lock()
								accepted++
								mu.Unlock()
							case agcom.EINVALID:
							default:
								t.Errorf("writer %d: %v", i, err)
							}
						}()
					}
					close(start)
					wg.Wait()
					return accepted
				}
				race(send(t, s, "alice", []string{"bob"}, "warm-up", "body").ThreadID)
				th := send(t, s, "alice", []string{"bob"}, "race", "body").ThreadID
				accepted := race(th)
				md, err := s.ThreadMetadata(ctx, alice, th)
				if err != nil {
					t.Fatal(err)
				}
				size := 0
				for k, v := range md {
					size += len(k) + len(v)
				}
				if accepted != tc.fit || len(md) != tc.fit || size > tc.bytes {
					t.Fatalf("%d writes accepted, %d keys of %d bytes held; want %d of at most %d bytes",
						accepted, len(md), size, tc.fit, tc.bytes)
				}
			})
		})
	}
}

// A search stops once it has read the configured bytes of candidates and
// says so; what it found up to there is its answer, the same on every
// store.
func TestSearchStopsAtTheScanLimit(t *testing.T) {
	// Every candidate is 7 bytes of subject and 100 of body: the tenth
	// takes a search past 1,000 bytes, and is the last it reads.
	eachStoreWith(t, func(c *config.Config) { c.SearchMaxScanBytes = 1000 }, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		var sent []agcom.Message
		for i := range 30 {
			body := fmt.Sprintf("%-100s", fmt.Sprintf("common words, number %02d", i))
			if i == 0 {
				body = fmt.Sprintf("%-100s", "the oldest has a rare word: zanzibar")
			}
			sent = append(sent, send(t, s, "alice", []string{"bob"}, fmt.Sprintf("note %02d", i), body))
		}
		newest := func(n int) []string {
			var ids []string
			for i := len(sent) - 1; i >= len(sent)-n; i-- {
				ids = append(ids, sent[i].ID)
			}
			return ids
		}
		root := agcom.Caller{Handle: "root", IsAdmin: true}
		for _, tc := range []struct {
			name          string
			who           agcom.Caller
			query         string
			limit         int
			want          []string
			wantTruncated bool
		}{
			{"an agent's walk stops at the limit", caller("bob"), "number", 50, newest(10), true},
			{"a full page stops first", caller("bob"), "number", 3, newest(3), false},
			{"a rare word past the limit", caller("bob"), "zanzibar", 50, nil, true},
			{"an admin's short query walks too", root, "nu", 50, newest(10), true},
			{"an admin's indexed search reads only what the index finds", root, "zanzibar", 50, []string{sent[0].ID}, false},
		} {
			got, err := s.SearchMessages(ctx, tc.who, agcom.MessageSearch{Query: tc.query, InSubject: true, InBody: true, Limit: tc.limit})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var ids []string
			for _, m := range got.Messages {
				ids = append(ids, m.ID)
			}
			if strings.Join(ids, " ") != strings.Join(tc.want, " ") || got.Truncated != tc.wantTruncated {
				t.Errorf("%s: %d messages %v, truncated %t; want %d %v, truncated %t",
					tc.name, len(ids), ids, got.Truncated, len(tc.want), tc.want, tc.wantTruncated)
			}
		}
	})
}
