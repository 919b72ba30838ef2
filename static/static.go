// Package static holds the wscalc playground: plain HTML, CSS and JavaScript modules with no
// build step, embedded into the binary so that one file is the whole server. The page talks
// to /ws with the wscalc.v1.json subprotocol and is written for a strict
// Content-Security-Policy: no inline scripts or styles, nothing from another origin.
package static

import (
	"embed"
	"io/fs"
)

//go:embed index.html *.css *.js *.svg
var files embed.FS

// FS is the playground, with index.html at its root.
var FS fs.FS = files
