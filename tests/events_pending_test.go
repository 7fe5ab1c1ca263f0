package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testdb"
)

// On PostgreSQL a reader gets events only below the oldest transaction
// still running, so that cursors never go back: an event that commits
// behind an older transaction waits for it, and its wake-up has come and
// gone by then. A long-poll, a stream, and a read that does not wait all
// deliver it once the older transaction ends.
func TestEventsHeldBehindAnOlderTransactionArrive(t *testing.T) {
	dbURL := testdb.NeedPostgres(t)
	e := newEnv(t, func(cfg *config.Config) { cfg.DatabaseURL = dbURL })
	ctx := context.Background()
	tok := e.token("bob")
	head := evHead(t, e, tok)
	stream := evOpen(t, e, tok, head, "")

	// An older transaction that has taken an id, still running.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	older, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx)
	if _, err := older.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}

	sent := e.send("alice", []string{"bob"}, "held", "behind an older transaction")
	type answer struct {
		page agcomv1.EventPage
		err  error
	}
	get := func(query string) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			page, err := getEvents(e.URL, tok, query)
			ch <- answer{page, err}
		}()
		return ch
	}
	polled := get("after=" + url.QueryEscape(head) + "&wait=10")
	read := get("after=" + url.QueryEscape(head))
	time.Sleep(300 * time.Millisecond)
	select {
	case a := <-polled:
		t.Fatalf("the long-poll answered while the older transaction ran: %+v (err %v)", a.page, a.err)
	default:
	}
	if ev, ok := stream.next(100 * time.Millisecond); ok {
		t.Fatalf("the stream sent %+v while the older transaction ran", ev)
	}
	if err := older.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	for name, ch := range map[string]<-chan answer{"long-poll": polled, "read without wait": read} {
		select {
		case a := <-ch:
			if a.err != nil || len(a.page.Events) != 1 || a.page.Events[0].ThreadId != sent.ThreadId {
				t.Errorf("%s: %+v (err %v), want the message.created of %s", name, a.page.Events, a.err, sent.ThreadId)
			}
		case <-time.After(evQuick):
			t.Errorf("%s: nothing within %v of the older transaction's end", name, evQuick)
		}
	}
	if ev, ok := stream.next(evQuick); !ok || ev.ThreadId != sent.ThreadId {
		t.Errorf("stream: %+v (received %v), want the message.created of %s", ev, ok, sent.ThreadId)
	}
}

// getEvents is GET /api/v1/events?query as token, safe to call from any
// goroutine.
func getEvents(base, token, query string) (agcomv1.EventPage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/events?"+query, nil)
	if err != nil {
		return agcomv1.EventPage{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return agcomv1.EventPage{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return agcomv1.EventPage{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return agcomv1.EventPage{}, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	var page agcomv1.EventPage
	err = json.Unmarshal(body, &page)
	return page, err
}
