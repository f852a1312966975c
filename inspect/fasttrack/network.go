package fasttrack

// Network names: the bounds of what counts as a FastTrack network name.
// Names seen in the wild are 5 to 9 characters long (KaZaA, fileshare,
// Grokster, MusicCity); unknown names of the same shape are accepted too.
const (
	MinNetworkLen = 2
	MaxNetworkLen = 32
)

// KnownNetworks returns the network names seen in the wild, in their usual
// spelling. Classification does not require one of them.
func KnownNetworks() [4]string {
	return [4]string{"KaZaA", "fileshare", "Grokster", "MusicCity"}
}

// ValidNetworkName reports whether name has the shape of a FastTrack network
// name: MinNetworkLen to MaxNetworkLen printable ASCII characters, spaces
// only inside.
func ValidNetworkName(name []byte) bool {
	if len(name) < MinNetworkLen || len(name) > MaxNetworkLen {
		return false
	}
	if name[0] == ' ' || name[len(name)-1] == ' ' {
		return false
	}
	for _, c := range name {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// SameNetwork compares two network names case-insensitively (ASCII).
func SameNetwork(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// KnownNetwork returns the usual spelling of name if it is one of
// KnownNetworks (compared case-insensitively), else "".
func KnownNetwork(name []byte) string {
	for _, k := range KnownNetworks() {
		if equalFold(name, k) {
			return k
		}
	}
	return ""
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold compares b with the ASCII string s case-insensitively.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether b starts with the ASCII string s,
// case-insensitively.
func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && equalFold(b[:len(s)], s)
}
