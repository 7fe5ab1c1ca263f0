package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

// Polling: watch asks GET /messages for the newest page every interval,
// and pages further back only while everything it sees is new.
const (
	defaultWatchInterval = 2 * time.Second
	minWatchInterval     = 10 * time.Millisecond
	maxWatchPages        = 10
)

// watch prints messages as they arrive, oldest first, until ctx ends
// (Ctrl-C), which is a normal end: exit code 0.
func (c *cli) watch(ctx context.Context, args []string) error {
	fs := c.newFlags("watch", "watch [--interval 2s] [--thread THREAD]")
	interval := fs.Duration("interval", defaultWatchInterval, "how often to ask the server")
	thread := fs.String("thread", "", "only messages of this `THREAD`")
	if _, err := c.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if *interval < minWatchInterval {
		return usagef("watch", "--interval must be at least %v", minWatchInterval)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	w := watcher{cl: cl}
	if *thread != "" {
		w.thread = thread
	}
	// What is there now is not news.
	_, seen, err := w.poll(ctx, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return notVisible(err, "thread")
	}
	fmt.Fprintf(c.stderr, "Watching for new messages every %v; Ctrl-C to stop.\n", *interval)

	ticker := time.NewTicker(*interval)
	defer ticker.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		fresh, ids, err := w.poll(ctx, seen)
		switch {
		case ctx.Err() != nil:
			return nil
		case sdk.IsUnauthorized(err), sdk.IsForbidden(err), sdk.IsNotFound(err):
			return err
		case err != nil:
			if !failing {
				_, msg, _ := c.describe(err)
				fmt.Fprintf(c.stderr, "agcom: %s; still trying\n", msg)
			}
			failing = true
			continue
		case failing:
			fmt.Fprintln(c.stderr, "agcom: the server answers again")
			failing = false
		}
		seen = ids
		for i := len(fresh) - 1; i >= 0; i-- {
			if err := c.printNew(fresh[i]); err != nil {
				return err
			}
		}
	}
}

// printNew prints one new message: a block for people, a line of JSON
// with --json.
func (c *cli) printNew(m agcomv1.Message) error {
	if !c.json {
		c.printMessage(m, true)
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

// watcher polls the newest messages.
type watcher struct {
	cl     *sdk.Client
	thread *string
}

// poll returns the messages, newest first, that are not in seen, and the
// ids it saw, which are the next poll's seen. With a nil seen it only
// reads the first page, to learn what is already there.
func (w watcher) poll(ctx context.Context, seen map[string]bool) (fresh []agcomv1.Message, ids map[string]bool, err error) {
	ids = map[string]bool{}
	offset := 0
	for range maxWatchPages {
		page, err := w.cl.ListMessages(ctx, &agcomv1.ListMessagesParams{ThreadId: w.thread, Limit: new(maxPage), Offset: new(offset)})
		if err != nil {
			return nil, nil, err
		}
		reachedSeen := false
		for _, m := range page.Messages {
			ids[m.MessageId] = true
			switch {
			case seen[m.MessageId]:
				reachedSeen = true
			case seen != nil:
				fresh = append(fresh, m)
			}
		}
		// Messages arrive at the top of the list: once a page holds one
		// already seen, the older pages hold nothing new.
		if seen == nil || reachedSeen || !page.Pagination.HasMore || len(page.Messages) == 0 {
			break
		}
		offset += len(page.Messages)
	}
	return fresh, ids, nil
}
