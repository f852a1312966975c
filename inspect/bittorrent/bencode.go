package bittorrent

// A minimal, allocation-free bencode scanner (BEP 3): enough to check that a
// datagram is exactly one well-formed dictionary and to pick a few keys out
// of it. Nesting is bounded, so hostile input cannot recurse deeply.

// maxDepth bounds the nesting of lists and dictionaries.
const maxDepth = 8

// skipValue returns the index just past the bencoded value starting at
// b[i], or -1 when it is not one well-formed value within b.
func skipValue(b []byte, i, depth int) int {
	if i >= len(b) || depth > maxDepth {
		return -1
	}
	switch c := b[i]; {
	case c == 'i':
		return skipInt(b, i)
	case c == 'l':
		i++
		for i < len(b) && b[i] != 'e' {
			if i = skipValue(b, i, depth+1); i < 0 {
				return -1
			}
		}
		if i >= len(b) {
			return -1
		}
		return i + 1
	case c == 'd':
		i++
		for i < len(b) && b[i] != 'e' {
			if _, j := parseString(b, i); j < 0 {
				return -1
			} else if i = skipValue(b, j, depth+1); i < 0 {
				return -1
			}
		}
		if i >= len(b) {
			return -1
		}
		return i + 1
	case c >= '0' && c <= '9':
		_, j := parseString(b, i)
		return j
	}
	return -1
}

// skipInt scans i<digits>e with an optional minus sign.
func skipInt(b []byte, i int) int {
	i++ // 'i'
	if i < len(b) && b[i] == '-' {
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == start || i-start > 20 || i >= len(b) || b[i] != 'e' {
		return -1
	}
	return i + 1
}

// parseString scans <len>:<bytes> at b[i] and returns the bytes and the
// index past them (-1 when malformed).
func parseString(b []byte, i int) ([]byte, int) {
	n, digits := 0, 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if digits++; digits > 6 {
			return nil, -1
		}
		n = n*10 + int(b[i]-'0')
		i++
	}
	if digits == 0 || i >= len(b) || b[i] != ':' {
		return nil, -1
	}
	i++
	if n > len(b)-i {
		return nil, -1
	}
	return b[i : i+n : i+n], i + n
}

// dictEntry is one key and its raw value in a dictionary.
type dictEntry struct {
	key, val []byte
}

// eachEntry calls f for each entry of the dictionary at b[i] (which must
// start with 'd') and returns the index past it, or -1 when malformed or
// when f returns false.
func eachEntry(b []byte, i, depth int, f func(e dictEntry) bool) int {
	if i >= len(b) || b[i] != 'd' || depth > maxDepth {
		return -1
	}
	i++
	for i < len(b) && b[i] != 'e' {
		key, j := parseString(b, i)
		if j < 0 {
			return -1
		}
		k := skipValue(b, j, depth+1)
		if k < 0 {
			return -1
		}
		if !f(dictEntry{key: key, val: b[j:k:k]}) {
			return -1
		}
		i = k
	}
	if i >= len(b) {
		return -1
	}
	return i + 1
}
