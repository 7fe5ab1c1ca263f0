package agcom

import (
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Attachment limits. Each is the bound openapi.yaml gives the field it
// checks (contract_test.go fails when the two differ).
const (
	MaxAttachments        = 10
	MaxFilenameLen        = 255
	MaxContentTypeLen     = 255
	DefaultAttachmentType = "application/octet-stream"
	// fallbackFilename names an upload whose part has no usable filename.
	fallbackFilename = "attachment"
)

// Defaults of the attachment settings.
const (
	DefaultAttachmentBytes      = 25 << 20
	DefaultAttachmentQuotaBytes = 1 << 30
	DefaultUnattachedTTL        = 24 * time.Hour
)

// The names of the attachment limits in an error's details.
const (
	LimitAttachmentBytes = "max_attachment_bytes"
	LimitAttachmentQuota = "attachment_quota_bytes"
	LimitAttachmentIdle  = "attachment_idle_timeout"
)

// DefaultAttachmentIdle is how long an upload or a download may stand
// still before it is cut off.
const DefaultAttachmentIdle = 30 * time.Second

// IdleError is the 408 of an upload whose body stood still for idle.
func IdleError(idle time.Duration) *Error {
	secs := int64(idle / time.Second)
	return &Error{
		Code:    ETIMEOUT,
		Message: fmt.Sprintf("the upload sent nothing for %d seconds; nothing was kept", secs),
		Details: map[string]any{"limit": LimitAttachmentIdle, "idle_seconds": secs},
	}
}

// Audit events of attachments: an upload, and a download refused to an
// agent that may not see the upload.
const (
	EventAttachmentUpload         = "attachment_upload"
	EventAttachmentDownloadDenied = "attachment_download_denied"
)

// Attachment is an uploaded file. Its bytes never change: a message
// carries a copy of these fields.
type Attachment struct {
	ID          string
	Filename    string
	ContentType string
	Size        int64
	SHA256      string // lowercase hex
	CreatedAt   time.Time
	// Uploader is the agent that uploaded it, the only one that may
	// attach it.
	Uploader string
	// Blob is where the store keeps the bytes (see Blobs).
	Blob string
}

// NewAttachment is an upload as a client sends it.
type NewAttachment struct {
	Filename    string
	ContentType string
	Body        io.Reader
}

// Blob is the stored bytes of an upload.
type Blob struct {
	// Key finds the bytes again (Blobs.OpenBlob).
	Key    string
	Size   int64
	SHA256 string // lowercase hex
}

// Blobs keeps attachments' bytes. A blob no attachment refers to is
// removed by the store's pruning once it is older than the unattached
// time, so a blob whose attachment was never stored costs nothing for
// long.
type Blobs interface {
	// PutBlob streams r into storage, hashing it on the way, and returns
	// the blob once it is durable; a read error of r is returned as is,
	// and nothing is kept.
	PutBlob(ctx context.Context, r io.Reader) (Blob, error)
	// OpenBlob opens the bytes kept under key.
	OpenBlob(ctx context.Context, key string) (io.ReadSeekCloser, error)
}

// AttachmentStore is what the attachment use cases need of a store
// besides its write transactions.
type AttachmentStore interface {
	Blobs
	// AttachmentLimits are the limits the store was opened with.
	AttachmentLimits() Limits
	// AttachmentUsage returns the bytes handle's uploads hold.
	AttachmentUsage(ctx context.Context, handle string) (int64, error)
	// VisibleAttachment returns the attachment id if the caller uploaded
	// it, is an admin, or can see a message that carries it; ENOTFOUND
	// otherwise.
	VisibleAttachment(ctx context.Context, caller Caller, id string) (Attachment, error)
	// AttachmentUploader returns who uploaded the attachment id;
	// ENOTFOUND when there is no such upload.
	AttachmentUploader(ctx context.Context, id string) (string, error)
}

// AttachmentTx persists uploads and what carries them.
type AttachmentTx interface {
	// AttachmentUsage returns the bytes handle's uploads hold.
	AttachmentUsage(handle string) (int64, error)
	// InsertAttachment stores a, filling in its id and time.
	InsertAttachment(a *Attachment) error
	// OwnAttachments returns those of ids that are uploads of handle, in
	// any order.
	OwnAttachments(handle string, ids []string) ([]Attachment, error)
	// LinkAttachments records that the message msg, stored with
	// msg.Attachments, carries them.
	LinkAttachments(msg Message) error
}

// WithAttachments returns s with uploads and downloads kept by a.
func (s *Service) WithAttachments(a AttachmentStore) *Service {
	s.att = a
	return s
}

// Upload stores the file f as an upload of the caller's. Returns
// ETOOLARGE when it is over the size limit or the caller's quota.
func (s *Service) Upload(ctx context.Context, caller Caller, f NewAttachment) (Attachment, error) {
	if s.att == nil {
		return Attachment{}, Errorf(EUNAVAILABLE, "this server keeps no attachments")
	}
	lim := s.att.AttachmentLimits().WithDefaults()
	used, err := s.att.AttachmentUsage(ctx, caller.Handle)
	if err != nil {
		return Attachment{}, err
	}
	body := &cappedReader{r: f.Body, max: lim.AttachmentBytes, room: lim.AttachmentQuotaBytes - used, quota: lim.AttachmentQuotaBytes}
	blob, err := s.att.PutBlob(ctx, body)
	if err != nil {
		return Attachment{}, err
	}
	a := Attachment{
		Filename: CleanFilename(f.Filename), ContentType: cleanContentType(f.ContentType),
		Size: blob.Size, SHA256: blob.SHA256, Uploader: caller.Handle, Blob: blob.Key,
	}
	err = s.w.Write(ctx, func(tx Tx) error {
		// Uploads streamed side by side each saw the room left before
		// them: the sum is checked here, where they take turns.
		used, err := tx.AttachmentUsage(caller.Handle)
		if err != nil {
			return err
		}
		if used+a.Size > lim.AttachmentQuotaBytes {
			return quotaError(lim.AttachmentQuotaBytes, used)
		}
		if err := tx.InsertAttachment(&a); err != nil {
			return err
		}
		return tx.Audit(EventAttachmentUpload, caller.Handle, nil, map[string]any{
			"attachment_id": a.ID, "filename": a.Filename, "content_type": a.ContentType,
			"size": a.Size, "sha256": a.SHA256,
		})
	})
	return a, err
}

// OpenAttachment returns the attachment id and its bytes, if the caller
// may see it; ENOTFOUND otherwise. The caller closes the reader.
func (s *Service) OpenAttachment(ctx context.Context, caller Caller, id string) (Attachment, io.ReadSeekCloser, error) {
	if s.att == nil {
		return Attachment{}, nil, Errorf(ENOTFOUND, "attachment not found")
	}
	a, err := s.att.VisibleAttachment(ctx, caller, id)
	if ErrorCode(err) == ENOTFOUND {
		s.auditDenied(ctx, caller, id)
	}
	if err != nil {
		return Attachment{}, nil, err
	}
	r, err := s.att.OpenBlob(ctx, a.Blob)
	return a, r, err
}

// auditDenied records that the caller asked for the upload id, which it
// may not see, when there is such an upload. The entry names the caller
// in its details, not as its actor: the caller must not find it in its
// own audit trail, which would tell it that the id exists. Its target,
// the uploader, and admins see it. The answer is the same 404 whatever
// happens here, so a failure to record is not the caller's to hear of.
func (s *Service) auditDenied(ctx context.Context, caller Caller, id string) {
	uploader, err := s.att.AttachmentUploader(ctx, id)
	if err != nil {
		return
	}
	_ = s.w.Write(ctx, func(tx Tx) error {
		return tx.Audit(EventAttachmentDownloadDenied, "", []string{uploader}, map[string]any{
			"attachment_id": id, "requested_by": caller.Handle,
		})
	})
}

// attach returns the caller's uploads ids, checked, for a new message; it
// reads only, so a refusal leaves nothing to undo.
func attach(tx Tx, caller Caller, ids []string) ([]Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	own, err := tx.OwnAttachments(caller.Handle, ids)
	if err != nil {
		return nil, err
	}
	found := make(map[string]Attachment, len(own))
	for _, a := range own {
		found[a.ID] = a
	}
	out := make([]Attachment, 0, len(ids))
	for _, id := range ids {
		a, ok := found[id]
		if !ok {
			return nil, unknownAttachment(id)
		}
		out = append(out, a)
	}
	return out, nil
}

// linkAttachments records the message's attachments, if it has any.
func linkAttachments(tx Tx, msg Message) error {
	if len(msg.Attachments) == 0 {
		return nil
	}
	return tx.LinkAttachments(msg)
}

// quotaError is the 413 of an upload over the agent's quota.
func quotaError(quota, used int64) *Error {
	room := max(quota-used, 0)
	return &Error{
		Code:    ETOOLARGE,
		Message: fmt.Sprintf("the upload would take your attachments over their quota of %d bytes; %d bytes are left", quota, room),
		Details: map[string]any{"limit": LimitAttachmentQuota, "quota_bytes": quota, "used_bytes": used, "remaining_bytes": room},
	}
}

// sizeError is the 413 of an upload over the size limit.
func sizeError(max int64) *Error {
	return &Error{
		Code:    ETOOLARGE,
		Message: fmt.Sprintf("an attachment holds at most %d bytes", max),
		Details: map[string]any{"limit": LimitAttachmentBytes, "max_bytes": max},
	}
}

// cappedReader fails, with the 413 the caller should get, as soon as the
// body passes the size limit or the room left in the quota: the store
// stops writing there instead of after the whole body.
type cappedReader struct {
	r           io.Reader
	n           int64
	max         int64
	room, quota int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case c.n > c.max:
		return 0, sizeError(c.max)
	case c.n > c.room:
		return 0, quotaError(c.quota, c.quota-c.room)
	}
	return n, err
}

