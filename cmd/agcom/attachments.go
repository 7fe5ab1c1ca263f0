package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agcom/agcom/sdk"
)

// fileList is a repeatable flag of file names, taken whole (a name may
// hold a comma).
type fileList []string

func (l *fileList) String() string { return fmt.Sprint(*l) }

func (l *fileList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// uploadAll uploads the files and returns their attachment ids; nil for
// none.
func (c *cli) uploadAll(ctx context.Context, cl *sdk.Client, files []string) (*[]string, error) {
	if len(files) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(files))
	for _, f := range files {
		a, err := cl.UploadFile(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("attach %s: %w", f, err)
		}
		ids = append(ids, a.AttachmentId)
	}
	return &ids, nil
}

// attachment uploads a file (put) or downloads one (get).
func (c *cli) attachment(ctx context.Context, args []string) error {
	const synopsis = "attachment put FILE   or   agcom attachment get ATTACHMENT -o FILE|-"
	if len(args) == 0 || (args[0] != "put" && args[0] != "get") {
		return usagef("attachment", "put FILE, or get ATTACHMENT -o FILE")
	}
	fs := c.newFlags("attachment", synopsis)
	out := fs.String("o", "", "write the file to `FILE` (- for standard output)")
	pos, err := c.parseArgs(fs, args[1:], 1, 1)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if args[0] == "put" {
		a, err := cl.UploadFile(ctx, pos[0])
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(a)
		}
		fmt.Fprintf(c.stdout, "Uploaded %s (%d bytes): attachment %s.\n", a.Filename, a.Size, a.AttachmentId)
		return nil
	}
	if *out == "" {
		return usagef("attachment", "where to? Give -o FILE, or -o - for standard output")
	}
	return c.download(ctx, cl, pos[0], *out)
}

// download writes the attachment id to the file out, or standard output
// for "-". The file is written beside its final name and renamed into
// place once whole and checked, so a failed download leaves no file.
func (c *cli) download(ctx context.Context, cl *sdk.Client, id, out string) error {
	if out == "-" {
		_, err := cl.DownloadAttachment(ctx, id, c.stdout)
		return attachmentNotVisible(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := cl.DownloadAttachment(ctx, id, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return attachmentNotVisible(err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintf(c.stdout, "Saved %d bytes to %s.\n", n, out)
	}
	return nil
}

// attachmentNotVisible explains a 404 of a download.
func attachmentNotVisible(err error) error {
	if sdk.IsNotFound(err) {
		return withHint(err, "no such attachment, or no message you can see carries it")
	}
	return err
}
