package postgres

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/testdb"
)

// Writing transactions do not notify: the node announces what they wrote
// after their commits, in batches that carry its tag, and every handle
// whose log grew is named.
func TestWritesAnnounceAfterCommitInBatches(t *testing.T) {
	url := testdb.NeedPostgres(t)
	s := openTest(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := listen(ctx, cfg)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer conn.Close(ctx)

	const sends = 40
	var wg sync.WaitGroup
	for i := range sends {
		wg.Go(func() {
			to := "r" + strings.Repeat("x", i%5+1)
			if _, _, err := agcom.NewService(s).SendMessage(ctx, agcom.Caller{Handle: "alice"}, agcom.NewMessage{
				ToHandles: []string{to}, Subject: "s", Body: "b"}, nil); err != nil {
				t.Errorf("send: %v", err)
			}
		})
	}
	wg.Wait()

	want := []string{"*", "alice", "rx", "rxx", "rxxx", "rxxxx", "rxxxxx"}
	var named []string
	notifications := 0
	for !slices.Equal(named, want) {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("after %d notifications naming %v, want %v: %v", notifications, named, want, err)
		}
		fields := strings.Fields(n.Payload)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], tagPrefix) {
			t.Fatalf("notification %q does not start with a node's tag", n.Payload)
		}
		if fields[0] != s.announcer.tag {
			continue // another test's store on the same database
		}
		notifications++
		for _, h := range fields[1:] {
			if !slices.Contains(named, h) {
				named = append(named, h)
			}
		}
		slices.Sort(named)
	}
}

// A node's listener skips its own announcements (its subscribers were
// woken at the commit) and takes other nodes' without their tag.
func TestHandlesOf(t *testing.T) {
	a := &announcer{tag: "@own"}
	if keys, ok := a.handlesOf("@own alice *"); ok {
		t.Errorf("own announcement taken: %v", keys)
	}
	if keys, ok := a.handlesOf("@other alice *"); !ok || !slices.Equal(keys, []string{"alice", "*"}) {
		t.Errorf("another node's announcement: %v %v", keys, ok)
	}
	if keys, ok := a.handlesOf("alice bob"); !ok || !slices.Equal(keys, []string{"alice", "bob"}) {
		t.Errorf("an untagged notification: %v %v", keys, ok)
	}
}

// Payloads stay under PostgreSQL's limit, each starts with the tag, and
// together they name every handle once.
func TestPayloadsSplitUnderTheLimit(t *testing.T) {
	var handles []string
	for i := range 2000 {
		handles = append(handles, strings.Repeat("h", 10)+string(rune('a'+i%26))+strings.Repeat("x", i%30))
	}
	out := payloads("@tag", handles)
	if len(out) < 2 {
		t.Fatalf("%d payloads for %d handles", len(out), len(handles))
	}
	var got []string
	for _, p := range out {
		if len(p) > maxPayload {
			t.Errorf("payload of %d bytes", len(p))
		}
		fields := strings.Fields(p)
		if fields[0] != "@tag" {
			t.Errorf("payload starts with %q", fields[0])
		}
		got = append(got, fields[1:]...)
	}
	if !slices.Equal(got, handles) {
		t.Errorf("payloads name %d handles, want %d", len(got), len(handles))
	}
}

// What is queued when the store closes is still announced.
func TestCloseAnnouncesWhatIsQueued(t *testing.T) {
	url := testdb.NeedPostgres(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := listen(ctx, cfg)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer conn.Close(ctx)
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	s.announcer.mu.Lock() // queued without a kick: only Close sends it
	s.announcer.pending["carol"] = struct{}{}
	s.announcer.mu.Unlock()
	s.Close()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for { // other tests' stores may announce on the same database
		n, err := conn.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("no announcement at close: %v", err)
		}
		if strings.HasPrefix(n.Payload, s.announcer.tag+" ") {
			if n.Payload != s.announcer.tag+" carol" {
				t.Errorf("payload %q", n.Payload)
			}
			return
		}
	}
}
