package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

// The store keeps attachments' bytes and answers the attachment use cases.
var (
	_ agcom.AttachmentStore = (*Store)(nil)
	_ agcom.AttachmentTx    = (*tx)(nil)
)

// chunkBytes is the size of a blob's chunks (its last one may be
// smaller): what an upload or a download holds in memory at a time.
const chunkBytes = 1 << 20

const (
	sqlInsertBlob       = `INSERT INTO attachment_blobs (id, size, sha256, chunk_bytes, created_at) VALUES ($1, 0, '', $2, $3)`
	sqlInsertObjectBlob = `INSERT INTO attachment_blobs (id, size, sha256, chunk_bytes, created_at, object_key) VALUES ($1, 0, '', 0, $2, $3)`
	sqlInsertChunk      = `INSERT INTO attachment_chunks (blob_id, n, data) VALUES ($1, $2, $3)`
	// A blob that pruning has taken is not finished: its upload failed.
	sqlFinishBlob = `UPDATE attachment_blobs SET size = $2, sha256 = $3 WHERE id = $1 AND NOT pruning`
	sqlBlob       = `SELECT size, chunk_bytes, object_key FROM attachment_blobs WHERE id = $1`
	sqlChunk      = `SELECT data FROM attachment_chunks WHERE blob_id = $1 AND n = $2`
	sqlDropBlob   = `DELETE FROM attachment_blobs WHERE id = $1`
)

// PutBlob streams r into the bucket when the store has one, otherwise
// into the database. Either way the blob's row comes first; one that is
// never finished, or that no upload comes to refer to, is removed by
// PruneAttachments, bytes and all.
func (s *Store) PutBlob(ctx context.Context, r io.Reader) (agcom.Blob, error) {
	if s.objects != nil {
		return s.putObjectBlob(ctx, r)
	}
	return s.putChunkedBlob(ctx, r)
}

