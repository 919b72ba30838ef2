package static

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(FS, name)
	if err != nil {
		t.Fatalf("reading %s from FS: %v", name, err)
	}
	return string(b)
}

// filesWith lists the embedded files whose names end in ext.
func filesWith(t *testing.T, ext string) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(name, ext) {
			out = append(out, name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %s files embedded", ext)
	}
	return out
}

func exists(name string) bool {
	_, err := fs.Stat(FS, name)
	return err == nil
}

// Every file the page asks for is embedded: a missing one would be a 404 in the browser.
func TestReferencedFilesAreEmbedded(t *testing.T) {
	html := readFile(t, "index.html")
	attr := regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`)
	for _, m := range attr.FindAllStringSubmatch(html, -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "api/") { // served by the server, not a file
			continue
		}
		if strings.Contains(ref, "://") {
			t.Errorf("index.html loads %q from another origin; the CSP allows only 'self'", ref)
			continue
		}
		if !exists(ref) {
			t.Errorf("index.html refers to %q, which is not embedded", ref)
		}
	}
	imp := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^"']*from\s+["']([^"']+)["']`)
	for _, js := range filesWith(t, ".js") {
		for _, m := range imp.FindAllStringSubmatch(readFile(t, js), -1) {
			if !exists(path.Join(path.Dir(js), m[1])) {
				t.Errorf("%s imports %q, which is not embedded", js, m[1])
			}
		}
	}
	cssURL := regexp.MustCompile(`url\(([^)]+)\)`)
	for _, css := range filesWith(t, ".css") {
		for _, m := range cssURL.FindAllStringSubmatch(readFile(t, css), -1) {
			if ref := strings.Trim(m[1], `"'`); !exists(ref) {
				t.Errorf("%s uses url(%s), which is not embedded", css, ref)
			}
		}
	}
}

// The server's Content-Security-Policy forbids inline scripts, inline styles and event
// handler attributes; the browser would silently ignore them.
func TestNoInlineScriptOrStyle(t *testing.T) {
	html := readFile(t, "index.html")
	for _, tag := range regexp.MustCompile(`<script\b[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, ` src="`) {
			t.Errorf("inline script: %s", tag)
		}
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<style\b`),
		regexp.MustCompile(`\sstyle="`),
		regexp.MustCompile(`\son[a-z]+="`),
		regexp.MustCompile(`javascript:`),
	} {
		if loc := bad.FindStringIndex(html); loc != nil {
			t.Errorf("index.html has %q, which the CSP blocks", html[loc[0]:loc[1]])
		}
	}
}

// Results come from the network and are inserted as text, never parsed as HTML.
func TestScriptsNeverParseHTML(t *testing.T) {
	bad := regexp.MustCompile(`\.innerHTML\b|\.outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
	for _, js := range filesWith(t, ".js") {
		if loc := bad.FindStringIndex(readFile(t, js)); loc != nil {
			t.Errorf("%s uses %q", js, readFile(t, js)[loc[0]:loc[1]])
		}
	}
}

// The browser tests and other tools find the page's parts by these hooks.
func TestTestHooks(t *testing.T) {
	html := readFile(t, "index.html")
	for _, id := range []string{"expr", "history", "status", "clients", "vars", "nc-hint", "welcome-recall"} {
		if !strings.Contains(html, `data-testid="`+id+`"`) {
			t.Errorf("index.html has no data-testid=%q", id)
		}
	}
	render := readFile(t, "render.js")
	for _, id := range []string{"entry", "input", "result", "message", "err-span"} {
		if !strings.Contains(render, `dataset.testid = "`+id+`"`) {
			t.Errorf("render.js does not set data-testid=%q", id)
		}
	}
}
