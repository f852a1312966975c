package timelock

import "bytes"

// MaxTagLen is the longest probe tag the tracker keeps (a FastTrack network
// name is 5–9 bytes).
const MaxTagLen = 32

// ValidTag reports whether tag can be kept: 1 to MaxTagLen printable ASCII
// bytes, no spaces. What a tag means is the protocol's business.
func ValidTag(tag string) bool {
	return cleanTag([]byte(tag)) != nil
}

// cleanTag returns the part of a tag taken from a packet that can be kept:
// everything before the first NUL (a FastTrack name's wire form is
// NUL-terminated), or nil when that is not a valid tag.
func cleanTag(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 || len(b) > MaxTagLen {
		return nil
	}
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return nil
		}
	}
	return b
}