// putObjectBlob streams r into the blob's object, hashing and counting
// on the way (see objects.put). A failed upload is aborted,
// and a failure after it leaves no object (or, when even removing it
// fails, a row for pruning to remove it by).
func (s *Store) putObjectBlob(ctx context.Context, r io.Reader) (agcom.Blob, error) {
	id := s.clock.NewID(s.now())
	key := s.objects.key(id)
	if _, err := s.pool.Exec(ctx, sqlInsertObjectBlob, id, toMicros(s.now()), key); err != nil {
		return agcom.Blob{}, translate(err)
	}
	finished := false
	defer func() {
		if !finished {
			// Best effort: pruning removes what this leaves.
			ctx := context.WithoutCancel(ctx)
			if s.objects.remove(ctx, key) == nil {
				s.pool.Exec(ctx, sqlDropBlob, id)
			}
		}
	}()
	h := sha256.New()
	body := &countingReader{r: io.TeeReader(r, h)}
	if err := s.objects.put(ctx, key, body); err != nil {
		return agcom.Blob{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	tag, err := s.pool.Exec(ctx, sqlFinishBlob, id, body.n, sum)
	if err != nil {
		return agcom.Blob{}, translate(err)
	}
	if tag.RowsAffected() == 0 {
		return agcom.Blob{}, agcom.Errorf(agcom.EUNAVAILABLE, "the upload took longer than unattached uploads are kept; send it again")
	}
	finished = true
	return agcom.Blob{Key: id, Size: body.n, SHA256: sum}, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// putChunkedBlob writes r into the database in chunks, each its own
// statement, so that an upload holds one chunk and no connection while
// it waits for the client.
func (s *Store) putChunkedBlob(ctx context.Context, r io.Reader) (agcom.Blob, error) {
	id := s.clock.NewID(s.now())
	if _, err := s.pool.Exec(ctx, sqlInsertBlob, id, chunkBytes, toMicros(s.now())); err != nil {
		return agcom.Blob{}, translate(err)
	}
	finished := false
	defer func() {
		if !finished {
			// Best effort: pruning removes what this leaves.
			s.pool.Exec(context.WithoutCancel(ctx), sqlDropBlob, id)
		}
	}()
	h := sha256.New()
	buf := make([]byte, chunkBytes)
	var size int64
	for n := 0; ; n++ {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			h.Write(buf[:k])
			size += int64(k)
			if _, err := s.pool.Exec(ctx, sqlInsertChunk, id, n, buf[:k]); err != nil {
				return agcom.Blob{}, translate(err)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return agcom.Blob{}, err
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := s.pool.Exec(ctx, sqlFinishBlob, id, size, sum); err != nil {
		return agcom.Blob{}, translate(err)
	}
	finished = true
	return agcom.Blob{Key: id, Size: size, SHA256: sum}, nil
}

// OpenBlob returns a reader of the blob key that reads its object, or
// its chunks one at a time, as they are needed.
func (s *Store) OpenBlob(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	b := &blobReader{ctx: ctx, s: s, id: key, chunk: -1}
	var object *string
	if err := s.pool.QueryRow(ctx, sqlBlob, key).Scan(&b.size, &b.chunkBytes, &object); err != nil {
		return nil, translate(err)
	}
	if object == nil {
		return b, nil
	}
	if s.objects == nil {
		return nil, agcom.Errorf(agcom.EUNAVAILABLE, "the attachment is kept in an object store this server is not configured with (S3_ENDPOINT)")
	}
	return s.objects.open(ctx, *object, b.size), nil
}

// blobReader reads a blob's chunks on demand.
type blobReader struct {
	ctx        context.Context
	s          *Store
	id         string
	size       int64
	chunkBytes int64
	pos        int64
	chunk      int64 // the chunk in data; -1: none
	data       []byte
}

func (b *blobReader) Read(p []byte) (int, error) {
	if b.pos >= b.size {
		return 0, io.EOF
	}
	n := b.pos / b.chunkBytes
	if n != b.chunk {
		b.data = b.data[:0]
		if err := b.s.pool.QueryRow(b.ctx, sqlChunk, b.id, n).Scan(&b.data); err != nil {
			return 0, fmt.Errorf("store: attachment chunk %d: %w", n, translate(err))
		}
		b.chunk = n
	}
	off := b.pos - n*b.chunkBytes
	if off >= int64(len(b.data)) {
		return 0, io.ErrUnexpectedEOF
	}
	k := copy(p, b.data[off:])
	b.pos += int64(k)
	return k, nil
}

func (b *blobReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := seekPos(b.pos, b.size, offset, whence)
	if err == nil {
		b.pos = pos
	}
	return pos, err
}

// seekPos is where a seek of a reader at pos, of size bytes, lands.
func seekPos(pos, size, offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += pos
	case io.SeekEnd:
		offset += size
	default:
		return 0, errors.New("store: attachment: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("store: attachment: seek before the start")
	}
	return offset, nil
}

func (b *blobReader) Close() error {
	b.data = nil
	return nil
}

// AttachmentLimits returns the limits the store was opened with.
func (s *Store) AttachmentLimits() agcom.Limits { return s.limits }

const (
	attachmentColumns = `a.id, a.uploader, a.filename, a.content_type, a.size, a.sha256, a.created_at, a.blob_id`

	sqlAttachmentUsage = `SELECT coalesce(sum(size), 0)::bigint FROM attachments WHERE uploader = $1`
	// An agent's uploads are counted against its quota one at a time.
	sqlLockUploads = `SELECT pg_advisory_xact_lock(hashtextextended('attachments ' || $1, 0))`

	// A blob that pruning has marked is being removed: it takes no
	// upload (its row is locked until the upload's transaction ends).
	// Content an attached upload already holds is kept once: the upload
	// takes that blob, which is never pruned, and returns it.
	sqlInsertAttachment = `INSERT INTO attachments (id, uploader, filename, content_type, size, sha256, blob_id, created_at)
		SELECT $1, $2, $3, $4, $5, $6, coalesce(
			(SELECT k.blob_id FROM attachments k WHERE k.sha256 = $6 AND k.size = $5 AND k.attached LIMIT 1), b.id), $8
		FROM attachment_blobs b WHERE b.id = $7 AND NOT b.pruning FOR SHARE
		RETURNING blob_id`
	// A blob left unused by an upload that took another one is due for
	// the next pruning, whatever its age.
	sqlExpireBlob = `UPDATE attachment_blobs SET created_at = 0 WHERE id = $1`

	// FOR SHARE: pruning cannot remove an upload while a message takes it.
	sqlOwnAttachments = `SELECT ` + attachmentColumns + ` FROM attachments a
		WHERE a.uploader = $1 AND a.id = ANY($2) FOR SHARE`

	sqlLinkAttachments = `
		WITH l AS (
			INSERT INTO message_attachments (attachment_id, thread_id, message_id)
			SELECT unnest($1::text[]), $2, $3 ON CONFLICT DO NOTHING)
		UPDATE attachments SET attached = true WHERE id = ANY($1) AND NOT attached`

	// Visible to its uploader, to admins, and to the participants of a
	// thread with a message that carries it.
	sqlVisibleAttachment = `SELECT ` + attachmentColumns + ` FROM attachments a
		WHERE a.id = $3 AND ($2 OR a.uploader = $1 OR EXISTS (
			SELECT 1 FROM message_attachments ma
			JOIN thread_participants p ON p.thread_id = ma.thread_id AND p.handle = $1
			WHERE ma.attachment_id = a.id))`

	sqlPruneUnattached = `WITH gone AS (DELETE FROM attachments WHERE NOT attached AND created_at < $1 RETURNING 1)
		SELECT count(*) FROM gone`
	sqlPruneBlobs = `DELETE FROM attachment_blobs b WHERE b.created_at < $1 AND b.object_key IS NULL
		AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_id = b.id)`
	// A blob with an object is marked first, and its row goes once the
	// object has (see pruneObjects).
	sqlMarkObjectBlobs = `UPDATE attachment_blobs b SET pruning = true
		WHERE b.created_at < $1 AND b.object_key IS NOT NULL AND NOT b.pruning
		AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_id = b.id)`
	// An upload that took its blob while it was being marked keeps it.
	sqlUnmarkTaken = `UPDATE attachment_blobs b SET pruning = false
		WHERE b.pruning AND EXISTS (SELECT 1 FROM attachments a WHERE a.blob_id = b.id)`
	sqlMarkedBlobs = `SELECT b.id, b.object_key FROM attachment_blobs b
		WHERE b.pruning AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_id = b.id)
		ORDER BY b.id LIMIT $1`
	sqlDropMarked = `DELETE FROM attachment_blobs b WHERE b.id = $1 AND b.pruning
		AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_id = b.id)`
	sqlUploader = `SELECT uploader FROM attachments WHERE id = $1`
)

// AttachmentUploader returns who uploaded the attachment id.
func (s *Store) AttachmentUploader(ctx context.Context, id string) (string, error) {
	var h string
	err := s.pool.QueryRow(ctx, sqlUploader, id).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", agcom.Errorf(agcom.ENOTFOUND, "attachment not found")
	}
	return h, translate(err)
}

// AttachmentUsage returns the bytes handle's uploads hold.
func (s *Store) AttachmentUsage(ctx context.Context, handle string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, sqlAttachmentUsage, handle).Scan(&n)
	return n, translate(err)
}

// VisibleAttachment returns the attachment id if the caller may see it.
func (s *Store) VisibleAttachment(ctx context.Context, caller agcom.Caller, id string) (agcom.Attachment, error) {
	a, err := scanAttachment(s.pool.QueryRow(ctx, sqlVisibleAttachment, caller.Handle, caller.IsAdmin, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, agcom.Errorf(agcom.ENOTFOUND, "attachment not found")
	}
	return a, translate(err)
}

// AttachmentUsage returns the bytes handle's uploads hold; handle's other
// uploads wait until the transaction ends.
func (t *tx) AttachmentUsage(handle string) (int64, error) {
	if _, err := t.exec(sqlLockUploads, handle); err != nil {
		return 0, err
	}
	var n int64
	err := t.queryRow(sqlAttachmentUsage, handle).Scan(&n)
	return n, err
}

// InsertAttachment stores a, filling in its id and time.
func (t *tx) InsertAttachment(a *agcom.Attachment) error {
	a.ID, a.CreatedAt = t.newID(), t.now
	var blob string
	err := t.queryRow(sqlInsertAttachment, a.ID, a.Uploader, a.Filename, a.ContentType, a.Size, a.SHA256, a.Blob, toMicros(a.CreatedAt)).Scan(&blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return agcom.Errorf(agcom.EUNAVAILABLE, "the upload took longer than unattached uploads are kept; send it again")
	}
	if err != nil || blob == a.Blob {
		return err
	}
	_, err = t.exec(sqlExpireBlob, a.Blob)
	a.Blob = blob
	return err
}

// OwnAttachments returns those of ids that are handle's uploads.
func (t *tx) OwnAttachments(handle string, ids []string) ([]agcom.Attachment, error) {
	return queryList(t, scanAttachment, sqlOwnAttachments, handle, ids)
}

// LinkAttachments records that msg carries its attachments, which are no
// longer removed unattached.
func (t *tx) LinkAttachments(msg agcom.Message) error {
	ids := make([]string, len(msg.Attachments))
	for i, a := range msg.Attachments {
		ids[i] = a.ID
	}
	_, err := t.exec(sqlLinkAttachments, ids, msg.ThreadID, msg.ID)
	return err
}

func scanAttachment(row scanner) (agcom.Attachment, error) {
	var (
		a       agcom.Attachment
		created int64
	)
	if err := row.Scan(&a.ID, &a.Uploader, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &created, &a.Blob); err != nil {
		return a, err
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// PruneAttachments removes the uploads no message carries that are older
// than the unattached time, then the blobs no upload refers to that are
// older than that too (those of the uploads removed, and any left by an
// upload that failed or was cut off), objects included. It returns how
// many uploads went.
func (s *Store) PruneAttachments(ctx context.Context) (int, error) {
	before := toMicros(s.now().Add(-s.limits.WithDefaults().UnattachedTTL))
	var removed int
	err := s.writeTx(ctx, func(t *tx) error {
		if err := t.queryRow(sqlPruneUnattached, before).Scan(&removed); err != nil {
			return err
		}
		if _, err := t.exec(sqlPruneBlobs, before); err != nil {
			return err
		}
		_, err := t.exec(sqlMarkObjectBlobs, before)
		return err
	})
	if err != nil {
		return removed, err
	}
	return removed, s.pruneObjects(ctx)
}

// pruneBatch is how many marked blobs one round of pruneObjects takes.
const pruneBatch = 500

// pruneObjects removes the objects of the blobs pruning has marked, and
// then their rows: a pruning cut short leaves rows still marked, which
// the next one takes up (removing an object already gone is no error).
// Unfinished multipart uploads of those blobs, left by a server that
// stopped mid-upload, are aborted. Without a bucket, marked rows wait for
// a server that has one.
func (s *Store) pruneObjects(ctx context.Context) error {
	if s.objects == nil {
		return nil
	}
	if _, err := s.pool.Exec(ctx, sqlUnmarkTaken); err != nil {
		return translate(err)
	}
	for {
		rows, err := s.pool.Query(ctx, sqlMarkedBlobs, pruneBatch)
		if err != nil {
			return translate(err)
		}
		keys := map[string]string{}
		var id, key string
		_, err = pgx.ForEachRow(rows, []any{&id, &key}, func() error {
			keys[id] = key
			return nil
		})
		if err != nil {
			return translate(err)
		}
		if len(keys) == 0 {
			return nil
		}
		unfinished := make(map[string]bool, len(keys))
		for _, key := range keys {
			unfinished[key] = true
		}
		if err := s.objects.abortUploads(ctx, unfinished); err != nil {
			return fmt.Errorf("store: prune attachment uploads: %w", err)
		}
		for id, key := range keys {
			if err := s.objects.remove(ctx, key); err != nil {
				return fmt.Errorf("store: prune attachment object: %w", err)
			}
			if _, err := s.pool.Exec(ctx, sqlDropMarked, id); err != nil {
				return translate(err)
			}
		}
		if len(keys) < pruneBatch {
			return nil
		}
	}
}

// storedAttachment is an attachment as a message row keeps it.
type storedAttachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	CreatedAt   int64  `json:"created_at"`
	Blob        string `json:"blob"`
}

// encodeAttachments is the messages.attachments value of atts: NULL for
// none.
func encodeAttachments(atts []agcom.Attachment) (any, error) {
	if len(atts) == 0 {
		return nil, nil
	}
	out := make([]storedAttachment, len(atts))
	for i, a := range atts {
		out[i] = storedAttachment{a.ID, a.Filename, a.ContentType, a.Size, a.SHA256, toMicros(a.CreatedAt), a.Blob}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// decodeAttachments reads a messages.attachments value.
func decodeAttachments(v string) ([]agcom.Attachment, error) {
	var stored []storedAttachment
	if err := json.Unmarshal([]byte(v), &stored); err != nil {
		return nil, err
	}
	out := make([]agcom.Attachment, len(stored))
	for i, a := range stored {
		out[i] = agcom.Attachment{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType,
			Size: a.Size, SHA256: a.SHA256, CreatedAt: fromMicros(a.CreatedAt), Blob: a.Blob}
	}
	return out, nil
}
