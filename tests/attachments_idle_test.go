package tests

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/config"
)

// idleEnv is a server that cuts off transfers standing still for a second.
func idleEnv(t *testing.T) *env {
	return newMsgEnv(t, func(c *config.Config) { c.AttachmentIdleTimeout = time.Second })
}

// slowUpload posts a multipart upload as alice whose file part is written
// by fill, and returns the answer's status and body.
func slowUpload(t *testing.T, e *env, fill func(part io.Writer) error) (int, []byte) {
	t.Helper()
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		part, err := w.CreateFormFile("file", "slow.bin")
		if err == nil {
			err = fill(part)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/api/v1/attachments", pr)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.token("alice"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestAttachmentUploadStandingStillIsCutOff: an upload whose body stops
// moving for ATTACHMENT_IDLE_TIMEOUT is 408 RequestTimeout, in the error
// envelope with the limit, and nothing of it is kept.
func TestAttachmentUploadStandingStillIsCutOff(t *testing.T) {
	e := idleEnv(t)
	stalled := make(chan struct{})
	t.Cleanup(func() { close(stalled) })
	status, body := slowUpload(t, e, func(part io.Writer) error {
		if _, err := part.Write(make([]byte, 1<<20)); err != nil {
			return err
		}
		<-stalled
		return errors.New("the test ended")
	})
	if status != http.StatusRequestTimeout {
		t.Fatalf("a stalled upload: status %d, body %s", status, body)
	}
	var env struct {
		Error struct {
			Type    string         `json:"type"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("408 body %s: %v", body, err)
	}
	if env.Error.Type != string(agcom.ETIMEOUT) || env.Error.Details["limit"] != agcom.LimitAttachmentIdle ||
		env.Error.Details["idle_seconds"] != float64(1) {
		t.Errorf("408 envelope: %s", body)
	}
	if used, err := e.App.Store.AttachmentUsage(context.Background(), "alice"); err != nil || used != 0 {
		t.Errorf("usage after a stalled upload: %d, %v", used, err)
	}
}

// TestAttachmentUploadThatKeepsMovingOutlastsTheIdleTimeout: the idle
// timeout bounds each pause, not the whole upload.
func TestAttachmentUploadThatKeepsMovingOutlastsTheIdleTimeout(t *testing.T) {
	e := idleEnv(t)
	start := time.Now()
	status, body := slowUpload(t, e, func(part io.Writer) error {
		for range 8 {
			if _, err := part.Write(make([]byte, 4<<10)); err != nil {
				return err
			}
			time.Sleep(300 * time.Millisecond)
		}
		return nil
	})
	if status != http.StatusCreated {
		t.Fatalf("an upload that keeps moving for %v: status %d, body %s", time.Since(start), status, body)
	}
}

// TestAttachmentDownloadStandingStillIsCutOff: a download whose client
// stops reading is cut off after the idle timeout, short of its length.
func TestAttachmentDownloadStandingStillIsCutOff(t *testing.T) {
	e := idleEnv(t)
	a := e.uploaded("alice", "big.bin", "", make([]byte, agcom.DefaultAttachmentBytes))
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/attachments/"+a.AttachmentId, nil)
	req.Header.Set("Authorization", "Bearer "+e.token("alice"))
	// A fixed receive buffer: the kernel's autotuning would otherwise take
	// in the whole file while the client stands still.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10) })
		return err
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != a.Size {
		t.Fatalf("download: status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil || int64(len(head))+n >= a.Size {
		t.Errorf("a download that stood still for 3 s with a 1 s idle timeout got %d of %d bytes (err %v)",
			int64(len(head))+n, a.Size, err)
	}
}
