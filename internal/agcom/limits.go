package agcom

import (
	"fmt"
	"time"
)

// Defaults of the Limits a store enforces.
const (
	DefaultMetadataKeys    = 50
	DefaultMetadataBytes   = 16 << 10
	DefaultSearchScanBytes = 64 << 20
)

// Limits bound what one caller can make a store hold or do. A field that
// is zero (or less) takes its default.
type Limits struct {
	// MetadataKeys bounds the keys of one thread's metadata.
	MetadataKeys int
	// MetadataBytes bounds the size of one thread's metadata: the bytes of
	// its keys plus its values, in UTF-8.
	MetadataBytes int
	// SearchScanBytes bounds the bytes of candidate subjects and bodies one
	// message search reads before it stops and answers what it found.
	SearchScanBytes int64
	// APIKeysPerAgent bounds the API keys one agent holds.
	APIKeysPerAgent int
	// AttachmentBytes bounds one upload.
	AttachmentBytes int64
	// AttachmentQuotaBytes bounds the bytes of one agent's uploads.
	AttachmentQuotaBytes int64
	// UnattachedTTL is how long an upload no message carries is kept.
	UnattachedTTL time.Duration
}

// WithDefaults returns l with every unset field at its default.
func (l Limits) WithDefaults() Limits {
	if l.MetadataKeys <= 0 {
		l.MetadataKeys = DefaultMetadataKeys
	}
	if l.MetadataBytes <= 0 {
		l.MetadataBytes = DefaultMetadataBytes
	}
	if l.SearchScanBytes <= 0 {
		l.SearchScanBytes = DefaultSearchScanBytes
	}
	if l.APIKeysPerAgent <= 0 {
		l.APIKeysPerAgent = DefaultAPIKeysPerAgent
	}
	if l.AttachmentBytes <= 0 {
		l.AttachmentBytes = DefaultAttachmentBytes
	}
	if l.AttachmentQuotaBytes <= 0 {
		l.AttachmentQuotaBytes = DefaultAttachmentQuotaBytes
	}
	if l.UnattachedTTL <= 0 {
		l.UnattachedTTL = DefaultUnattachedTTL
	}
	return l
}

// MetadataUsage is what one thread's metadata holds.
type MetadataUsage struct {
	Keys  int
	Bytes int // keys plus values, in UTF-8
}

// The names of the metadata limits in an error's details.
const (
	LimitMetadataKeys  = "metadata_keys_per_thread"
	LimitMetadataBytes = "metadata_bytes_per_thread"
)

// CheckMetadataWrite returns a ValidationError when setting key to value
// (nil removes it) on a thread whose metadata holds before, and where key
// now has the value old (nil: not set), would take the metadata over one
// of l's limits. A write that does not grow what it would exceed passes:
// removing a key always does, and a thread over a lowered limit can
// shrink.
func (l Limits) CheckMetadataWrite(before MetadataUsage, key string, old, value *string) error {
	l = l.WithDefaults()
	after := before
	if old != nil {
		after.Keys--
		after.Bytes -= len(key) + len(*old)
	}
	if value != nil {
		after.Keys++
		after.Bytes += len(key) + len(*value)
	}
	if after.Keys > l.MetadataKeys && after.Keys > before.Keys {
		return &Error{
			Code:    EINVALID,
			Message: fmt.Sprintf("key: a thread holds at most %d metadata keys and this one has %d; remove one first", l.MetadataKeys, before.Keys),
			Details: map[string]any{"field": "key", "limit": LimitMetadataKeys, "max": l.MetadataKeys, "current": before.Keys},
		}
	}
	if after.Bytes > l.MetadataBytes && after.Bytes > before.Bytes {
		return &Error{
			Code: EINVALID,
			Message: fmt.Sprintf("value: a thread's metadata holds at most %d bytes of keys and values; it has %d and would have %d",
				l.MetadataBytes, before.Bytes, after.Bytes),
			Details: map[string]any{"field": "value", "limit": LimitMetadataBytes, "max": l.MetadataBytes, "current": before.Bytes, "after": after.Bytes},
		}
	}
	return nil
}
