package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/store/sqlite"
	"github.com/agcom/agcom/internal/testdb"
)

// upload sends data as a multipart upload by who and returns the answer.
func (e *env) upload(who, filename, contentType string, data []byte) *agcomv1.UploadAttachmentResponse {
	e.t.Helper()
	body, ct := multipartFile(e.t, filename, contentType, data)
	resp, err := e.client(who).UploadAttachmentWithBodyWithResponse(context.Background(), ct, body)
	if err != nil {
		e.t.Fatalf("upload: %v", err)
	}
	return resp
}

// uploaded uploads data and fails the test unless it is stored.
func (e *env) uploaded(who, filename, contentType string, data []byte) agcomv1.Attachment {
	e.t.Helper()
	resp := e.upload(who, filename, contentType, data)
	if resp.JSON201 == nil {
		e.t.Fatalf("upload %s (%d bytes): status %d, body %s", filename, len(data), resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// multipartFile is a form with data in its part "file".
func multipartFile(t *testing.T, filename, contentType string, data []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.FormDataContentType()
}

// download gets the attachment id as who, with optional Range and
// If-None-Match.
func (e *env) download(who, id string, params *agcomv1.GetAttachmentParams) *agcomv1.GetAttachmentResponse {
	e.t.Helper()
	if params == nil {
		params = &agcomv1.GetAttachmentParams{}
	}
	resp, err := e.client(who).GetAttachmentWithResponse(context.Background(), id, params)
	if err != nil {
		e.t.Fatalf("download: %v", err)
	}
	return resp
}

// head sends HEAD for the attachment id as who. The generated client's
// parsed answer would decode an error envelope that HEAD never carries,
// so this is its raw answer.
func (e *env) head(who, id string) *http.Response {
	e.t.Helper()
	resp, err := e.client(who).ClientInterface.HeadAttachment(context.Background(), id, nil)
	if err != nil {
		e.t.Fatalf("HEAD: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sendWith sends a message from who to to with the attachments ids.
func (e *env) sendWith(who string, to []string, ids ...string) *agcomv1.SendMessageResponse {
	e.t.Helper()
	req := agcomv1.SendMessageRequest{ToHandles: to, Subject: "files", Body: "see attached", AttachmentIds: &ids}
	resp, err := e.client(who).SendMessageWithResponse(context.Background(), nil, req)
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
	return resp
}

func TestAttachmentRoundTrip(t *testing.T) {
	e := newMsgEnv(t)
	binary := make([]byte, 70_000)
	for i := range binary {
		binary[i] = byte(i*7 + i/256)
	}
	big := make([]byte, agcom.DefaultAttachmentBytes)
	rand.NewChaCha8([32]byte{1}).Read(big)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{0}},
		{"binary", binary},
		{"25 MiB", big},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := e.uploaded("alice", "data.bin", "application/x-test", c.data)
			if a.Size != int64(len(c.data)) || a.Sha256 != sha256Hex(c.data) {
				t.Errorf("upload answered size %d, sha256 %s; want %d, %s", a.Size, a.Sha256, len(c.data), sha256Hex(c.data))
			}
			if a.Filename != "data.bin" || a.ContentType != "application/x-test" || !ulidPattern.MatchString(a.AttachmentId) {
				t.Errorf("upload answered %+v", a)
			}
			sent := e.sendWith("alice", []string{"bob"}, a.AttachmentId)
			if sent.JSON201 == nil {
				t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
			}
			if got := sent.JSON201.Attachments; got == nil || len(*got) != 1 || (*got)[0] != a {
				t.Errorf("the message carries %+v, want [%+v]", got, a)
			}
			got, err := e.client("bob").GetMessageWithResponse(context.Background(), sent.JSON201.MessageId)
			if err != nil || got.JSON200 == nil || got.JSON200.Attachments == nil || (*got.JSON200.Attachments)[0] != a {
				t.Errorf("bob reads the message with attachments %v (err %v)", got.JSON200, err)
			}
			d := e.download("bob", a.AttachmentId, nil)
			if d.StatusCode() != http.StatusOK || !bytes.Equal(d.Body, c.data) {
				t.Fatalf("bob downloads status %d, %d bytes (sha256 %s); want 200, the %d bytes uploaded",
					d.StatusCode(), len(d.Body), sha256Hex(d.Body), len(c.data))
			}
			h := d.HTTPResponse.Header
			for name, want := range map[string]string{
				"Content-Length":         fmt.Sprint(len(c.data)),
				"ETag":                   `"` + a.Sha256 + `"`,
				"Content-Type":           "application/x-test",
				"X-Content-Type-Options": "nosniff",
				"Content-Disposition":    `inline; filename=data.bin`,
				"Accept-Ranges":          "bytes",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestAttachmentMessagesWithoutAttachmentsAreUnchanged(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "plain", "no files")
	resp, body := e.do(http.MethodGet, "/api/v1/messages/"+m.MessageId, e.token("bob"), "")
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"attachments"`)) {
		t.Errorf("a message without attachments: status %d, body %s; want no attachments field", resp.StatusCode, body)
	}
}

func TestAttachmentActiveContentIsADownload(t *testing.T) {
	e := newMsgEnv(t)
	for _, c := range []struct{ declared, wantType, wantDisposition string }{
		{"text/html", "application/octet-stream", "attachment"},
		{"image/svg+xml", "application/octet-stream", "attachment"},
		{"application/javascript", "application/octet-stream", "attachment"},
		{"text/xml; charset=utf-8", "application/octet-stream", "attachment"},
		{"image/png", "image/png", "inline"},
		{"text/plain; charset=utf-8", "text/plain; charset=utf-8", "inline"},
		{"", "application/octet-stream", "inline"},
		{"not a type", "application/octet-stream", "inline"},
	} {
		a := e.uploaded("alice", "résumé <1>.html", c.declared, []byte("<script>alert(1)</script>"))
		d := e.download("alice", a.AttachmentId, nil)
		h := d.HTTPResponse.Header
		if h.Get("Content-Type") != c.wantType || !strings.HasPrefix(h.Get("Content-Disposition"), c.wantDisposition+";") {
			t.Errorf("declared %q: Content-Type %q, Content-Disposition %q; want %q, %s", c.declared,
				h.Get("Content-Type"), h.Get("Content-Disposition"), c.wantType, c.wantDisposition)
		}
		if want := `filename*=utf-8''r%C3%A9sum%C3%A9%20%3C1%3E.html`; !strings.Contains(h.Get("Content-Disposition"), want) {
			t.Errorf("Content-Disposition %q does not name the file as %s", h.Get("Content-Disposition"), want)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("declared %q: no X-Content-Type-Options: nosniff", c.declared)
		}
	}
	if a := e.uploaded("alice", "../../etc/passwd", "text/plain", []byte("x")); a.Filename != "passwd" {
		t.Errorf("a filename with a path is stored as %q, want passwd", a.Filename)
	}
}

func TestAttachmentVisibility(t *testing.T) {
	e := newMsgEnv(t, withAdmin(rootHandle, rootSecret))
	data := []byte("quarterly numbers")
	a := e.uploaded("alice", "numbers.csv", "text/csv", data)
	wantStatus := func(who string, want int) {
		t.Helper()
		if d := e.download(who, a.AttachmentId, nil); d.StatusCode() != want {
			t.Errorf("%s downloads: status %d, want %d; body %s", who, d.StatusCode(), want, d.Body)
		} else if want == http.StatusNotFound {
			wantError(t, d.HTTPResponse, d.Body, http.StatusNotFound, "NotFound")
		}
		if h := e.head(who, a.AttachmentId); h.StatusCode != want {
			t.Errorf("%s HEAD: status %v, want %d", who, h.StatusCode, want)
		}
	}
	wantStatus("alice", http.StatusOK)
	wantStatus("bob", http.StatusNotFound)
	wantStatus(rootHandle, http.StatusOK)
	if sent := e.sendWith("alice", []string{"bob"}, a.AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	wantStatus("bob", http.StatusOK)
	wantStatus("carol", http.StatusNotFound)
	wantStatus(rootHandle, http.StatusOK)
	if d := e.download("carol", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", nil); d.StatusCode() != http.StatusNotFound {
		t.Errorf("an unknown id: status %d, want 404", d.StatusCode())
	}

	// An outsider finds no trace of the id: not in search, lists, events.
	outsider := []string{}
	if r := e.search("carol", agcomv1.SearchMessagesParams{Query: "see attached"}); r.Count != 0 {
		outsider = append(outsider, "search")
	}
	if p := e.messages("carol", agcomv1.ListMessagesParams{}); len(p.Messages) != 0 {
		outsider = append(outsider, "message list")
	}
	ev, err := e.client("carol").ListEventsWithResponse(context.Background(), &agcomv1.ListEventsParams{After: valueOf("0")})
	if err != nil || ev.JSON200 == nil {
		t.Fatalf("carol's events: %v %v", err, ev.Status())
	}
	if strings.Contains(string(ev.Body), a.AttachmentId) {
		outsider = append(outsider, "events")
	}
	if len(outsider) > 0 {
		t.Errorf("carol, an outsider, sees the message or its attachment in: %v", outsider)
	}
	// A participant finds it in events and search.
	ev, err = e.client("bob").ListEventsWithResponse(context.Background(), &agcomv1.ListEventsParams{After: valueOf("0")})
	if err != nil || !strings.Contains(string(ev.Body), a.AttachmentId) {
		t.Errorf("bob's events do not carry the attachment: %s", ev.Body)
	}
	if r := e.search("bob", agcomv1.SearchMessagesParams{Query: "see attached"}); r.Count != 1 ||
		r.Messages[0].Attachments == nil || (*r.Messages[0].Attachments)[0].AttachmentId != a.AttachmentId {
		t.Errorf("bob's search: %+v", r.Messages)
	}
	// Replies in the thread are visible to a new participant, and with them
	// the earlier message's attachment.
	m := e.messages("bob", agcomv1.ListMessagesParams{}).Messages[0]
	reply := e.replyTo("bob", m.MessageId, "thanks")
	if reply.Attachments != nil {
		t.Errorf("a reply without attachments carries %v", reply.Attachments)
	}
}

func TestAttachOnlyYourOwnUploads(t *testing.T) {
	e := newMsgEnv(t)
	bobs := e.uploaded("bob", "b.txt", "text/plain", []byte("bob's"))
	mine := e.uploaded("alice", "a.txt", "text/plain", []byte("alice's"))
	before := e.snapshot("alice", "bob", "carol")

	for _, c := range []struct {
		name string
		ids  []string
	}{
		{"someone else's", []string{bobs.AttachmentId}},
		{"one of them someone else's", []string{mine.AttachmentId, bobs.AttachmentId}},
		{"unknown", []string{"01J9ZQ4W4S3N0C5Q6Q9D8V7T2K"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sent := e.sendWith("alice", []string{"carol"}, c.ids...)
			wantError(t, sent.HTTPResponse, sent.Body, http.StatusBadRequest, "ValidationError")
			req := agcomv1.SendMessageRequest{ToHandles: []string{"carol", "dave"}, Subject: "s", Body: "b", AttachmentIds: &c.ids}
			b, err := e.client("alice").BroadcastMessageWithResponse(context.Background(), nil, req)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, b.HTTPResponse, b.Body, http.StatusBadRequest, "ValidationError")
			g, err := e.client("alice").SendGroupMessageWithResponse(context.Background(), nil, req)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, g.HTTPResponse, g.Body, http.StatusBadRequest, "ValidationError")
		})
	}
	e.wantCounts(before)
	// Nor in a reply, in either form.
	m := e.send("carol", []string{"alice"}, "question", "files?")
	before = e.snapshot("alice", "bob", "carol")
	ids := []string{bobs.AttachmentId}
	r, err := e.client("alice").ReplyToMessageWithResponse(context.Background(), m.MessageId, nil, agcomv1.ReplyRequest{Body: "here", AttachmentIds: &ids})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "ValidationError")
	rt, err := e.client("alice").ReplyToThreadWithResponse(context.Background(), m.ThreadId, nil, agcomv1.ReplyRequest{Body: "here", AttachmentIds: &ids})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, rt.HTTPResponse, rt.Body, http.StatusBadRequest, "ValidationError")
	e.wantCounts(before)
	if d := e.download("carol", bobs.AttachmentId, nil); d.StatusCode() != http.StatusNotFound {
		t.Errorf("carol downloads bob's upload after the refused sends: status %d", d.StatusCode())
	}
	// Her own, in a reply to the thread, goes through.
	ids = []string{mine.AttachmentId, mine.AttachmentId}
	rt, err = e.client("alice").ReplyToThreadWithResponse(context.Background(), m.ThreadId, nil, agcomv1.ReplyRequest{Body: "here", AttachmentIds: &ids})
	if err != nil || rt.JSON201 == nil || rt.JSON201.Attachments == nil || len(*rt.JSON201.Attachments) != 1 {
		t.Fatalf("reply with her own upload, named twice: status %d, body %s", rt.StatusCode(), rt.Body)
	}
	if d := e.download("carol", mine.AttachmentId, nil); d.StatusCode() != http.StatusOK {
		t.Errorf("carol downloads the reply's attachment: status %d", d.StatusCode())
	}
}

func TestAttachmentLimits(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) {
		c.MaxAttachmentBytes = 1000
		c.AttachmentQuotaBytes = 2500
	})
	tooLarge := func(resp *agcomv1.UploadAttachmentResponse) map[string]any {
		t.Helper()
		body := wantError(t, resp.HTTPResponse, resp.Body, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		if body.Details == nil {
			t.Fatalf("413 without details")
		}
		return *body.Details
	}
	d := tooLarge(e.upload("alice", "big", "", make([]byte, 1001)))
	if d["limit"] != agcom.LimitAttachmentBytes || d["max_bytes"] != float64(1000) {
		t.Errorf("over the size limit: details %v", d)
	}
	e.uploaded("alice", "a", "", make([]byte, 1000))
	e.uploaded("alice", "b", "", make([]byte, 1000))
	d = tooLarge(e.upload("alice", "c", "", make([]byte, 1000)))
	if d["limit"] != agcom.LimitAttachmentQuota || d["remaining_bytes"] != float64(500) || d["quota_bytes"] != float64(2500) {
		t.Errorf("over the quota: details %v", d)
	}
	e.uploaded("alice", "d", "", make([]byte, 500)) // exactly the room left
	d = tooLarge(e.upload("alice", "e", "", []byte{1}))
	if d["remaining_bytes"] != float64(0) {
		t.Errorf("a full quota: details %v", d)
	}
	e.uploaded("bob", "f", "", make([]byte, 1000)) // quotas are per agent

	var ids []string
	for range agcom.MaxAttachments + 1 {
		ids = append(ids, e.uploaded("carol", "x", "", nil).AttachmentId)
	}
	sent := e.sendWith("carol", []string{"bob"}, ids...)
	wantError(t, sent.HTTPResponse, sent.Body, http.StatusBadRequest, "ValidationError")
	if sent := e.sendWith("carol", []string{"bob"}, ids[:agcom.MaxAttachments]...); sent.JSON201 == nil ||
		len(*sent.JSON201.Attachments) != agcom.MaxAttachments {
		t.Errorf("%d attachments: status %d, body %s", agcom.MaxAttachments, sent.StatusCode(), sent.Body)
	}

	// No part named file, and a body that is not multipart.
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("other", "x")
	w.Close()
	resp, err := e.client("alice").UploadAttachmentWithBodyWithResponse(context.Background(), w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "ValidationError")
	resp, err = e.client("alice").UploadAttachmentWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "ValidationError")
}

func TestAttachmentRangesAndConditionals(t *testing.T) {
	e := newMsgEnv(t)
	data := []byte("0123456789")
	a := e.uploaded("alice", "digits.txt", "text/plain", data)
	etag := `"` + a.Sha256 + `"`

	d := e.download("alice", a.AttachmentId, &agcomv1.GetAttachmentParams{Range: valueOf("bytes=2-5")})
	if d.StatusCode() != http.StatusPartialContent || string(d.Body) != "2345" ||
		d.HTTPResponse.Header.Get("Content-Range") != "bytes 2-5/10" || d.HTTPResponse.Header.Get("ETag") != etag {
		t.Errorf("bytes=2-5: status %d, body %q, Content-Range %q", d.StatusCode(), d.Body, d.HTTPResponse.Header.Get("Content-Range"))
	}
	d = e.download("alice", a.AttachmentId, &agcomv1.GetAttachmentParams{Range: valueOf("bytes=-3")})
	if d.StatusCode() != http.StatusPartialContent || string(d.Body) != "789" {
		t.Errorf("bytes=-3: status %d, body %q", d.StatusCode(), d.Body)
	}
	d = e.download("alice", a.AttachmentId, &agcomv1.GetAttachmentParams{Range: valueOf("bytes=100-200")})
	body := wantError(t, d.HTTPResponse, d.Body, http.StatusRequestedRangeNotSatisfiable, "RangeNotSatisfiable")
	if body.Details == nil || (*body.Details)["size"] != float64(10) || d.HTTPResponse.Header.Get("Content-Range") != "bytes */10" {
		t.Errorf("416: details %v, Content-Range %q", body.Details, d.HTTPResponse.Header.Get("Content-Range"))
	}
	d = e.download("alice", a.AttachmentId, &agcomv1.GetAttachmentParams{IfNoneMatch: &etag})
	if d.StatusCode() != http.StatusNotModified || len(d.Body) != 0 || d.HTTPResponse.Header.Get("ETag") != etag {
		t.Errorf("If-None-Match with the ETag: status %d, body %q", d.StatusCode(), d.Body)
	}
	d = e.download("alice", a.AttachmentId, &agcomv1.GetAttachmentParams{IfNoneMatch: valueOf(`"other"`)})
	if d.StatusCode() != http.StatusOK || !bytes.Equal(d.Body, data) {
		t.Errorf("If-None-Match with another ETag: status %d, body %q", d.StatusCode(), d.Body)
	}
	if h := e.head("alice", a.AttachmentId); h.StatusCode != http.StatusOK || h.Header.Get("Content-Length") != "10" ||
		h.Header.Get("ETag") != etag || h.Header.Get("Content-Disposition") == "" {
		t.Errorf("HEAD: status %d, headers %v", h.StatusCode, h.Header)
	}
	// A compressing client gets the bytes as stored, so the ETag and
	// ranges stay true.
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/attachments/"+a.AttachmentId, nil)
	req.Header.Set("Authorization", "Bearer "+e.token("alice"))
	req.Header.Set("Accept-Encoding", "gzip")
	big := e.uploaded("alice", "big.txt", "text/plain", bytes.Repeat([]byte("compressible "), 1000))
	req.URL.Path = "/api/v1/attachments/" + big.AttachmentId
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Content-Length") != "13000" {
		t.Errorf("with Accept-Encoding: gzip: Content-Encoding %q, Content-Length %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"))
	}
}

func TestAttachmentConcurrentUploads(t *testing.T) {
	const n = 8
	e := newMsgEnv(t, func(c *config.Config) { c.AttachmentQuotaBytes = 3 << 20 })
	files := make([][]byte, n)
	for i := range files {
		files[i] = bytes.Repeat([]byte{byte(i)}, 1<<20)
	}
	got := make([]*agcomv1.UploadAttachmentResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = e.upload("alice", fmt.Sprint("f", i), "", files[i]) })
	}
	wg.Wait()
	stored := 0
	for i, r := range got {
		switch r.StatusCode() {
		case http.StatusCreated:
			stored++
			if d := e.download("alice", r.JSON201.AttachmentId, nil); !bytes.Equal(d.Body, files[i]) {
				t.Errorf("upload %d: downloaded %d bytes, not the ones uploaded", i, len(d.Body))
			}
		case http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("upload %d: status %d, body %s", i, r.StatusCode(), r.Body)
		}
	}
	if stored != 3 {
		t.Errorf("%d concurrent uploads of 1 MiB within a 3 MiB quota: %d stored, want 3", n, stored)
	}
	// Without a quota in the way, every one of them is stored.
	for i := range n {
		wg.Go(func() { got[i] = e.upload(fmt.Sprint("agent", i), "g", "", files[i]) })
	}
	wg.Wait()
	for i, r := range got {
		if r.JSON201 == nil || r.JSON201.Sha256 != sha256Hex(files[i]) {
			t.Errorf("upload %d by its own agent: status %d, body %s", i, r.StatusCode(), r.Body)
		}
	}
}

// attachmentFiles lists the content files under the SQLite store's
// attachments directory.
func attachmentFiles(t *testing.T, e *env) []string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(e.App.Config.DBPath), "attachments")
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Base(filepath.Dir(path)) != "tmp" {
			out = append(out, d.Name())
			if info, err := d.Info(); err == nil && info.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", path, info.Mode().Perm())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAttachmentDedupe: the same bytes uploaded again are stored once,
// as a file named by their sha256 (SQLite) or as the blob an attached
// upload of them holds (PostgreSQL, whose unused copy goes at the next
// pruning); each upload stays its own.
func TestAttachmentDedupe(t *testing.T) {
	e := newMsgEnv(t)
	data := []byte("the same report, twice")
	a := e.uploaded("alice", "one.txt", "text/plain", data)
	if sent := e.sendWith("alice", []string{"carol"}, a.AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	b := e.uploaded("bob", "two.txt", "text/plain", data)
	if a.AttachmentId == b.AttachmentId || a.Sha256 != b.Sha256 {
		t.Errorf("two uploads of the same bytes: %+v, %+v", a, b)
	}
	if testdb.Postgres() {
		if _, err := e.App.Store.PruneAttachments(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := blobRows(t, e); n != 1 {
			t.Errorf("the same bytes uploaded twice are kept as %d blobs, want one", n)
		}
	} else if files := attachmentFiles(t, e); len(files) != 1 || files[0] != a.Sha256 {
		t.Errorf("the same bytes uploaded twice are kept as %v, want one file named %s", files, a.Sha256)
	}
	for who, id := range map[string]string{"alice": a.AttachmentId, "bob": b.AttachmentId, "carol": a.AttachmentId} {
		if d := e.download(who, id, nil); !bytes.Equal(d.Body, data) {
			t.Errorf("%s downloads %q", who, d.Body)
		}
	}
	// Bob's upload is his own: attaching it shows it to his recipient only.
	if sent := e.sendWith("bob", []string{"dave"}, b.AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	if d := e.download("dave", b.AttachmentId, nil); !bytes.Equal(d.Body, data) {
		t.Errorf("dave downloads %q", d.Body)
	}
	if d := e.download("dave", a.AttachmentId, nil); d.StatusCode() != http.StatusNotFound {
		t.Errorf("dave downloads alice's upload of the same bytes: status %d, want 404", d.StatusCode())
	}
}

func TestAttachmentUnattachedAreRemoved(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) { c.AttachmentUnattachedTTL = time.Hour })
	kept := e.uploaded("alice", "kept.txt", "text/plain", []byte("attached"))
	gone := e.uploaded("alice", "gone.txt", "text/plain", []byte("never attached"))
	shared := e.uploaded("bob", "shared.txt", "text/plain", []byte("attached"))
	if sent := e.sendWith("alice", []string{"bob"}, kept.AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	ctx := context.Background()
	if n, err := e.App.Store.PruneAttachments(ctx); err != nil || n != 0 {
		t.Fatalf("prune within the hour: removed %d, %v; want none", n, err)
	}
	later := time.Now().Add(2 * time.Hour)
	e.App.Store.SetClock(func() time.Time { return later })
	n, err := e.App.Store.PruneAttachments(ctx)
	if err != nil || n != 2 {
		t.Fatalf("prune after the hour: removed %d, %v; want 2 (gone.txt and bob's shared.txt)", n, err)
	}
	if d := e.download("alice", gone.AttachmentId, nil); d.StatusCode() != http.StatusNotFound {
		t.Errorf("the unattached upload: status %d, want 404", d.StatusCode())
	}
	if d := e.download("bob", shared.AttachmentId, nil); d.StatusCode() != http.StatusNotFound {
		t.Errorf("bob's unattached upload: status %d, want 404", d.StatusCode())
	}
	if d := e.download("bob", kept.AttachmentId, nil); d.StatusCode() != http.StatusOK || string(d.Body) != "attached" {
		t.Errorf("the attached upload: status %d, body %q", d.StatusCode(), d.Body)
	}
	sent := e.sendWith("alice", []string{"bob"}, gone.AttachmentId)
	wantError(t, sent.HTTPResponse, sent.Body, http.StatusBadRequest, "ValidationError")
	// The quota counts what is kept.
	if used, err := e.App.Store.AttachmentUsage(ctx, "alice"); err != nil || used != int64(len("attached")) {
		t.Errorf("alice's usage after pruning: %d, %v", used, err)
	}
	if !testdb.Postgres() {
		// The file bob's upload shared with the attached one stays; the
		// other goes, as does a temporary file left by a cut-off upload.
		files := attachmentFiles(t, e)
		if len(files) != 1 || files[0] != kept.Sha256 {
			t.Errorf("files after pruning: %v, want only %s", files, kept.Sha256)
		}
	}
}

// TestAttachmentUploadIsStreamed: an upload larger than the request body
// limit of other operations goes through, and a body that stops half-way
// leaves nothing behind.
func TestAttachmentUploadCutOff(t *testing.T) {
	e := newMsgEnv(t)
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		part, _ := w.CreateFormFile("file", "half.bin")
		part.Write(make([]byte, 3<<20))
		pw.CloseWithError(io.ErrUnexpectedEOF) // no closing boundary
	}()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v1/attachments", pr)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.token("alice"))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			t.Fatalf("a cut-off upload was stored: %s", b)
		}
	}
	if used, err := e.App.Store.AttachmentUsage(context.Background(), "alice"); err != nil || used != 0 {
		t.Errorf("usage after a cut-off upload: %d, %v", used, err)
	}
	if !testdb.Postgres() {
		// The client may hear of the cut before the server has cleaned up.
		temporary := func() int {
			tmp, _ := os.ReadDir(filepath.Join(filepath.Dir(e.App.Config.DBPath), "attachments", "tmp"))
			return len(tmp)
		}
		deadline := time.Now().Add(5 * time.Second)
		for (len(attachmentFiles(t, e)) != 0 || temporary() != 0) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if files := attachmentFiles(t, e); len(files) != 0 {
			t.Errorf("a cut-off upload left %v", files)
		}
		if n := temporary(); n != 0 {
			t.Errorf("a cut-off upload left %d temporary files", n)
		}
	}
}

// TestAttachmentUploadAudited: an upload is an audit event of its uploader.
func TestAttachmentUploadAudited(t *testing.T) {
	e := newMsgEnv(t)
	a := e.uploaded("alice", "audited.txt", "text/plain", []byte("x"))
	typ := agcomv1.AuditEventType(agcom.EventAttachmentUpload)
	p := auditEvents(t, e.client("alice"), agcomv1.ListAuditEventsParams{EventType: &typ})
	if len(p.Events) != 1 {
		t.Fatalf("alice's upload events: %+v", p.Events)
	}
	details, _ := json.Marshal(p.Events[0].Details)
	if !strings.Contains(string(details), a.AttachmentId) || !strings.Contains(string(details), a.Sha256) {
		t.Errorf("the event's details %s do not name the upload", details)
	}
}

// TestAttachmentDeniedDownloadAudited: a download refused to an outsider
// is audited for the uploader and admins, and the outsider's own trail
// does not show it (which would tell it the upload exists).
func TestAttachmentDeniedDownloadAudited(t *testing.T) {
	e := newMsgEnv(t, withAdmin(rootHandle, rootSecret))
	a := e.uploaded("alice", "secret.txt", "text/plain", []byte("x"))
	e.download("mallory", a.AttachmentId, nil)
	e.download("mallory", "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", nil) // no such upload: nothing to audit
	typ := agcomv1.AuditEventType(agcom.EventAttachmentDownloadDenied)
	for who, want := range map[string]int{"alice": 1, rootHandle: 1, "mallory": 0} {
		p := auditEvents(t, e.client(who), agcomv1.ListAuditEventsParams{EventType: &typ})
		if len(p.Events) != want {
			t.Errorf("%s sees %d denied downloads, want %d: %+v", who, len(p.Events), want, p.Events)
			continue
		}
		if want == 1 {
			ev := p.Events[0]
			if ev.ActorHandle != nil || ev.TargetHandle == nil || *ev.TargetHandle != "alice" ||
				ev.Details["attachment_id"] != a.AttachmentId || ev.Details["requested_by"] != "mallory" {
				t.Errorf("%s sees %+v", who, ev)
			}
		}
	}
	if p := auditEvents(t, e.client("mallory"), agcomv1.ListAuditEventsParams{}); strings.Contains(fmt.Sprint(p.Events), a.AttachmentId) {
		t.Errorf("mallory's own trail names the upload: %+v", p.Events)
	}
}

// TestAttachmentUploadsAreStreamed: 20 clients uploading 25 MiB files at
// once do not make the server hold their files: the heap grows by far
// less than the 500 MiB they send (a server that held them grew by twice
// that). The server runs in this process, and the clients stream one
// shared buffer, so the heap is the server's: its buffers (1 MiB per
// PostgreSQL upload and connection) and garbage not yet collected.
func TestAttachmentUploadsAreStreamed(t *testing.T) {
	const clients, size = 20, agcom.DefaultAttachmentBytes
	e := newMsgEnv(t)
	grew := uploadsAtOnce(t, e, clients, size)
	if limit := int64(clients*size) / 2; grew > limit {
		t.Errorf("%d uploads of %d MiB grew the heap by %d MiB, more than %d MiB: the files are held in memory",
			clients, size>>20, grew>>20, limit>>20)
	}
	t.Logf("%d uploads of %d MiB: heap grew by %d MiB", clients, size>>20, grew>>20)
}

// uploadsAtOnce has clients agents upload a file of size bytes each, all
// at once, streamed from one shared buffer, fails the test unless every
// upload is stored, and returns how much the heap grew at its peak over
// what it held before.
func uploadsAtOnce(t *testing.T, e *env, clients, size int) int64 {
	t.Helper()
	data := bytes.Repeat([]byte("streamed "), size/9)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var (
		peak atomic.Uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	var wg sync.WaitGroup
	statuses := make([]int, clients)
	for i := range clients {
		wg.Go(func() {
			pr, pw := io.Pipe()
			w := multipart.NewWriter(pw)
			go func() {
				part, err := w.CreateFormFile("file", "big.txt")
				if err == nil {
					_, err = part.Write(data)
				}
				if err == nil {
					err = w.Close()
				}
				pw.CloseWithError(err)
			}()
			resp, err := e.client(fmt.Sprint("uploader", i)).UploadAttachmentWithBody(context.Background(), w.FormDataContentType(), pr)
			if err != nil {
				t.Errorf("upload %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	close(stop)
	<-done
	for i, s := range statuses {
		if s != http.StatusCreated {
			t.Errorf("upload %d: status %d", i, s)
		}
	}
	return int64(peak.Load()) - int64(before.HeapInuse)
}

// TestBackupIncludesAttachments: a backup holds the files its uploads
// refer to; restored with ATTACHMENTS_DIR naming them, every attached file
// downloads as it was.
func TestBackupIncludesAttachments(t *testing.T) {
	testdb.SQLiteOnly(t, "a PostgreSQL database, attachments included, is backed up with pg_dump")
	e := newMsgEnv(t)
	data := []byte("backed up bytes")
	a := e.uploaded("alice", "b.txt", "text/plain", data)
	if sent := e.sendWith("alice", []string{"bob"}, a.AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d", sent.StatusCode())
	}
	unattached := e.uploaded("alice", "u.txt", "text/plain", []byte("not attached"))

	dir := t.TempDir()
	apiCopy := filepath.Join(dir, "store-backup.db")
	if err := e.App.Store.(*sqlite.Store).Backup(t.Context(), apiCopy); err != nil {
		t.Fatalf("Store.Backup: %v", err)
	}
	cliCopy := filepath.Join(dir, "cli-backup.db")
	if out, code := hardRunBackupCLI(t, e.App.Config.DBPath, "--to", cliCopy); code != 0 || !strings.Contains(out, sqlite.BackupFilesDir(cliCopy)) {
		t.Fatalf("agcomd backup: exit %d: %s", code, out)
	}
	if err := e.App.Store.(*sqlite.Store).Backup(t.Context(), filepath.Join(dir, "cli-backup.db")); err == nil {
		t.Errorf("a backup onto an existing one: no error")
	}
	for _, path := range []string{apiCopy, cliCopy} {
		restored := newMsgEnv(t, func(c *config.Config) {
			c.DBPath, c.AttachmentsDir = path, sqlite.BackupFilesDir(path)
		})
		for _, c := range []struct {
			who, id string
			want    []byte
		}{{"bob", a.AttachmentId, data}, {"alice", unattached.AttachmentId, []byte("not attached")}} {
			if d := restored.download(c.who, c.id, nil); d.StatusCode() != http.StatusOK || !bytes.Equal(d.Body, c.want) {
				t.Errorf("%s: %s downloads %s from the restored copy: status %d, %q", path, c.who, c.id, d.StatusCode(), d.Body)
			}
		}
	}
}

// TestCrashMidUpload: a server killed while a file streams in keeps no
// trace of it that could be served (no upload, no file under a content
// name), and the uploads it had stored survive the restart whole.
func TestCrashMidUpload(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "agcom.db")
	p := hardStartAgcomd(t, dbPath)
	keys, err := auth.NewKeys(testSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := keys.Mint("alice", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	client := func(url string) *agcomv1.ClientWithResponses {
		c, err := agcomv1.NewClientWithResponses(url+"/api/v1", agcomv1.WithRequestEditorFn(
			func(_ context.Context, req *http.Request) error {
				req.Header.Set("Authorization", "Bearer "+tok)
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	whole := bytes.Repeat([]byte("whole "), 1<<20)
	body, ct := multipartFile(t, "whole.bin", "", whole)
	up, err := client(p.url).UploadAttachmentWithBodyWithResponse(t.Context(), ct, body)
	if err != nil || up.JSON201 == nil {
		t.Fatalf("upload before the crash: %v %v", err, up.Status())
	}

	// Half a file in, then the server dies.
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		part, _ := w.CreateFormFile("file", "half.bin")
		part.Write(bytes.Repeat([]byte("half "), 1<<20))
		time.Sleep(300 * time.Millisecond) // the server is writing it now
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Errorf("kill: %v", err)
		}
		p.hardWaitExit(t, 5*time.Second)
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}()
	if resp, err := client(p.url).UploadAttachmentWithBody(t.Context(), w.FormDataContentType(), pr); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			t.Fatalf("the cut-off upload was stored")
		}
	}

	p2 := hardStartAgcomd(t, dbPath)
	c := client(p2.url)
	typ := agcomv1.AuditEventType(agcom.EventAttachmentUpload)
	events := auditEvents(t, c, agcomv1.ListAuditEventsParams{EventType: &typ})
	if len(events.Events) != 1 || events.Events[0].Details["attachment_id"] != up.JSON201.AttachmentId {
		t.Errorf("uploads after the restart: %+v, want only the one made before the crash", events.Events)
	}
	d, err := c.GetAttachmentWithResponse(t.Context(), up.JSON201.AttachmentId, nil)
	if err != nil || d.StatusCode() != http.StatusOK || !bytes.Equal(d.Body, whole) {
		t.Errorf("the upload made before the crash: status %v, %d bytes (%v)", d.StatusCode(), len(d.Body), err)
	}
	if !testdb.Postgres() {
		var content []string
		filepath.WalkDir(filepath.Join(filepath.Dir(dbPath), "attachments"), func(path string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && filepath.Base(filepath.Dir(path)) != "tmp" {
				content = append(content, e.Name())
			}
			return nil
		})
		if len(content) != 1 || content[0] != up.JSON201.Sha256 {
			t.Errorf("files under content names after the crash: %v, want only %s", content, up.JSON201.Sha256)
		}
	}
}
