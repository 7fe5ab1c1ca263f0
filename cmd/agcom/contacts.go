package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

const contactsUsage = `usage: agcom contacts SUBCOMMAND [flags]

subcommands:
  list [--all] [--tag TAG]... [--limit N] [--offset N]
  show HANDLE
  add HANDLE [--name NAME] [--description TEXT] [--tag TAG]...
  edit HANDLE [--name NAME] [--description TEXT] [--tag TAG]... [--no-tags]
              [--active=true|false] [--version N]
  remove HANDLE        deactivate the entry (its fields are kept)
  search QUERY [--all] [--tag TAG]...
`

// contacts dispatches the address-book subcommands.
func (c *cli) contacts(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, contactsUsage)
		return errUsageShown
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list", "ls":
		return c.contactsList(ctx, args)
	case "show", "get":
		return c.contactsShow(ctx, args)
	case "add", "create":
		return c.contactsAdd(ctx, args)
	case "edit", "update":
		return c.contactsEdit(ctx, args)
	case "remove", "rm", "deactivate":
		return c.contactsRemove(ctx, args)
	case "search":
		return c.contactsSearch(ctx, args)
	case "-h", "--help", "help":
		fmt.Fprint(c.stdout, contactsUsage)
		return nil
	}
	fmt.Fprint(c.stderr, contactsUsage)
	return usagef("contacts", "unknown subcommand %q", sub)
}

func (c *cli) contactsList(ctx context.Context, args []string) error {
	fs := c.newFlags("contacts list", "contacts list [--all] [--tag TAG]... [--limit N] [--offset N]")
	all := fs.Bool("all", false, "include deactivated entries")
	var tags listFlag
	fs.Var(&tags, "tag", "only entries with this `TAG` (comma-separated or repeated: all of them)")
	limit := fs.Int("limit", 50, "entries per page (at most 100)")
	offset := fs.Int("offset", 0, "entries to skip")
	if _, err := c.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	params := &agcomv1.ListContactsParams{ActiveOnly: new(!*all), Limit: limit, Offset: offset}
	if len(tags) > 0 {
		params.Tags = new([]string(tags))
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	page, err := cl.ListContacts(ctx, params)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(page)
	}
	if err := c.contactTable(page.Contacts); err != nil {
		return err
	}
	c.footer(page.Pagination, len(page.Contacts), "agcom contacts list")
	return nil
}

func (c *cli) contactsSearch(ctx context.Context, args []string) error {
	fs := c.newFlags("contacts search", "contacts search QUERY [--all] [--tag TAG]...")
	all := fs.Bool("all", false, "include deactivated entries")
	var tags listFlag
	fs.Var(&tags, "tag", "only entries with this `TAG`")
	limit := fs.Int("limit", 50, "at most this many results (at most 100)")
	pos, err := c.parseArgs(fs, args, 1, -1)
	if err != nil {
		return err
	}
	params := &agcomv1.SearchContactsParams{Query: new(strings.Join(pos, " ")), ActiveOnly: new(!*all), Limit: limit}
	if len(tags) > 0 {
		params.Tags = new([]string(tags))
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	page, err := cl.SearchContacts(ctx, params)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(page)
	}
	return c.contactTable(page.Contacts)
}

func (c *cli) contactTable(cs []agcomv1.Contact) error {
	if len(cs) == 0 {
		fmt.Fprintln(c.stdout, "No contacts.")
		return nil
	}
	t := c.newTable("HANDLE", "NAME", "ACTIVE", "VERSION", "TAGS", "DESCRIPTION")
	for _, ct := range cs {
		t.row(ct.Handle, orDash(cell(deref(ct.DisplayName))), yesNo(ct.IsActive), strconv.Itoa(ct.Version),
			orDash(strings.Join(ct.Tags, ",")), orDash(cell(deref(ct.Description))))
	}
	return t.flush()
}

func (c *cli) contactsShow(ctx context.Context, args []string) error {
	pos, err := c.parse("contacts show", "HANDLE", args, 1, 1)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	ct, err := cl.GetContact(ctx, pos[0])
	if err != nil {
		return err
	}
	return c.printContact(ct)
}

