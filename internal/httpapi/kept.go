package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// keptJSON is a 200 answer to a list whose store keeps it in memory (its
// Memo is set). The first request for the answer encodes it, and
// compresses it when compress would; the bytes are kept with the answer,
// and later requests for it write them as they are. Headers and bytes are
// those the generated response type and the compress wrapper would write.
// Without a memo it encodes every time.
type keptJSON struct {
	memo *agcom.Memo
	kind string     // the operation, since one answer can serve two
	gzip bool       // the client gets gzip (requestInfo.gzip)
	body func() any // the generated 200 response, built only to encode it
}

func newKeptJSON(ctx context.Context, memo *agcom.Memo, kind string, body func() any) keptJSON {
	return keptJSON{memo: memo, kind: kind, gzip: requestInfoFrom(ctx).gzip, body: body}
}

func (k keptJSON) write(w http.ResponseWriter) error {
	kind := k.kind
	if k.gzip {
		kind += " gzip"
	}
	b := k.memo.Load(kind)
	if b == nil {
		var err error
		if b, err = k.encode(); err != nil {
			return err
		}
		k.memo.Store(kind, b)
	}
	w.Header().Set("Content-Type", "application/json")
	if isGzip(b) {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}

// encode returns the JSON, gzipped when the client gets gzip and it is
// large enough for compress to gzip it.
func (k keptJSON) encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(k.body()); err != nil {
		return nil, err
	}
	if !k.gzip || buf.Len() < gzhttp.DefaultMinSize {
		return buf.Bytes(), nil
	}
	var zipped bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&zipped)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return zipped.Bytes(), nil
}

// gzipWriters are reused: a compressor's state is far larger than a page.
var gzipWriters = sync.Pool{New: func() any {
	zw, err := gzip.NewWriterLevel(io.Discard, compressLevel)
	if err != nil {
		panic(err) // the level is constant
	}
	return zw
}}

// isGzip tells gzip bytes from JSON, which never starts with gzip's magic.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

func (k keptJSON) VisitListThreadsResponse(w http.ResponseWriter) error        { return k.write(w) }
func (k keptJSON) VisitListMessagesResponse(w http.ResponseWriter) error       { return k.write(w) }
func (k keptJSON) VisitListThreadMessagesResponse(w http.ResponseWriter) error { return k.write(w) }
func (k keptJSON) VisitListInboxResponse(w http.ResponseWriter) error          { return k.write(w) }
func (k keptJSON) VisitListAuditEventsResponse(w http.ResponseWriter) error    { return k.write(w) }
func (k keptJSON) VisitListContactsResponse(w http.ResponseWriter) error       { return k.write(w) }
func (k keptJSON) VisitSearchContactsResponse(w http.ResponseWriter) error     { return k.write(w) }

var (
	_ agcomv1.ListThreadsResponseObject        = keptJSON{}
	_ agcomv1.ListMessagesResponseObject       = keptJSON{}
	_ agcomv1.ListThreadMessagesResponseObject = keptJSON{}
	_ agcomv1.ListInboxResponseObject          = keptJSON{}
	_ agcomv1.ListAuditEventsResponseObject    = keptJSON{}
	_ agcomv1.ListContactsResponseObject       = keptJSON{}
	_ agcomv1.SearchContactsResponseObject     = keptJSON{}
)
