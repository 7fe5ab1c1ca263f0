package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

// maxPage is the API's largest page.
const maxPage = 100

// composeFlags are the flags of send and broadcast.
type composeFlags struct {
	to                   listFlag
	tags                 listFlag
	attach               fileList
	subject, body, bodyF string
}

// composeParser returns the argument parser of send and broadcast, which
// also returns the files to attach.
func (c *cli) composeParser(name string) func(args []string) (agcomv1.SendMessageRequest, []string, error) {
	f := &composeFlags{}
	fs := c.newFlags(name, name+" HANDLE... --subject TEXT (--body TEXT | --body-file FILE|-) [--tag TAG]... [--attach FILE]...")
	fs.Var(&f.to, "to", "recipient `HANDLE`s, comma-separated or repeated (or give them as arguments)")
	fs.Var(&f.tags, "tag", "a `TAG`, comma-separated or repeated")
	fs.StringVar(&f.subject, "subject", "", "the subject")
	fs.StringVar(&f.subject, "s", "", "shorthand for --subject")
	fs.StringVar(&f.body, "body", "", "the body")
	fs.StringVar(&f.body, "m", "", "shorthand for --body")
	fs.StringVar(&f.bodyF, "body-file", "", "read the body from `FILE` (- for standard input)")
	fs.Var(&f.attach, "attach", "attach `FILE` (repeat for more)")
	parse := func(args []string) (agcomv1.SendMessageRequest, []string, error) {
		pos, err := c.parseArgs(fs, args, 0, -1)
		if err != nil {
			return agcomv1.SendMessageRequest{}, nil, err
		}
		to := append(f.to, pos...)
		switch {
		case len(to) == 0:
			return agcomv1.SendMessageRequest{}, nil, usagef(name, "who is it for? Give recipients as arguments or with --to")
		case f.subject == "":
			return agcomv1.SendMessageRequest{}, nil, usagef(name, "the message needs a --subject")
		}
		body, err := messageBody(name, f.body, f.bodyF)
		if err != nil {
			return agcomv1.SendMessageRequest{}, nil, err
		}
		req := agcomv1.SendMessageRequest{ToHandles: to, Subject: f.subject, Body: body}
		if len(f.tags) > 0 {
			req.Tags = new([]string(f.tags))
		}
		return req, f.attach, nil
	}
	return parse
}

// send opens a thread with one message to one or more recipients.
func (c *cli) send(ctx context.Context, args []string) error {
	parse := c.composeParser("send")
	req, files, err := parse(args)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if req.AttachmentIds, err = c.uploadAll(ctx, cl, files); err != nil {
		return err
	}
	m, err := cl.SendMessage(ctx, req)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(m)
	}
	fmt.Fprintf(c.stdout, "Sent to %s: message %s in thread %s.\n", strings.Join(m.ToHandles, ", "), m.MessageId, m.ThreadId)
	return nil
}

// broadcast sends the message to each recipient in a thread of its own.
func (c *cli) broadcast(ctx context.Context, args []string) error {
	parse := c.composeParser("broadcast")
	req, files, err := parse(args)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if req.AttachmentIds, err = c.uploadAll(ctx, cl, files); err != nil {
		return err
	}
	res, err := cl.BroadcastMessage(ctx, req)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(res)
	}
	fmt.Fprintf(c.stdout, "Sent %d messages.\n\n", res.Count)
	t := c.newTable("TO", "THREAD", "MESSAGE")
	for _, m := range res.Messages {
		t.row(strings.Join(m.ToHandles, ", "), m.ThreadId, m.MessageId)
	}
	return t.flush()
}

