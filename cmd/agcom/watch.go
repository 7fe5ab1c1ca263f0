package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

// watch prints messages as they arrive, from the caller's event stream,
// until ctx ends (Ctrl-C), which is a normal end: exit code 0. The SDK
// reconnects and resumes on its own when the connection drops.
func (c *cli) watch(ctx context.Context, args []string) error {
	fs := c.newFlags("watch", "watch [--thread THREAD] [--after CURSOR]")
	thread := fs.String("thread", "", "only messages of this `THREAD`")
	after := fs.String("after", "", "start after this event `CURSOR` (each --json event has its cursor), not from now")
	if _, err := c.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if _, err := strconv.ParseUint(*after, 10, 64); *after != "" && err != nil {
		return usagef("watch", "--after wants an event's cursor, digits such as 42")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if *thread != "" {
		if _, err := cl.GetThread(ctx, *thread); err != nil {
			return notVisible(err, "thread")
		}
	}
	stream, err := cl.Events(ctx, *after)
	if err != nil {
		return streamError(ctx, err)
	}
	defer stream.Close()
	fmt.Fprintln(c.stderr, "Watching for new messages; Ctrl-C to stop.")
	for stream.Next() {
		ev := stream.Event()
		if *thread != "" && ev.ThreadId != *thread {
			continue
		}
		if err := c.printEvent(ev); err != nil {
			return err
		}
	}
	return streamError(ctx, stream.Err())
}

// streamError is what ends watch: nothing when ctx ended (Ctrl-C), else
// err, with advice when the cursor has expired.
func streamError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case sdk.IsCursorExpired(err):
		return withHint(err, "run `agcom watch` without --after to watch from now")
	}
	return err
}

// printEvent prints one event: each new message as a block for people;
// with --json, every event as a line of JSON.
func (c *cli) printEvent(ev agcomv1.Event) error {
	if c.json {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	}
	if ev.Type != agcomv1.MessageCreated {
		return nil
	}
	// The event's data is {"message": Message}.
	b, err := json.Marshal(ev.Data["message"])
	if err != nil {
		return err
	}
	var m agcomv1.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("event %s: %w", ev.Cursor, err)
	}
	c.printMessage(m, true)
	return nil
}
