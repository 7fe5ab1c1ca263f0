package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"weak"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"

	"github.com/agcom/agcom/gen/agcomv1"
)

// Encodings of list answers, kept.
//
// A store read through a cache (internal/store/cache) gives every request
// for an answer the same value while it is current: the same items, in
// the same array. Encoding and gzipping such a page again costs more than
// the rest of answering it from memory, so the API keeps the bytes under
// the answer's identity: a weak pointer to its first item, which names
// that array while it lives and never another after it, and keeps nothing
// alive. Neither the domain value nor the store knows of the bytes.
type encodings = lru.Cache[encodingKey, []byte]

type encodingKey struct {
	first any // weak.Pointer to the answer's first item
	n     int // the answer's length
	op    string
	gzip  bool
}

// maxKeptEncoding bounds an encoding kept: twice the text of the largest
// answer the store's cache keeps (cache.MaxKeptText), for the JSON around it.
const maxKeptEncoding = 32 << 10

func newEncodings(size int) (*encodings, error) {
	if size <= 0 {
		return nil, nil
	}
	return lru.New[encodingKey, []byte](size)
}

// listJSON is a 200 answer to a list read: the generated response that
// body builds, encoded as it would encode itself, and compressed when
// compress would; encoded once for an answer the store shares, when the
// server keeps encodings.
type listJSON struct {
	kept *encodings // nil: encode every time
	key  encodingKey
	gzip bool       // the client gets gzip (requestInfo.gzip)
	body func() any // the generated 200 response, built only to encode it
}

// newListJSON returns the answer to op built by body from items, the
// list's items as the store returned them.
func newListJSON[T any](ctx context.Context, s *Server, op string, items []T, body func() any) listJSON {
	l := listJSON{gzip: requestInfoFrom(ctx).gzip, body: body}
	if s.encodings != nil && len(items) > 0 {
		l.kept = s.encodings
		l.key = encodingKey{first: weak.Make(&items[0]), n: len(items), op: op, gzip: l.gzip}
	}
	return l
}

func (l listJSON) write(w http.ResponseWriter) error {
	var b []byte
	if l.kept != nil {
		b, _ = l.kept.Get(l.key)
	}
	if b == nil {
		var err error
		if b, err = l.encode(); err != nil {
			return err
		}
		if l.kept != nil && len(b) <= maxKeptEncoding {
			l.kept.Add(l.key, b)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if isGzip(b) {
		// compress passes on a body that has an encoding already.
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}

// encode returns the JSON, gzipped when the client gets gzip and it is
// large enough for compress to gzip it.
func (l listJSON) encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(l.body()); err != nil {
		return nil, err
	}
	if !l.gzip || buf.Len() < gzhttp.DefaultMinSize {
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

func (l listJSON) VisitListThreadsResponse(w http.ResponseWriter) error        { return l.write(w) }
func (l listJSON) VisitListMessagesResponse(w http.ResponseWriter) error       { return l.write(w) }
func (l listJSON) VisitListThreadMessagesResponse(w http.ResponseWriter) error { return l.write(w) }
func (l listJSON) VisitListInboxResponse(w http.ResponseWriter) error          { return l.write(w) }
func (l listJSON) VisitListAuditEventsResponse(w http.ResponseWriter) error    { return l.write(w) }
func (l listJSON) VisitListContactsResponse(w http.ResponseWriter) error       { return l.write(w) }
func (l listJSON) VisitSearchContactsResponse(w http.ResponseWriter) error     { return l.write(w) }

var (
	_ agcomv1.ListThreadsResponseObject        = listJSON{}
	_ agcomv1.ListMessagesResponseObject       = listJSON{}
	_ agcomv1.ListThreadMessagesResponseObject = listJSON{}
	_ agcomv1.ListInboxResponseObject          = listJSON{}
	_ agcomv1.ListAuditEventsResponseObject    = listJSON{}
	_ agcomv1.ListContactsResponseObject       = listJSON{}
	_ agcomv1.SearchContactsResponseObject     = listJSON{}
)
