package timelock

import "bytes"

// DefaultNetwork is the FastTrack network name used for clients whose name is
// unknown (Kazaa's own network).
const DefaultNetwork = "KaZaA"

// MaxNetworkLen is the longest network name the tracker accepts. Names seen in
// the wild are 5–9 bytes ("KaZaA", "fileshare", "Grokster", "MusicCity").
const MaxNetworkLen = 32

// ValidNetwork reports whether name can be used as a FastTrack network name in
// a probe: 1 to MaxNetworkLen printable ASCII bytes, no spaces.
func ValidNetwork(name string) bool {
	if len(name) == 0 || len(name) > MaxNetworkLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] > '~' {
			return false
		}
	}
	return true
}

// cleanNetwork returns the part of a network name taken from a packet that can
// be used: everything before the first NUL (the wire form is NUL-terminated),
// or nil when that is not a valid name.
func cleanNetwork(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 || len(b) > MaxNetworkLen {
		return nil
	}
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return nil
		}
	}
	return b
}
