package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/agcom/agcom/gen/agcomv1"
)

// Output formats.
const (
	timeLayout = "2006-01-02 15:04"
	// cellWidth bounds free text (subjects, descriptions) in a table cell.
	cellWidth = 50
)

// printJSON prints v as indented JSON: what the API answered.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns to the standard output.
type table struct {
	tw *tabwriter.Writer
}

func (c *cli) newTable(header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, s := range cells {
		cells[i] = strings.ReplaceAll(s, "\t", " ")
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// footer tells how to see the next page, when there is one.
func (c *cli) footer(p agcomv1.Pagination, shown int, next string) {
	if shown == 0 {
		return
	}
	fmt.Fprintf(c.stdout, "\n%d-%d of %d", p.Offset+1, p.Offset+shown, p.Total)
	if p.HasMore {
		fmt.Fprintf(c.stdout, "; next page: %s --offset %d", next, p.Offset+shown)
	}
	fmt.Fprintln(c.stdout)
}

// when formats an instant in local time for people.
func when(t time.Time) string {
	return t.Local().Format(timeLayout)
}

// cell makes free text fit one table cell: one line, at most cellWidth
// characters.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= cellWidth {
		return s
	}
	r := []rune(s)
	return string(r[:cellWidth-1]) + "…"
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// listFlag is a flag that may be repeated, each value possibly a
// comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// messageBody returns the body from --body, or from --body-file (- is the
// standard input).
func messageBody(cmd, body, file string) (string, error) {
	switch {
	case body != "" && file != "":
		return "", usagef(cmd, "use --body or --body-file, not both")
	case file == "-":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return "", fmt.Errorf("read the body from standard input: %w", err)
		}
		return string(b), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read the body: %w", err)
		}
		return string(b), nil
	case body == "":
		return "", usagef(cmd, "the message needs a body: --body TEXT or --body-file FILE (- for stdin)")
	}
	return body, nil
}

// printMessage prints one message the way view and watch show it.
func (c *cli) printMessage(m agcomv1.Message, withSubject bool) {
	fmt.Fprintf(c.stdout, "── %s  %s → %s", when(m.CreatedAt), m.FromHandle, strings.Join(m.ToHandles, ", "))
	if withSubject {
		fmt.Fprintf(c.stdout, "  %q", m.Subject)
	}
	fmt.Fprintln(c.stdout)
	fmt.Fprintf(c.stdout, "   message %s, thread %s", m.MessageId, m.ThreadId)
	if m.InReplyTo != nil {
		fmt.Fprintf(c.stdout, ", reply to %s", *m.InReplyTo)
	}
	if len(m.Tags) > 0 {
		fmt.Fprintf(c.stdout, ", tags %s", strings.Join(m.Tags, ", "))
	}
	fmt.Fprintln(c.stdout)
	for line := range strings.Lines(strings.TrimRight(m.Body, "\n")) {
		fmt.Fprint(c.stdout, "   ", line)
	}
	fmt.Fprintln(c.stdout)
	if m.Attachments != nil {
		for _, a := range *m.Attachments {
			fmt.Fprintf(c.stdout, "   attached %s (%d bytes, %s): agcom attachment get %s -o FILE\n", a.Filename, a.Size, a.ContentType, a.AttachmentId)
		}
	}
	fmt.Fprintln(c.stdout)
}
