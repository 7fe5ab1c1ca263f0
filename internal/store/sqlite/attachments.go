package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// The store keeps attachments' bytes and answers the attachment use cases.
var (
	_ agcom.AttachmentStore = (*Store)(nil)
	_ agcom.AttachmentTx    = (*tx)(nil)
)

// WithAttachmentsDir sets the directory that holds attachments' bytes;
// the default is "attachments" beside the database file.
func WithAttachmentsDir(dir string) Option {
	return func(o *options) { o.attachmentsDir = dir }
}

// Uploads are copied in pieces large enough to keep system calls few,
// into temporary files (os.CreateTemp: mode 0600, the server's user only)
// under tmpDir.
const (
	copyBuffer = 256 << 10
	tmpDir     = "tmp"
)

// files keeps each distinct content once, as a file named by its sha256
// under a directory named by the hash's first two digits. A file is
// written under a temporary name, synced, and renamed into place, so a
// file under its final name is always whole.
type files struct {
	dir string
	// mu makes placing a file and removing one take turns: a file placed
	// (or found and touched) is newer than any prune's cut-off until its
	// row is stored, and a prune removes only older files (see sweep).
	mu sync.Mutex
}

func openFiles(dir string) (*files, error) {
	if err := os.MkdirAll(filepath.Join(dir, tmpDir), dirMode); err != nil {
		return nil, fmt.Errorf("store: create the attachments directory: %w", err)
	}
	return &files{dir: dir}, nil
}

func (f *files) path(sum string) string { return filepath.Join(f.dir, sum[:2], sum) }

// validSum reports whether key is a sha256 in lowercase hex, as the files
// are named: nothing else may become a path.
func validSum(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	_, err := hex.DecodeString(key)
	return err == nil && strings.ToLower(key) == key
}