// CleanFilename returns the last path element of name, without control
// characters, at most MaxFilenameLen characters; "attachment" when nothing
// is left.
func CleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\\' {
			return '/'
		}
		return r
	}, name)
	name = strings.TrimSpace(path.Base("/" + name))
	if name == "/" || name == "." || name == ".." || name == "" {
		return fallbackFilename
	}
	if utf8.RuneCountInString(name) > MaxFilenameLen {
		name = string([]rune(name)[:MaxFilenameLen])
	}
	return name
}

// cleanContentType is ct, or DefaultAttachmentType when it is empty or
// longer than the contract allows; the API has parsed it already.
func cleanContentType(ct string) string {
	if ct == "" || len(ct) > MaxContentTypeLen || !utf8.ValidString(ct) {
		return DefaultAttachmentType
	}
	return ct
}

// normalizeAttachmentIDs checks ids and drops duplicates, order kept.
func normalizeAttachmentIDs(ids []string) ([]string, error) {
	if len(ids) > MaxAttachments {
		return nil, Invalid("attachment_ids", "at most %d attachments", MaxAttachments)
	}
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		if !validID(id) {
			return nil, Invalid(fmt.Sprintf("attachment_ids[%d]", i), "must be an attachment id")
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// validID reports whether s is a ULID as the API writes it.
func validID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}

// unknownAttachment is the refusal of an id that is not one of the
// caller's uploads; it does not say whether someone else's exists.
func unknownAttachment(id string) *Error {
	return &Error{
		Code:    EINVALID,
		Message: fmt.Sprintf("attachment_ids: %s is not one of your uploads", id),
		Details: map[string]any{"field": "attachment_ids", "attachment_id": id},
	}
}
