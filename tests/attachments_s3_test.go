package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testdb"
	"github.com/agcom/agcom/internal/testserver"
)

// The S3 server's root credentials, and the prefix AgCom's objects get.
const (
	s3AccessKey = "agcom-test-access"
	s3SecretKey = "agcom-test-secret-0123456789"
	s3Prefix    = "agcom/"
)

// s3Server is one running S3 gateway with a bucket for AgCom, and a
// client of the test's own to look into it.
type s3Server struct {
	Endpoint string
	Bucket   string
	Client   *minio.Client
	cmd      *exec.Cmd
}

// startS3 starts the S3 gateway on its posix backend in a temporary
// directory, with an empty bucket, and stops it when the test ends. The
// bucket keeps attachments only on the PostgreSQL store, so the test is
// skipped on SQLite.
func startS3(t *testing.T) *s3Server {
	t.Helper()
	if !testdb.Postgres() {
		t.Skip("attachments are kept in an S3 bucket only on the PostgreSQL store: run with AGCOM_TEST_STORE=postgres (make test-go does)")
	}
	bin := versitygwTool.binary(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--port", addr, "--quiet", "posix", t.TempDir())
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s3AccessKey, "ROOT_SECRET_ACCESS_KEY="+s3SecretKey)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the S3 gateway: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	client, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(s3AccessKey, s3SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	s := &s3Server{Endpoint: "http://" + addr, Bucket: "agcom-test", Client: client, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := client.MakeBucket(t.Context(), s.Bucket, minio.MakeBucketOptions{})
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the S3 gateway does not answer after 30 s: %v; logs:\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// config points a server at the bucket.
func (s *s3Server) config(c *config.Config) {
	c.S3Endpoint, c.S3Bucket, c.S3Prefix = s.Endpoint, s.Bucket, s3Prefix
	c.S3AccessKeyID, c.S3SecretAccessKey = s3AccessKey, s3SecretKey
}

// objects returns the bucket's objects: key and size.
func (s *s3Server) objects(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for o := range s.Client.ListObjects(t.Context(), s.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list the bucket: %v", o.Err)
		}
		out[o.Key] = o.Size
	}
	return out
}

// unfinished returns the keys of the bucket's unfinished multipart uploads.
func (s *s3Server) unfinished(t *testing.T) []string {
	t.Helper()
	var keys []string
	for u := range s.Client.ListIncompleteUploads(t.Context(), s.Bucket, "", true) {
		if u.Err != nil {
			t.Fatalf("list the bucket's multipart uploads: %v", u.Err)
		}
		keys = append(keys, u.Key)
	}
	return keys
}

// blobRows counts the registry's blobs.
func blobRows(t *testing.T, e *env) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), e.App.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM attachment_blobs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAttachmentS3RoundTrip(t *testing.T) {
	s3 := startS3(t)
	e := newMsgEnv(t, s3.config)
	binary := make([]byte, 70_000)
	for i := range binary {
		binary[i] = byte(i*7 + i/256)
	}
	// Over two 5 MiB parts.
	big := make([]byte, 11<<20+3)
	rand.NewChaCha8([32]byte{2}).Read(big)
	var sizes []int64
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{0}},
		{"binary", binary},
		{"11 MiB", big},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := e.uploaded("alice", "data.bin", "application/x-test", c.data)
			if a.Size != int64(len(c.data)) || a.Sha256 != sha256Hex(c.data) {
				t.Errorf("upload answered size %d, sha256 %s; want %d, %s", a.Size, a.Sha256, len(c.data), sha256Hex(c.data))
			}
			if sent := e.sendWith("alice", []string{"bob"}, a.AttachmentId); sent.JSON201 == nil {
				t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
			}
			d := e.download("bob", a.AttachmentId, nil)
			if d.StatusCode() != http.StatusOK || !bytes.Equal(d.Body, c.data) {
				t.Fatalf("bob downloads status %d, %d bytes (sha256 %s); want 200, the %d bytes uploaded",
					d.StatusCode(), len(d.Body), sha256Hex(d.Body), len(c.data))
			}
			if got := d.HTTPResponse.Header.Get("ETag"); got != `"`+a.Sha256+`"` {
				t.Errorf("ETag = %q", got)
			}
			if d := e.download("mallory", a.AttachmentId, nil); d.StatusCode() != http.StatusNotFound {
				t.Errorf("an outsider downloads: status %d, want 404", d.StatusCode())
			}
			sizes = append(sizes, int64(len(c.data)))
		})
	}

	// The bytes are in the bucket, one object each under the prefix, and
	// not in the database.
	objs := s3.objects(t)
	var got []int64
	for key, size := range objs {
		if !strings.HasPrefix(key, s3Prefix) {
			t.Errorf("object %s is not under the prefix %s", key, s3Prefix)
		}
		got = append(got, size)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if fmt.Sprint(got) != fmt.Sprint(sizes) {
		t.Errorf("the bucket holds objects of %v bytes, want %v", got, sizes)
	}
	if keys := s3.unfinished(t); len(keys) != 0 {
		t.Errorf("unfinished multipart uploads left: %v", keys)
	}
	conn, err := pgx.Connect(t.Context(), e.App.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var chunks int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM attachment_chunks`).Scan(&chunks); err != nil || chunks != 0 {
		t.Errorf("the database holds %d chunks (%v), want none", chunks, err)
	}
}

// TestAttachmentS3Ranges: ranges of an object are served from where they
// start, across parts, as from the database.
func TestAttachmentS3Ranges(t *testing.T) {
	s3 := startS3(t)
	e := newMsgEnv(t, s3.config)
	data := make([]byte, 6<<20)
	rand.NewChaCha8([32]byte{3}).Read(data)
	a := e.uploaded("alice", "ranged.bin", "application/octet-stream", data)
	size := len(data)
	for _, c := range []struct {
		header     string
		start, end int // inclusive
	}{
		{"bytes=0-9", 0, 9},
		{"bytes=5242870-5242889", 5242870, 5242889}, // across the first part's end
		{"bytes=-5", size - 5, size - 1},
		{fmt.Sprintf("bytes=%d-", size-100), size - 100, size - 1},
	} {
		d := e.download("alice", a.AttachmentId, &agcomv1.GetAttachmentParams{Range: valueOf(c.header)})
		want := fmt.Sprintf("bytes %d-%d/%d", c.start, c.end, size)
		if d.StatusCode() != http.StatusPartialContent || !bytes.Equal(d.Body, data[c.start:c.end+1]) ||
			d.HTTPResponse.Header.Get("Content-Range") != want {
			t.Errorf("%s: status %d, %d bytes, Content-Range %q; want 206, %d bytes, %q",
				c.header, d.StatusCode(), len(d.Body), d.HTTPResponse.Header.Get("Content-Range"), c.end-c.start+1, want)
		}
	}
	// Two ranges: the reader seeks back and forth.
	d := e.download("alice", a.AttachmentId, &agcomv1.GetAttachmentParams{Range: valueOf("bytes=6000000-6000003,10-13")})
	if d.StatusCode() != http.StatusPartialContent || !bytes.Contains(d.Body, data[6000000:6000004]) || !bytes.Contains(d.Body, data[10:14]) ||
		!strings.HasPrefix(d.HTTPResponse.Header.Get("Content-Type"), "multipart/byteranges") {
		t.Errorf("two ranges: status %d, Content-Type %q", d.StatusCode(), d.HTTPResponse.Header.Get("Content-Type"))
	}
	d = e.download("alice", a.AttachmentId, &agcomv1.GetAttachmentParams{Range: valueOf(fmt.Sprintf("bytes=%d-", size))})
	wantError(t, d.HTTPResponse, d.Body, http.StatusRequestedRangeNotSatisfiable, "RangeNotSatisfiable")
}

// TestAttachmentS3Pruned: pruning removes the objects of the uploads it
// removes, and takes up a pruning that stopped after removing an object.
func TestAttachmentS3Pruned(t *testing.T) {
	s3 := startS3(t)
	e := newMsgEnv(t, s3.config, func(c *config.Config) { c.AttachmentUnattachedTTL = time.Hour })
	kept := e.uploaded("alice", "kept.txt", "text/plain", []byte("attached"))
	gone := e.uploaded("alice", "gone.txt", "text/plain", []byte("never attached"))
	e.uploaded("bob", "gone-too.txt", "text/plain", []byte("never attached either"))
	if sent := e.sendWith("alice", []string{"bob"}, kept.AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	if n := len(s3.objects(t)); n != 3 {
		t.Fatalf("the bucket holds %d objects, want 3", n)
	}
	ctx := context.Background()
	if n, err := e.App.Store.PruneAttachments(ctx); err != nil || n != 0 {
		t.Fatalf("prune within the hour: removed %d, %v; want none", n, err)
	}
	if n := len(s3.objects(t)); n != 3 {
		t.Fatalf("after pruning within the hour the bucket holds %d objects, want 3", n)
	}

	// A pruning that stopped after removing one object but before its
	// row: the row is still marked, and the next pruning finishes it.
	conn, err := pgx.Connect(t.Context(), e.App.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var key string
	if err := conn.QueryRow(ctx, `UPDATE attachment_blobs b SET pruning = true FROM attachments a
		WHERE a.id = $1 AND a.blob_id = b.id RETURNING b.object_key`, gone.AttachmentId).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if err := s3.Client.RemoveObject(ctx, s3.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM attachments WHERE id = $1`, gone.AttachmentId); err != nil {
		t.Fatal(err)
	}

	later := time.Now().Add(2 * time.Hour)
	e.App.Store.SetClock(func() time.Time { return later })
	n, err := e.App.Store.PruneAttachments(ctx)
	if err != nil || n != 1 {
		t.Fatalf("prune after the hour: removed %d, %v; want 1 (bob's gone-too.txt)", n, err)
	}
	objs := s3.objects(t)
	if len(objs) != 1 {
		t.Errorf("after pruning the bucket holds %v, want kept.txt's object only", objs)
	}
	if rows := blobRows(t, e); rows != 1 {
		t.Errorf("after pruning the registry holds %d blobs, want 1", rows)
	}
	if d := e.download("bob", kept.AttachmentId, nil); d.StatusCode() != http.StatusOK || string(d.Body) != "attached" {
		t.Errorf("the attached upload: status %d, body %q", d.StatusCode(), d.Body)
	}
}

