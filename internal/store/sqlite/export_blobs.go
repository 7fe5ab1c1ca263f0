package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/agcom/agcom/internal/store/dump"
)

const (
	// sqlExportContents lists every content the uploads refer to once,
	// with the first upload of it, which errors name.
	sqlExportContents = `SELECT sha256, min(id), min(size), max(size) FROM attachments
		GROUP BY sha256 ORDER BY sha256`
	sqlExportUpload = `SELECT filename, uploader, (SELECT count(*) - 1 FROM attachments WHERE sha256 = a.sha256)
		FROM attachments a WHERE id = ?`
)

// exportContent is one content of the export and the upload that names it.
type exportContent struct {
	sum, id string
	size    int64
}

// exportBlobs streams the file of every content the uploads refer to,
// each once, to sink. Every file is checked first, so that a missing one
// fails the export before any bytes go out.
func (t *tx) exportBlobs(f *files, sink dump.BlobSink) error {
	contents, err := t.exportContents()
	if err != nil {
		return fmt.Errorf("store: export attachments: %w", err)
	}
	if len(contents) > 0 && sink == nil {
		return errors.New("store: export: the database holds attachments, and the target takes no bytes")
	}
	for _, c := range contents {
		if err := t.checkFile(f, c); err != nil {
			return err
		}
	}
	for _, c := range contents {
		if err := exportFile(f, c, sink); err != nil {
			return fmt.Errorf("store: export: %s: %w", t.upload(c.id), err)
		}
	}
	return nil
}

func (t *tx) exportContents() ([]exportContent, error) {
	rows, err := t.QueryContext(t.ctx, sqlExportContents)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []exportContent
	for rows.Next() {
		var (
			c        exportContent
			smallest int64
		)
		if err := rows.Scan(&c.sum, &c.id, &smallest, &c.size); err != nil {
			return nil, err
		}
		if !validSum(c.sum) {
			return nil, fmt.Errorf("%s has the bad sha256 %q", t.upload(c.id), c.sum)
		}
		if smallest != c.size {
			return nil, fmt.Errorf("the uploads of the content %s disagree on its size (%d and %d bytes)", c.sum, smallest, c.size)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// checkFile fails unless the file of c is there, with c's size.
func (t *tx) checkFile(f *files, c exportContent) error {
	path := f.path(c.sum)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("store: export: %s: its file %s is missing (is %s the server's attachments directory?)",
			t.upload(c.id), path, f.dir)
	case err != nil:
		return fmt.Errorf("store: export: %s: %w", t.upload(c.id), err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("store: export: %s: %s is not a file", t.upload(c.id), path)
	case fi.Size() != c.size:
		return fmt.Errorf("store: export: %s: its file %s holds %d bytes, the upload %d", t.upload(c.id), path, fi.Size(), c.size)
	}
	return nil
}

// exportFile streams the file of c to sink.
func exportFile(f *files, c exportContent, sink dump.BlobSink) error {
	file, err := os.Open(f.path(c.sum))
	if err != nil {
		return err
	}
	defer file.Close()
	return sink(dump.Blob{SHA256: c.sum, Size: c.size}, file)
}

// upload names the upload id in an error, as an operator would look for
// it: its file name and uploader, and how many other uploads share its
// bytes.
func (t *tx) upload(id string) string {
	var (
		name, uploader string
		others         int
	)
	if err := t.QueryRowContext(t.ctx, sqlExportUpload, id).Scan(&name, &uploader, &others); err != nil {
		return "attachment " + id
	}
	s := fmt.Sprintf("attachment %s (%q, uploaded by %s", id, name, uploader)
	if others > 0 {
		s += fmt.Sprintf(", and %d other upload(s) of the same bytes", others)
	}
	return s + ")"
}
