package ws

import (
	"errors"
	"log/slog"
	"path"
	"strings"
	"unicode"
)

// ErrAllOrigins is CheckOriginPattern's error for a pattern that would allow every origin.
var ErrAllOrigins = errors.New("the pattern would allow every origin")

// CheckOriginPattern reports whether p is an origin pattern the Handler honours
// (Options.OriginPatterns): not one that would admit any origin ("*", "*.*", "https://*":
// no letter or digit in its host part), which would turn the same-origin check off
// (cross-site WebSocket hijacking), and not a malformed one (path.ErrBadPattern). The
// server's -allow-origin flag refuses what it refuses.
func CheckOriginPattern(p string) error {
	host := p
	if i := strings.Index(p, "://"); i >= 0 {
		host = p[i+len("://"):]
	}
	if !strings.ContainsFunc(host, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return ErrAllOrigins
	}
	if _, err := path.Match(p, ""); err != nil {
		return err
	}
	return nil
}

// originPatterns returns the patterns that are safe to hand to the library (see
// CheckOriginPattern); the others are dropped and logged rather than honoured.
func originPatterns(in []string, log *slog.Logger) []string {
	var out []string
	for _, p := range in {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		switch err := CheckOriginPattern(p); {
		case errors.Is(err, ErrAllOrigins):
			log.Error("ws: ignoring an origin pattern that allows every origin; list the origins to allow", "pattern", p)
		case err != nil:
			log.Error("ws: ignoring a malformed origin pattern", "pattern", p, "err", err)
		default:
			out = append(out, p)
		}
	}
	return out
}