// TestAttachmentS3UploadCutOff: a body that stops half-way, while it is
// spooled on its way to the bucket, leaves neither a spool file, nor an
// object or unfinished multipart upload, nor a blob in the registry.
func TestAttachmentS3UploadCutOff(t *testing.T) {
	s3 := startS3(t)
	spools := t.TempDir()
	t.Setenv("TMPDIR", spools)
	spooled := func() (n int, size int64) {
		entries, _ := os.ReadDir(spools)
		for _, d := range entries {
			if info, err := d.Info(); err == nil {
				n, size = n+1, size+info.Size()
			}
		}
		return n, size
	}
	e := newMsgEnv(t, s3.config)
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	wrote := make(chan error, 1)
	go func() {
		part, _ := w.CreateFormFile("file", "half.bin")
		_, err := part.Write(make([]byte, 7<<20))
		wrote <- err
	}()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v1/attachments", pr)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.token("alice"))
	answered := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	if err := <-wrote; err != nil {
		t.Fatalf("send the first 7 MiB: %v", err)
	}
	// The bytes are spooled before the body stops.
	deadline := time.Now().Add(10 * time.Second)
	for _, size := spooled(); size < 6<<20; _, size = spooled() {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes spooled after 7 MiB were sent", size)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pw.CloseWithError(io.ErrUnexpectedEOF) // no closing boundary
	if status := <-answered; status == http.StatusCreated {
		t.Fatal("a cut-off upload was stored")
	}
	// The client may hear of the cut before the server has cleaned up.
	deadline = time.Now().Add(10 * time.Second)
	for n, _ := spooled(); (n != 0 || len(s3.unfinished(t)) != 0 || len(s3.objects(t)) != 0 || blobRows(t, e) != 0) && time.Now().Before(deadline); n, _ = spooled() {
		time.Sleep(50 * time.Millisecond)
	}
	if n, size := spooled(); n != 0 {
		t.Errorf("a cut-off upload left %d spool files (%d bytes)", n, size)
	}
	if keys := s3.unfinished(t); len(keys) != 0 {
		t.Errorf("a cut-off upload left unfinished multipart uploads %v", keys)
	}
	if objs := s3.objects(t); len(objs) != 0 {
		t.Errorf("a cut-off upload left objects %v", objs)
	}
	if rows := blobRows(t, e); rows != 0 {
		t.Errorf("a cut-off upload left %d blobs in the registry", rows)
	}
	if used, err := e.App.Store.AttachmentUsage(context.Background(), "alice"); err != nil || used != 0 {
		t.Errorf("usage after a cut-off upload: %d, %v", used, err)
	}
}

// TestAttachmentS3OverLimit: an upload over the size limit is refused
// with 413 and leaves nothing in the bucket.
func TestAttachmentS3OverLimit(t *testing.T) {
	s3 := startS3(t)
	e := newMsgEnv(t, s3.config, func(c *config.Config) { c.MaxAttachmentBytes = 6 << 20 })
	resp := e.upload("alice", "big.bin", "", make([]byte, 6<<20+1))
	wantError(t, resp.HTTPResponse, resp.Body, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	deadline := time.Now().Add(10 * time.Second)
	for (len(s3.unfinished(t)) != 0 || blobRows(t, e) != 0) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if objs, keys := s3.objects(t), s3.unfinished(t); len(objs) != 0 || len(keys) != 0 {
		t.Errorf("an upload over the limit left objects %v and unfinished uploads %v", objs, keys)
	}
	if rows := blobRows(t, e); rows != 0 {
		t.Errorf("an upload over the limit left %d blobs in the registry", rows)
	}
}

// TestAttachmentS3StartUp: a server whose bucket is missing or whose
// credentials are refused does not start, saying why without the secret;
// one that starts logs no secret and reports the bucket in readiness.
func TestAttachmentS3StartUp(t *testing.T) {
	s3 := startS3(t)
	base := map[string]string{
		"SECRET_KEY": testserver.SecretKey, "DATABASE_URL": testdb.PostgresURL(t),
		"S3_ENDPOINT": s3.Endpoint, "S3_BUCKET": s3.Bucket, "S3_ACCESS_KEY_ID": s3AccessKey, "S3_SECRET_ACCESS_KEY": s3SecretKey,
		"METRICS_ADDR": "",
	}
	for _, c := range []struct {
		name, variable, value, want string
	}{
		{"missing bucket", "S3_BUCKET", "no-such-bucket", "does not exist"},
		{"wrong secret", "S3_SECRET_ACCESS_KEY", "not-the-secret-0123456789", "S3 bucket"},
		{"no server", "S3_ENDPOINT", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)), "S3 bucket"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range base {
				vars[k] = v
			}
			vars[c.variable] = c.value
			cfg, err := config.Load(func(name string) (string, bool) { v, ok := vars[name]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			a, err := app.New(t.Context(), cfg, "test", &logs)
			if err == nil {
				a.Close()
				t.Fatalf("the server started")
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error()+logs.String(), vars["S3_SECRET_ACCESS_KEY"]) {
				t.Errorf("start-up error %q (logs %q), want one saying %q without the secret", err, logs.String(), c.want)
			}
		})
	}

	var logs syncBuffer
	srv := testserver.New(t, testserver.Options{Env: base, Logs: &logs, Listen: true})
	e := &env{t: t, URL: srv.URL, App: srv.App}
	ready := func() *agcomv1.Readiness {
		t.Helper()
		r, err := e.clientWithToken("").GetReadinessWithResponse(t.Context())
		if err != nil || r.JSON200 == nil {
			t.Fatalf("readiness: %v %v", err, r.Status())
		}
		return r.JSON200
	}
	if r := ready(); r.ObjectStore == nil || !r.ObjectStore.Reachable {
		t.Errorf("readiness reports the bucket as %+v, want reachable", r.ObjectStore)
	}
	s3.cmd.Process.Kill()
	s3.cmd.Wait()
	if r := ready(); r.ObjectStore == nil || r.ObjectStore.Reachable {
		t.Errorf("with the S3 server stopped, readiness reports the bucket as %+v, want unreachable", r.ObjectStore)
	}
	resp := e.upload("alice", "x.txt", "text/plain", []byte("x"))
	if resp.StatusCode() < 500 {
		t.Errorf("an upload with the S3 server stopped: status %d", resp.StatusCode())
	}
	if strings.Contains(logs.String(), s3SecretKey) {
		t.Errorf("the logs hold the S3 secret")
	}
}

// syncBuffer is a bytes.Buffer that the server may write while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAttachmentS3UploadsAreStreamed: uploads into the bucket are spooled
// to files, not held: 20 clients sending 25 MiB at once grow the server's
// heap (it runs in this process) by far less than the 500 MiB they send,
// and by less than a 5 MiB part each would hold.
func TestAttachmentS3UploadsAreStreamed(t *testing.T) {
	const clients, size = 20, 25 << 20
	s3 := startS3(t)
	e := newMsgEnv(t, s3.config)
	grew := uploadsAtOnce(t, e, clients, size)
	if limit := int64(clients*size) / 8; grew > limit {
		t.Errorf("%d uploads of %d MiB grew the heap by %d MiB, more than %d MiB: the files are held in memory",
			clients, size>>20, grew>>20, limit>>20)
	}
	t.Logf("%d uploads of %d MiB into the bucket: heap grew by %d MiB", clients, size>>20, grew>>20)
	if n := len(s3.objects(t)); n != clients {
		t.Errorf("the bucket holds %d objects, want %d", n, clients)
	}
}

// TestCopyMovesAttachmentsIntoS3: with the S3 settings, agcomd copy
// writes the bytes into the bucket, where a server with the same settings
// reads them, and none into the database.
func TestCopyMovesAttachmentsIntoS3(t *testing.T) {
	s3 := startS3(t)
	c, target, srcPath := copyFixture(t)
	src := newMsgEnv(t, onSQLite(srcPath))
	big := make([]byte, 6<<20+3) // more than one part
	rand.NewChaCha8([32]byte{3}).Read(big)
	files := map[string][]byte{"small.txt": []byte("small"), "big.bin": big}
	ups := map[string]agcomv1.Attachment{}
	for name, data := range files {
		ups[name] = src.uploaded("alice", name, "", data)
	}
	if sent := src.sendWith("alice", []string{"bob"}, ups["small.txt"].AttachmentId, ups["big.bin"].AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	if err := src.App.Close(); err != nil {
		t.Fatal(err)
	}
	env := fmt.Sprintf("S3_ENDPOINT=%s\nS3_BUCKET=%s\nS3_PREFIX=%s\nS3_ACCESS_KEY_ID=%s\nS3_SECRET_ACCESS_KEY=%s\n",
		s3.Endpoint, s3.Bucket, s3Prefix, s3AccessKey, s3SecretKey)
	if err := os.WriteFile(filepath.Join(c.dir, ".env"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("copy", "--from", srcPath, "--to", target); strings.Contains(out, s3SecretKey) {
		t.Errorf("the copy's output shows the S3 secret:\n%s", out)
	}
	objects := s3.objects(t)
	if len(objects) != 2 {
		t.Errorf("the bucket holds %v after the copy, want the two files", objects)
	}
	if n := targetCount(t, target, "SELECT count(*) FROM attachment_chunks"); n != 0 {
		t.Errorf("the database holds %d chunks, want none: the bytes belong in the bucket", n)
	}
	dst := newMsgEnv(t, func(cfg *config.Config) { cfg.DatabaseURL = target; s3.config(cfg) })
	for name, a := range ups {
		for _, who := range []string{"alice", "bob"} {
			if d := dst.download(who, a.AttachmentId, nil); d.StatusCode() != http.StatusOK || !bytes.Equal(d.Body, files[name]) {
				t.Errorf("%s downloads %s: status %d, %d bytes", who, name, d.StatusCode(), len(d.Body))
			}
		}
	}
}
