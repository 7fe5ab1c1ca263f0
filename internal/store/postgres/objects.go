package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/agcom/agcom/internal/agcom"
)

// ObjectStore names the S3-compatible bucket that keeps attachments'
// bytes instead of the database.
type ObjectStore struct {
	// Endpoint is the server's URL; https:// talks TLS, http:// does not.
	Endpoint string
	Bucket   string
	// Region may be empty: the server's default.
	Region string
	// AccessKeyID and SecretAccessKey sign requests; both empty send
	// anonymous ones.
	AccessKeyID     string
	SecretAccessKey string
	// Prefix comes before a blob's id in its object's key.
	Prefix string
}

// WithObjectStore keeps attachments' bytes in the bucket o names; the
// database keeps the registry of blobs. Open fails when the bucket cannot
// be reached.
func WithObjectStore(o ObjectStore) Option {
	return func(s *Store) { s.objectStore = &o }
}

// minPartBytes is the smallest part S3 takes (but the last), unless the
// size limit needs more.
const minPartBytes = 5 << 20

// maxParts is the most parts one S3 upload may have.
const maxParts = 10_000

// objects is the bucket that keeps blobs' bytes.
type objects struct {
	client *minio.Client
	bucket string
	prefix string
	// partBytes is the size of an upload's parts, so that the largest
	// upload allowed fits in maxParts.
	partBytes uint64
}

// openObjects connects to the bucket o names and checks that it is there.
// maxBlob is the largest blob to be stored.
func openObjects(ctx context.Context, o ObjectStore, maxBlob int64) (*objects, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("store: S3_ENDPOINT: must be an https:// (or http://) URL with no path, such as https://s3.example.com, got %q", o.Endpoint)
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKeyID, o.SecretAccessKey, ""),
		Secure: u.Scheme == "https",
		Region: o.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("store: S3_ENDPOINT: %w", err)
	}
	part := max(uint64(minPartBytes), uint64((maxBlob+maxParts-1)/maxParts))
	obj := &objects{client: client, bucket: o.Bucket, prefix: o.Prefix, partBytes: part}
	if err := obj.check(ctx); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return obj, nil
}

// check reports whether the bucket exists and the credentials may see it.
func (o *objects) check(ctx context.Context) error {
	ok, err := o.client.BucketExists(ctx, o.bucket)
	if err != nil {
		return fmt.Errorf("S3 bucket %q at %s: %w", o.bucket, o.client.EndpointURL().Host, err)
	}
	if !ok {
		return fmt.Errorf("S3 bucket %q does not exist at %s: create it, or set S3_BUCKET to one that does", o.bucket, o.client.EndpointURL().Host)
	}
	return nil
}

// key is the object key of the blob id.
func (o *objects) key(id string) string { return o.prefix + id }

// put streams r into a temporary file, then the file into the object
// key: an upload holds a copy buffer in memory, not a part, however slowly
// its client sends (S3's parts are at least 5 MiB, and a part must be
// whole before it goes). A read error of r is returned as is; a failed
// upload is aborted, so that nothing is kept.
func (o *objects) put(ctx context.Context, key string, r io.Reader) error {
	spool, err := os.CreateTemp("", "agcom-upload-*")
	if err != nil {
		return fmt.Errorf("store: attachment spool: %w", err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	body := &readErr{r: r}
	size, err := io.Copy(spool, body)
	if body.err != nil {
		return body.err
	}
	if err != nil {
		return fmt.Errorf("store: attachment spool: %w", err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("store: attachment spool: %w", err)
	}
	_, err = o.client.PutObject(ctx, o.bucket, key, spool, size, minio.PutObjectOptions{
		PartSize:    o.partBytes,
		ContentType: agcom.DefaultAttachmentType,
	})
	if err != nil {
		return fmt.Errorf("store: put attachment object: %w", err)
	}
	return nil
}

// readErr remembers the first error of r other than io.EOF, so that it
// reaches the caller whatever the S3 client makes of it.
type readErr struct {
	r   io.Reader
	err error
}

func (b *readErr) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}

// remove deletes the object key; one already gone is no error.
func (o *objects) remove(ctx context.Context, key string) error {
	err := o.client.RemoveObject(ctx, o.bucket, key, minio.RemoveObjectOptions{})
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil
	}
	return err
}

// abortUploads aborts the unfinished multipart uploads of keys: those of
// a server that stopped while a file streamed in.
func (o *objects) abortUploads(ctx context.Context, keys map[string]bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var errs []error
	for up := range o.client.ListIncompleteUploads(ctx, o.bucket, o.prefix, true) {
		if up.Err != nil {
			return up.Err
		}
		if keys[up.Key] {
			if err := (minio.Core{Client: o.client}).AbortMultipartUpload(ctx, o.bucket, up.Key, up.UploadID); err != nil &&
				minio.ToErrorResponse(err).Code != minio.NoSuchUpload {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// open returns a reader of the object key, of size bytes, that asks for
// bytes from where it is: a seek costs no request, so http.ServeContent
// serves a range by reading only from its start.
func (o *objects) open(ctx context.Context, key string, size int64) io.ReadSeekCloser {
	return &objectReader{ctx: ctx, o: o, key: key, size: size}
}

// objectReader reads an object from pos on, with one GET from pos to the
// end that it opens on the first read after a seek.
type objectReader struct {
	ctx  context.Context
	o    *objects
	key  string
	size int64
	pos  int64
	body io.ReadCloser // nil until read
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.body == nil {
		var opts minio.GetObjectOptions
		if r.pos > 0 {
			if err := opts.SetRange(r.pos, 0); err != nil {
				return 0, err
			}
		}
		body, _, _, err := (minio.Core{Client: r.o.client}).GetObject(r.ctx, r.o.bucket, r.key, opts)
		if err != nil {
			return 0, fmt.Errorf("store: get attachment object: %w", err)
		}
		r.body = body
	}
	n, err := r.body.Read(p)
	r.pos += int64(n)
	if errors.Is(err, io.EOF) && r.pos < r.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *objectReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := seekPos(r.pos, r.size, offset, whence)
	if err == nil && pos != r.pos {
		r.Close()
		r.pos = pos
	}
	return pos, err
}

func (r *objectReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// PingObjects checks that the bucket attachments' bytes are kept in
// answers; ok is false when the store keeps them in the database.
func (s *Store) PingObjects(ctx context.Context) (ok bool, err error) {
	if s.objects == nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return true, s.objects.check(ctx)
}
