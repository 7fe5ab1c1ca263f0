package sdk_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

func TestAttachmentUploadAndDownload(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	alice, bob := s.client(t, "alice"), s.client(t, "bob")
	data := bytes.Repeat([]byte("report line\n"), 100_000)
	path := filepath.Join(t.TempDir(), "report.txt")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := alice.UploadFile(ctx, path)
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	if a.Filename != "report.txt" || a.ContentType != "text/plain; charset=utf-8" || a.Size != int64(len(data)) {
		t.Errorf("uploaded %+v", a)
	}
	ids := []string{a.AttachmentId}
	if _, err := alice.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "r", Body: "b", AttachmentIds: &ids}); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	n, err := bob.DownloadAttachment(ctx, a.AttachmentId, &got)
	if err != nil || n != int64(len(data)) || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("DownloadAttachment: %d bytes, %v", n, err)
	}
	if _, err := s.client(t, "carol").DownloadAttachment(ctx, a.AttachmentId, &got); !sdk.IsNotFound(err) {
		t.Errorf("an outsider's download: %v, want not found", err)
	}
}

// TestAttachmentUploadRetried: an upload from a file that is refused for
// a rate limit is sent again, whole.
func TestAttachmentUploadRetried(t *testing.T) {
	s := newServer(t)
	refused := false
	s.setInject(func(r *http.Request) (int, string, bool) {
		if r.Method == http.MethodPost && !refused {
			refused = true
			return http.StatusTooManyRequests, `{"error":{"type":"RateLimitExceeded","message":"slow down","request_id":"x","retry_after":1}}`, true
		}
		return 0, "", false
	})
	alice := s.client(t, "alice")
	sdk.SetSleep(alice, func(context.Context, time.Duration) error { return nil })
	data := []byte("retried bytes")
	a, err := alice.UploadAttachment(t.Context(), "r.bin", "", bytes.NewReader(data))
	if err != nil || !refused || a.Size != int64(len(data)) || a.ContentType != "application/octet-stream" {
		t.Fatalf("upload after a 429: %+v, %v (refused once: %v)", a, err, refused)
	}
	var got bytes.Buffer
	if _, err := alice.DownloadAttachment(t.Context(), a.AttachmentId, &got); err != nil || got.String() != string(data) {
		t.Errorf("download: %q, %v", got.String(), err)
	}
}
