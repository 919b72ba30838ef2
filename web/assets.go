package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// asset is one playground file, read once at startup: the files are embedded in the binary,
// small, and never change while it runs.
type asset struct {
	name        string
	data        []byte
	etag        string
	contentType string
}

// contentTypes fixes the types of the files a web page is made of, so that they do not
// depend on the host's mime.types (Go's built-in table lacks .ico and .webmanifest, and a
// wrong type with nosniff makes the browser refuse a script or a style sheet).
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
}

func contentTypeOf(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// loadAssets reads every regular file of fsys. A file that cannot be read, or whose name
// chi would take for a pattern, is logged and left out rather than failing the server.
func loadAssets(fsys fs.FS, log *slog.Logger) []asset {
	var out []asset
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			log.Error("playground files: cannot read", "path", name, "err", err)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if strings.ContainsAny(name, "{}*") {
			log.Warn("playground files: name not served", "path", name)
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			log.Error("playground files: cannot read", "path", name, "err", err)
			return nil
		}
		sum := sha256.Sum256(data)
		out = append(out, asset{
			name:        name,
			data:        data,
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
			contentType: contentTypeOf(name),
		})
		return nil
	})
	if err != nil {
		log.Error("playground files: cannot list", "err", err)
	}
	return out
}

// mountAssets registers one GET route per file, and GET / for index.html. Routes are exact
// paths, so an unknown path is a 404 (not a directory listing) and a POST to a file is a 405.
func mountAssets(r chi.Router, assets []asset) {
	for _, a := range assets {
		h := a.handler()
		r.Get("/"+a.name, h)
		if a.name == "index.html" {
			r.Get("/", h)
		}
	}
}

// handler serves the file with a strong ETag and Cache-Control: no-cache. The file names are
// not content-hashed, so a long max-age would keep an old app.js next to a new index.html
// after an upgrade; no-cache makes the browser revalidate every time, and the ETag turns that
// into a bodiless 304 while the binary is unchanged. (Embedded files have no modification
// time, so there is no Last-Modified; the ETag is the validator.) http.ServeContent answers
// If-None-Match, HEAD and Range requests. Its requests are logged at debug level.
func (a asset) handler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		logQuietly(r)
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.data))
	}
}