// inbox lists threads, newest activity first, archived ones only on
// request; or, with --messages or --unread, the messages addressed to the
// caller with their read state.
func (c *cli) inbox(ctx context.Context, args []string) error {
	fs := c.newFlags("inbox", "inbox [--archived | --all | --messages | --unread] [--limit N] [--offset N]")
	archived := fs.Bool("archived", false, "list archived threads only")
	all := fs.Bool("all", false, "list archived threads too")
	messages := fs.Bool("messages", false, "list the messages addressed to you, with their read state, instead of threads")
	unread := fs.Bool("unread", false, "list the messages addressed to you that you have not marked read (`agcom read`)")
	limit := fs.Int("limit", 20, "threads or messages per page (at most 100)")
	offset := fs.Int("offset", 0, "threads or messages to skip")
	if _, err := c.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	switch {
	case *archived && *all:
		return usagef("inbox", "use --archived or --all, not both")
	case (*messages || *unread) && (*archived || *all):
		return usagef("inbox", "--archived and --all list threads; --messages and --unread list messages")
	case *messages || *unread:
		return c.inboxMessages(ctx, &agcomv1.ListInboxParams{UnreadOnly: unread, Limit: limit, Offset: offset})
	}
	params := &agcomv1.ListThreadsParams{Limit: limit, Offset: offset}
	if !*all {
		params.Archived = archived
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	page, err := cl.ListThreads(ctx, params)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(page)
	}
	if len(page.Threads) == 0 {
		fmt.Fprintln(c.stdout, "No threads.")
		return nil
	}
	t := c.newTable("THREAD", "LAST ACTIVITY", "PARTICIPANTS", "SUBJECT")
	for _, th := range page.Threads {
		subject := cell(th.Subject)
		if th.Metadata["archived"] == "true" {
			subject += " [archived]"
		}
		t.row(th.ThreadId, when(th.LastActivityAt), strings.Join(th.ParticipantHandles, ", "), subject)
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.footer(page.Pagination, len(page.Threads), "agcom inbox")
	return nil
}

// inboxMessages lists the messages addressed to the caller, newest
// first, with their read state.
func (c *cli) inboxMessages(ctx context.Context, params *agcomv1.ListInboxParams) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	page, err := cl.Inbox(ctx, params)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(page)
	}
	next := "agcom inbox --messages"
	if *params.UnreadOnly {
		next = "agcom inbox --unread"
	}
	if len(page.Messages) == 0 {
		if *params.UnreadOnly {
			fmt.Fprintln(c.stdout, "No unread messages.")
		} else {
			fmt.Fprintln(c.stdout, "No messages.")
		}
		return nil
	}
	t := c.newTable("MESSAGE", "THREAD", "DATE", "FROM", "READ", "SUBJECT")
	for _, m := range page.Messages {
		read := "no"
		if m.ReadAt != nil {
			read = when(*m.ReadAt)
		}
		t.row(m.MessageId, m.ThreadId, when(m.CreatedAt), m.FromHandle, read, cell(m.Subject))
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.footer(page.Pagination, len(page.Messages), next)
	return nil
}

