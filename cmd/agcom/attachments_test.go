package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

func TestAttachments(t *testing.T) {
	s := newServer(t)
	alice, bob := s.as(t, "alice"), s.as(t, "bob")
	dir := t.TempDir()
	report := filepath.Join(dir, "report, final.csv")
	data := bytes.Repeat([]byte("a,b,c\n"), 10_000)
	if err := os.WriteFile(report, data, 0o600); err != nil {
		t.Fatal(err)
	}

	var sent agcomv1.Message
	alice.json(&sent, "send", "bob", "-s", "Numbers", "-m", "attached", "--attach", report)
	if sent.Attachments == nil || len(*sent.Attachments) != 1 || (*sent.Attachments)[0].Filename != "report, final.csv" {
		t.Fatalf("send --attach = %+v", sent.Attachments)
	}
	id := (*sent.Attachments)[0].AttachmentId

	wantContains(t, "view", bob.ok("view", sent.ThreadId), "report, final.csv (60000 bytes, text/csv; charset=utf-8): agcom attachment get "+id)

	out := filepath.Join(dir, "got.csv")
	wantContains(t, "attachment get", bob.ok("attachment", "get", id, "-o", out), "Saved 60000 bytes to "+out)
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the downloaded file holds %d bytes (%v), want the %d sent", len(got), err, len(data))
	}
	if got := bob.ok("attachment", "get", id, "-o", "-"); got != string(data) {
		t.Errorf("attachment get -o - wrote %d bytes", len(got))
	}

	missing := filepath.Join(dir, "carol.csv")
	carol := s.as(t, "carol")
	wantContains(t, "an outsider's get", carol.fails(4, "attachment", "get", id, "-o", missing), "no such attachment")
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a refused download left %s", missing)
	}

	var up agcomv1.Attachment
	bob.json(&up, "attachment", "put", out)
	var reply agcomv1.Message
	bob.json(&reply, "reply", sent.MessageId, "-m", "checked", "--attach", out)
	if reply.Attachments == nil || (*reply.Attachments)[0].Sha256 != up.Sha256 {
		t.Errorf("reply --attach = %+v", reply.Attachments)
	}
}
