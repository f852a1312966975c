// Package oneline makes free text fit on one line of ftwall's text files
// (the storefile's reasons, the client directory's values).
package oneline

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// Clean returns b with invalid UTF-8 and control characters (line breaks
// included) replaced by '?' and surrounding white space removed. It is
// idempotent, and allocates only when something must be replaced.
func Clean(b []byte) []byte {
	plain := true
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return bytes.TrimSpace(b)
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if (r == utf8.RuneError && n == 1) || unicode.IsControl(r) {
			out = append(out, '?')
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return bytes.TrimFunc(out, unicode.IsSpace)
}