// read marks messages addressed to the caller read, or unread with
// --undo; or everything in a thread, up to now, with --thread.
func (c *cli) read(ctx context.Context, args []string) error {
	fs := c.newFlags("read", "read MESSAGE... [--undo]   or   agcom read --thread THREAD")
	undo := fs.Bool("undo", false, "mark the messages unread instead")
	thread := fs.String("thread", "", "mark everything addressed to you in this `THREAD` read")
	pos, err := c.parseArgs(fs, args, 0, -1)
	if err != nil {
		return err
	}
	switch {
	case (len(pos) > 0) == (*thread != ""):
		return usagef("read", "name the MESSAGEs, or --thread THREAD, one of the two")
	case *undo && *thread != "":
		return usagef("read", "--undo marks messages, not threads, unread")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if *thread != "" {
		st, err := cl.MarkThreadRead(ctx, *thread)
		if err != nil {
			return notVisible(err, "thread")
		}
		if c.json {
			return c.printJSON(st)
		}
		fmt.Fprintf(c.stdout, "Marked %d messages of thread %s read.\n", st.Marked, st.ThreadId)
		return nil
	}
	mark, state := cl.MarkRead, "read"
	if *undo {
		mark, state = cl.MarkUnread, "unread"
	}
	for _, id := range pos {
		st, err := mark(ctx, id)
		if err != nil {
			return withHint(err, "you can mark only messages addressed to you; `agcom inbox --messages` lists them")
		}
		if c.json {
			if err := c.printJSON(st); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(c.stdout, "Marked message %s %s.\n", st.MessageId, state)
	}
	return nil
}

// view shows a thread and all its messages, oldest first.
func (c *cli) view(ctx context.Context, args []string) error {
	pos, err := c.parse("view", "THREAD", args, 1, 1)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	th, err := cl.GetThread(ctx, pos[0])
	if err != nil {
		return notVisible(err, "thread")
	}
	var msgs []agcomv1.Message
	for {
		page, err := cl.ListThreadMessages(ctx, th.ThreadId, &agcomv1.ListThreadMessagesParams{
			Limit: new(maxPage), Offset: new(len(msgs)),
		})
		if err != nil {
			return err
		}
		msgs = append(msgs, page.Messages...)
		if !page.Pagination.HasMore || len(page.Messages) == 0 {
			break
		}
	}
	if c.json {
		return c.printJSON(struct {
			Thread   agcomv1.Thread    `json:"thread"`
			Messages []agcomv1.Message `json:"messages"`
		}{th, msgs})
	}
	fmt.Fprintf(c.stdout, "Subject:       %s\n", th.Subject)
	fmt.Fprintf(c.stdout, "Thread:        %s\n", th.ThreadId)
	fmt.Fprintf(c.stdout, "Participants:  %s\n", strings.Join(th.ParticipantHandles, ", "))
	fmt.Fprintf(c.stdout, "Last activity: %s\n", when(th.LastActivityAt))
	if len(th.Metadata) > 0 {
		keys := make([]string, 0, len(th.Metadata))
		for k := range th.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			keys[i] = k + "=" + th.Metadata[k]
		}
		fmt.Fprintf(c.stdout, "Metadata:      %s\n", strings.Join(keys, ", "))
	}
	fmt.Fprintln(c.stdout)
	for _, m := range msgs {
		c.printMessage(m, false)
	}
	return nil
}

// notVisible explains a 404 on a thread or message: it may exist, but not
// for the caller.
func notVisible(err error, what string) error {
	if sdk.IsNotFound(err) {
		return withHint(err, "no such "+what+", or you are not one of its participants; `agcom inbox` lists yours")
	}
	return err
}

// reply answers a message, or a thread's latest message.
func (c *cli) reply(ctx context.Context, args []string) error {
	fs := c.newFlags("reply", "reply MESSAGE (--body TEXT | --body-file FILE|-) [--attach FILE]...   or   agcom reply --thread THREAD --body TEXT")
	thread := fs.String("thread", "", "reply to this `THREAD`'s latest message")
	body := fs.String("body", "", "the body")
	fs.StringVar(body, "m", "", "shorthand for --body")
	bodyFile := fs.String("body-file", "", "read the body from `FILE` (- for standard input)")
	var tags listFlag
	fs.Var(&tags, "tag", "a `TAG`, comma-separated or repeated")
	var attach fileList
	fs.Var(&attach, "attach", "attach `FILE` (repeat for more)")
	pos, err := c.parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if (len(pos) == 1) == (*thread != "") {
		return usagef("reply", "name the MESSAGE to reply to, or --thread THREAD, one of the two")
	}
	text, err := messageBody("reply", *body, *bodyFile)
	if err != nil {
		return err
	}
	req := agcomv1.ReplyRequest{Body: text}
	if len(tags) > 0 {
		req.Tags = new([]string(tags))
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if req.AttachmentIds, err = c.uploadAll(ctx, cl, attach); err != nil {
		return err
	}
	var m agcomv1.Message
	if *thread != "" {
		m, err = cl.ReplyToThread(ctx, *thread, req)
		err = notVisible(err, "thread")
	} else {
		m, err = cl.ReplyToMessage(ctx, pos[0], req)
		err = notVisible(err, "message")
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(m)
	}
	fmt.Fprintf(c.stdout, "Replied to %s: message %s in thread %s.\n", strings.Join(m.ToHandles, ", "), m.MessageId, m.ThreadId)
	return nil
}

// search finds messages by subject and body.
func (c *cli) search(ctx context.Context, args []string) error {
	fs := c.newFlags("search", "search QUERY [--from HANDLE] [--to HANDLE] [--subject-only | --body-only] [--limit N]")
	from := fs.String("from", "", "only messages from this `HANDLE`")
	to := fs.String("to", "", "only messages to this `HANDLE`")
	subjectOnly := fs.Bool("subject-only", false, "search subjects only")
	bodyOnly := fs.Bool("body-only", false, "search bodies only")
	limit := fs.Int("limit", 20, "at most this many results (at most 100)")
	pos, err := c.parseArgs(fs, args, 1, -1)
	if err != nil {
		return err
	}
	if *subjectOnly && *bodyOnly {
		return usagef("search", "use --subject-only or --body-only, not both")
	}
	params := &agcomv1.SearchMessagesParams{Query: strings.Join(pos, " "), Limit: limit}
	if *subjectOnly {
		params.InBody = new(false)
	}
	if *bodyOnly {
		params.InSubject = new(false)
	}
	if *from != "" {
		params.FromHandle = from
	}
	if *to != "" {
		params.ToHandle = to
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	res, err := cl.SearchMessages(ctx, params)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(res)
	}
	if len(res.Messages) == 0 {
		fmt.Fprintf(c.stdout, "No messages match %q.\n", res.Query)
		return nil
	}
	c.messageTable(res.Messages)
	return nil
}

// messageTable lists messages one per line.
func (c *cli) messageTable(msgs []agcomv1.Message) {
	t := c.newTable("MESSAGE", "THREAD", "DATE", "FROM", "TO", "SUBJECT")
	for _, m := range msgs {
		t.row(m.MessageId, m.ThreadId, when(m.CreatedAt), m.FromHandle, strings.Join(m.ToHandles, ", "), cell(m.Subject))
	}
	_ = t.flush()
}

// archive archives a thread, or unarchives it with --undo.
func (c *cli) archive(ctx context.Context, args []string) error {
	fs := c.newFlags("archive", "archive THREAD [--undo]")
	undo := fs.Bool("undo", false, "unarchive instead")
	pos, err := c.parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return c.setArchived(ctx, pos[0], !*undo)
}

// unarchive unarchives a thread.
func (c *cli) unarchive(ctx context.Context, args []string) error {
	pos, err := c.parse("unarchive", "THREAD", args, 1, 1)
	if err != nil {
		return err
	}
	return c.setArchived(ctx, pos[0], false)
}

func (c *cli) setArchived(ctx context.Context, thread string, archived bool) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	var st agcomv1.ArchiveState
	if archived {
		st, err = cl.ArchiveThread(ctx, thread)
	} else {
		st, err = cl.UnarchiveThread(ctx, thread)
	}
	if err != nil {
		return notVisible(err, "thread")
	}
	if c.json {
		return c.printJSON(st)
	}
	if st.Archived {
		fmt.Fprintf(c.stdout, "Archived thread %s; `agcom inbox --archived` lists it.\n", st.ThreadId)
	} else {
		fmt.Fprintf(c.stdout, "Thread %s is back in the inbox.\n", st.ThreadId)
	}
	return nil
}

// audit lists audit events, newest first.
func (c *cli) audit(ctx context.Context, args []string) error {
	fs := c.newFlags("audit", "audit [--type TYPE] [--actor HANDLE] [--target HANDLE] [--limit N] [--offset N]")
	typ := fs.String("type", "", "only events of this `TYPE`, e.g. message_send, address_book_update")
	actor := fs.String("actor", "", "only events by this `HANDLE`")
	target := fs.String("target", "", "only events about this `HANDLE`")
	limit := fs.Int("limit", 20, "events per page (at most 100)")
	offset := fs.Int("offset", 0, "events to skip")
	if _, err := c.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	params := &agcomv1.ListAuditEventsParams{Limit: limit, Offset: offset}
	if *typ != "" {
		params.EventType = new(agcomv1.AuditEventType(*typ))
	}
	if *actor != "" {
		params.ActorHandle = actor
	}
	if *target != "" {
		params.TargetHandle = target
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	page, err := cl.ListAuditEvents(ctx, params)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(page)
	}
	if len(page.Events) == 0 {
		fmt.Fprintln(c.stdout, "No audit events.")
		return nil
	}
	t := c.newTable("TIME", "EVENT", "ACTOR", "TARGETS", "DETAILS")
	for _, e := range page.Events {
		details, _ := json.Marshal(e.Details)
		t.row(when(e.Timestamp), string(e.EventType), orDash(deref(e.ActorHandle)), orDash(strings.Join(e.TargetHandles, ",")), string(details))
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.footer(page.Pagination, len(page.Events), "agcom audit")
	return nil
}