// PutBlob writes r to a file, hashing it on the way; content already kept
// is not kept twice.
func (s *Store) PutBlob(ctx context.Context, r io.Reader) (agcom.Blob, error) {
	f := s.files
	tmp, err := os.CreateTemp(filepath.Join(f.dir, tmpDir), "upload-*")
	if err != nil {
		return agcom.Blob{}, fmt.Errorf("store: attachment: %w", err)
	}
	placed := false
	defer func() {
		if !placed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tmp, h), r, make([]byte, copyBuffer))
	if err != nil {
		return agcom.Blob{}, err
	}
	if err := tmp.Sync(); err != nil {
		return agcom.Blob{}, fmt.Errorf("store: attachment: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return agcom.Blob{}, fmt.Errorf("store: attachment: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := f.place(tmp.Name(), sum); err != nil {
		return agcom.Blob{}, fmt.Errorf("store: attachment: %w", err)
	}
	placed = true
	return agcom.Blob{Key: sum, Size: n, SHA256: sum}, nil
}

// place moves the written file tmp to its final name, or, when that
// content is kept already, drops tmp and marks the kept file as just used.
func (f *files) place(tmp, sum string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	final := f.path(sum)
	if _, err := os.Stat(final); err == nil {
		now := time.Now()
		if err := os.Chtimes(final, now, now); err != nil {
			return err
		}
		return os.Remove(tmp)
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OpenBlob opens the file of the content key.
func (s *Store) OpenBlob(_ context.Context, key string) (io.ReadSeekCloser, error) {
	if !validSum(key) {
		return nil, fmt.Errorf("store: attachment: bad key %q", key)
	}
	return os.Open(s.files.path(key))
}

// AttachmentLimits returns the limits the store was opened with.
func (s *Store) AttachmentLimits() agcom.Limits { return s.limits }

const (
	attachmentColumns = `a.id, a.uploader, a.filename, a.content_type, a.size, a.sha256, a.created_at`

	sqlAttachmentUsage = `SELECT coalesce(sum(size), 0) FROM attachments WHERE uploader = ?`

	sqlInsertAttachment = `INSERT INTO attachments (id, uploader, filename, content_type, size, sha256, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`

	sqlOwnAttachments = `SELECT ` + attachmentColumns + ` FROM attachments a
		WHERE a.uploader = ?1 AND a.id IN (SELECT value FROM json_each(?2))`

	sqlLinkAttachment = `INSERT INTO message_attachments (attachment_id, thread_id, message_id) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`
	sqlMarkAttached = `UPDATE attachments SET attached = 1 WHERE id = ? AND attached = 0`

	// Visible to its uploader, to admins, and to the participants of a
	// thread with a message that carries it.
	sqlVisibleAttachment = `SELECT ` + attachmentColumns + ` FROM attachments a
		WHERE a.id = ?3 AND (?2 OR a.uploader = ?1 OR EXISTS (
			SELECT 1 FROM message_attachments ma
			JOIN thread_participants p ON p.thread_id = ma.thread_id AND p.handle = ?1
			WHERE ma.attachment_id = a.id))`

	sqlPruneUnattached = `DELETE FROM attachments WHERE attached = 0 AND created_at < ? RETURNING id`
	sqlContentKept     = `SELECT 1 FROM attachments WHERE sha256 = ? LIMIT 1`
	sqlUploader        = `SELECT uploader FROM attachments WHERE id = ?`
)

// AttachmentUploader returns who uploaded the attachment id.
func (s *Store) AttachmentUploader(ctx context.Context, id string) (string, error) {
	var h string
	err := s.readOne(ctx, sqlUploader, id).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", agcom.Errorf(agcom.ENOTFOUND, "attachment not found")
	}
	return h, translate(err)
}

// AttachmentUsage returns the bytes handle's uploads hold.
func (s *Store) AttachmentUsage(ctx context.Context, handle string) (int64, error) {
	var n int64
	err := s.readOne(ctx, sqlAttachmentUsage, handle).Scan(&n)
	return n, translate(err)
}

// VisibleAttachment returns the attachment id if the caller may see it.
func (s *Store) VisibleAttachment(ctx context.Context, caller agcom.Caller, id string) (agcom.Attachment, error) {
	a, err := scanAttachment(s.readOne(ctx, sqlVisibleAttachment, caller.Handle, caller.IsAdmin, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, agcom.Errorf(agcom.ENOTFOUND, "attachment not found")
	}
	return a, translate(err)
}

// AttachmentUsage returns the bytes handle's uploads hold; the writer
// holds the database, so uploads are counted one at a time.
func (t *tx) AttachmentUsage(handle string) (int64, error) {
	var n int64
	err := t.queryRow(sqlAttachmentUsage, handle).Scan(&n)
	return n, err
}

// InsertAttachment stores a, filling in its id and time.
func (t *tx) InsertAttachment(a *agcom.Attachment) error {
	a.ID, a.CreatedAt = t.newID(), t.now
	_, err := t.exec(sqlInsertAttachment, a.ID, a.Uploader, a.Filename, a.ContentType, a.Size, a.SHA256, toMicros(a.CreatedAt))
	return err
}

// OwnAttachments returns those of ids that are handle's uploads.
func (t *tx) OwnAttachments(handle string, ids []string) ([]agcom.Attachment, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	return queryList(t, scanAttachment, sqlOwnAttachments, handle, string(list))
}

// LinkAttachments records that msg carries its attachments, which are no
// longer removed unattached.
func (t *tx) LinkAttachments(msg agcom.Message) error {
	for _, a := range msg.Attachments {
		if _, err := t.exec(sqlLinkAttachment, a.ID, msg.ThreadID, msg.ID); err != nil {
			return err
		}
		if _, err := t.exec(sqlMarkAttached, a.ID); err != nil {
			return err
		}
	}
	return nil
}

func scanAttachment(row scanner) (agcom.Attachment, error) {
	var (
		a       agcom.Attachment
		created int64
	)
	if err := row.Scan(&a.ID, &a.Uploader, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &created); err != nil {
		return a, err
	}
	a.CreatedAt, a.Blob = fromMicros(created), a.SHA256
	return a, nil
}

// PruneAttachments removes the uploads no message carries that are older
// than the unattached time, then the files no upload refers to that are
// older than that too (those of the uploads removed, and any left by an
// upload that failed or was cut off). It returns how many uploads went.
func (s *Store) PruneAttachments(ctx context.Context) (int, error) {
	before := s.now().Add(-s.limits.WithDefaults().UnattachedTTL)
	removed := 0
	err := s.writeTx(ctx, func(t *tx) error {
		removed = 0
		rows, err := t.queryChanges(sqlPruneUnattached, toMicros(before))
		if err != nil {
			return err
		}
		for rows.Next() {
			removed++
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	return removed, s.sweep(ctx, before)
}

// sweep removes the files older than before that no upload refers to.
func (s *Store) sweep(ctx context.Context, before time.Time) error {
	f := s.files
	return filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		temporary := filepath.Base(filepath.Dir(path)) == tmpDir
		if !temporary && !validSum(name) {
			return nil // not ours
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		info, err := os.Stat(path)
		if err != nil || !info.ModTime().Before(before) {
			return nil
		}
		if !temporary {
			var one int
			err := s.readOne(ctx, sqlContentKept, name).Scan(&one)
			if err == nil {
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return translate(err)
			}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// BackupFilesDir is where Backup puts the attachment files of the backup
// dest: the directory to name in ATTACHMENTS_DIR when the backup is
// restored.
func BackupFilesDir(dest string) string { return dest + ".attachments" }

// sqlBackupContents lists the contents the backup's uploads refer to, and
// whether a message carries one of them.
const sqlBackupContents = `SELECT sha256, max(attached) FROM attachments GROUP BY sha256`

// backupFiles puts the files the backup dest refers to under
// BackupFilesDir(dest): hard links where the file system allows (the files
// never change), copies otherwise. Pruning may have removed the file of an
// upload no message carries since the backup's snapshot; that upload is
// pruned from the restored copy too, so it is left out. On failure the
// directory goes, and Backup removes dest.
func (s *Store) backupFiles(ctx context.Context, dest string) (err error) {
	db, err := sql.Open(driverName, "file:"+dest+"?mode=ro")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, sqlBackupContents)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer rows.Close()
	dir := BackupFilesDir(dest)
	made := false
	defer func() {
		if err != nil && made {
			os.RemoveAll(dir)
		}
	}()
	for rows.Next() {
		var (
			sum      string
			attached bool
		)
		if err := rows.Scan(&sum, &attached); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		if !validSum(sum) {
			return fmt.Errorf("store: backup: an upload has the bad sha256 %q", sum)
		}
		if !made {
			if err := os.Mkdir(dir, dirMode); err != nil {
				return fmt.Errorf("store: backup: %w", err)
			}
			made = true
		}
		err := linkOrCopy(s.files.path(sum), filepath.Join(dir, sum[:2], sum))
		if errors.Is(err, fs.ErrNotExist) && !attached {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: backup: attachment %s: %w", sum, err)
		}
	}
	return rows.Err()
}

// linkOrCopy makes dst a hard link to src, or a synced copy of it when the
// two are on different file systems.
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), dirMode); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(out, in, make([]byte, copyBuffer)); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// storedAttachment is an attachment as a message row keeps it.
type storedAttachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	CreatedAt   int64  `json:"created_at"`
}

// encodeAttachments is the messages.attachments value of atts: NULL for
// none.
func encodeAttachments(atts []agcom.Attachment) (any, error) {
	if len(atts) == 0 {
		return nil, nil
	}
	out := make([]storedAttachment, len(atts))
	for i, a := range atts {
		out[i] = storedAttachment{a.ID, a.Filename, a.ContentType, a.Size, a.SHA256, toMicros(a.CreatedAt)}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// decodeAttachments reads a messages.attachments value.
func decodeAttachments(v sql.NullString) ([]agcom.Attachment, error) {
	if !v.Valid {
		return nil, nil
	}
	var stored []storedAttachment
	if err := json.Unmarshal([]byte(v.String), &stored); err != nil {
		return nil, err
	}
	out := make([]agcom.Attachment, len(stored))
	for i, a := range stored {
		out[i] = agcom.Attachment{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType,
			Size: a.Size, SHA256: a.SHA256, CreatedAt: fromMicros(a.CreatedAt), Blob: a.SHA256}
	}
	return out, nil
}
