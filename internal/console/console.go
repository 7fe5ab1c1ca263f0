// Package console serves the overseer console: the web page built from
// clients/console, embedded in the binary so that agcomd needs no second
// server and no network. The page is only a client of the public API.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Path is where the console is served; its assets live below it.
const Path = "/console/"

// CSP lets the page load its own script, style and images and call its own
// origin's API, and nothing else: no inline script or style, no frames, no
// form posts elsewhere.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed assets
var assets embed.FS

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the console's assets below Path. A path that names no
// asset is answered by notFound, so that the caller's error format holds.
type Handler struct {
	files    map[string]asset
	notFound http.Handler
}

// New reads the embedded assets once; notFound answers unknown paths.
func New(notFound http.Handler) *Handler {
	h := &Handler{files: map[string]asset{}, notFound: notFound}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.files[strings.TrimPrefix(p, "assets/")] = asset{body: body, contentType: ct,
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("console: read embedded assets: " + err.Error()) // they are compiled in
	}
	return h
}

// ServeHTTP serves index.html at Path and each asset at Path+name, with
// the console's content security policy.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, Path)
	if !ok {
		h.notFound.ServeHTTP(w, r)
		return
	}
	if name == "" {
		name = "index.html"
	}
	a, ok := h.files[name]
	if !ok {
		h.notFound.ServeHTTP(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	hd.Set("Content-Type", a.contentType)
	// Revalidated on every load: a new binary's assets show at once, an
	// unchanged one costs a 304.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