func (c *cli) printContact(ct agcomv1.Contact) error {
	if c.json {
		return c.printJSON(ct)
	}
	fmt.Fprintf(c.stdout, "Handle:      %s\n", ct.Handle)
	fmt.Fprintf(c.stdout, "Name:        %s\n", orDash(deref(ct.DisplayName)))
	fmt.Fprintf(c.stdout, "Description: %s\n", orDash(deref(ct.Description)))
	fmt.Fprintf(c.stdout, "Tags:        %s\n", orDash(strings.Join(ct.Tags, ", ")))
	fmt.Fprintf(c.stdout, "Active:      %s\n", yesNo(ct.IsActive))
	fmt.Fprintf(c.stdout, "Version:     %d (updated %s by %s)\n", ct.Version, when(ct.UpdatedAt), ct.UpdatedBy)
	return nil
}

// contactFields are the editable fields of add and edit.
type contactFields struct {
	name, description string
	tags              listFlag
}

func (f *contactFields) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "display `NAME`")
	fs.StringVar(&f.description, "description", "", "what the agent does")
	fs.Var(&f.tags, "tag", "a `TAG`, comma-separated or repeated")
}

func (c *cli) contactsAdd(ctx context.Context, args []string) error {
	var f contactFields
	fs := c.newFlags("contacts add", "contacts add HANDLE [--name NAME] [--description TEXT] [--tag TAG]...")
	f.register(fs)
	pos, err := c.parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	req := agcomv1.ContactCreate{Handle: pos[0]}
	if f.name != "" {
		req.DisplayName = new(f.name)
	}
	if f.description != "" {
		req.Description = new(f.description)
	}
	if len(f.tags) > 0 {
		req.Tags = new([]string(f.tags))
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	ct, err := cl.CreateContact(ctx, req)
	if sdk.IsConflict(err) {
		return withHint(err, "the handle is taken, perhaps by a deactivated entry: `agcom contacts edit "+pos[0]+" --active=true` revives it")
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(ct)
	}
	fmt.Fprintf(c.stdout, "Added contact %s (version %d).\n", ct.Handle, ct.Version)
	return nil
}

// contactsEdit changes the given fields and keeps the others. The API
// replaces all fields at once, so the entry is read first; --version
// guards against someone else's change in between.
func (c *cli) contactsEdit(ctx context.Context, args []string) error {
	var f contactFields
	fs := c.newFlags("contacts edit", "contacts edit HANDLE [--name NAME] [--description TEXT] [--tag TAG]... [--no-tags] [--active=true|false] [--version N]")
	f.register(fs)
	noTags := fs.Bool("no-tags", false, "remove all tags")
	active := fs.Bool("active", true, "whether the entry is active")
	version := fs.Int("version", 0, "fail with exit code 5 unless the entry is still at this `VERSION` (default: the version just read)")
	pos, err := c.parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if *noTags && set["tag"] {
		return usagef("contacts edit", "use --tag or --no-tags, not both")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	handle := pos[0]
	cur, err := cl.GetContact(ctx, handle)
	if err != nil {
		return err
	}
	tags := cur.Tags
	if tags == nil {
		tags = []string{}
	}
	req := agcomv1.ContactUpdate{
		ExpectedVersion: cur.Version,
		DisplayName:     cur.DisplayName,
		Description:     cur.Description,
		Tags:            &tags,
		IsActive:        new(cur.IsActive),
	}
	if set["version"] {
		req.ExpectedVersion = *version
	}
	if set["name"] {
		req.DisplayName = new(f.name)
	}
	if set["description"] {
		req.Description = new(f.description)
	}
	switch {
	case set["tag"]:
		req.Tags = new([]string(f.tags))
	case *noTags:
		req.Tags = new([]string{})
	}
	if set["active"] {
		req.IsActive = active
	}
	ct, err := cl.UpdateContact(ctx, handle, req)
	if sdk.IsVersionConflict(err) {
		return withHint(err, "someone changed it since: `agcom contacts show "+handle+"` shows the current version")
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(ct)
	}
	fmt.Fprintf(c.stdout, "Updated contact %s (version %d).\n", ct.Handle, ct.Version)
	return nil
}

func (c *cli) contactsRemove(ctx context.Context, args []string) error {
	pos, err := c.parse("contacts remove", "HANDLE", args, 1, 1)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	res, err := cl.DeactivateContact(ctx, pos[0])
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(res)
	}
	fmt.Fprintf(c.stdout, "Deactivated contact %s; `agcom contacts edit %s --active=true` restores it.\n", res.Handle, res.Handle)
	return nil
}
