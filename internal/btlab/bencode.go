package btlab

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// The bencoding of BEP 3, as much of it as .torrent files and KRPC messages
// need. Decoded values are int64, string (byte strings, not necessarily
// UTF-8), []any and map[string]any; the encoder also takes int, []byte and
// []string.

// bencode encodes v; it panics on a type it does not know (a bug in the
// rig, never input).
func bencode(v any) []byte { return appendBencode(nil, v) }

func appendBencode(b []byte, v any) []byte {
	switch x := v.(type) {
	case int:
		return appendBencode(b, int64(x))
	case int64:
		b = append(b, 'i')
		b = strconv.AppendInt(b, x, 10)
		return append(b, 'e')
	case string:
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(b, x...)
	case []byte:
		return appendBencode(b, string(x))
	case []string:
		b = append(b, 'l')
		for _, e := range x {
			b = appendBencode(b, e)
		}
		return append(b, 'e')
	case []any:
		b = append(b, 'l')
		for _, e := range x {
			b = appendBencode(b, e)
		}
		return append(b, 'e')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // raw byte order, as BEP 3 wants
		b = append(b, 'd')
		for _, k := range keys {
			b = appendBencode(b, k)
			b = appendBencode(b, x[k])
		}
		return append(b, 'e')
	default:
		panic(fmt.Sprintf("btlab: bencode: unsupported type %T", v))
	}
}

var errBencode = errors.New("bencode: malformed input")

// bdecode decodes exactly one value filling all of b.
func bdecode(b []byte) (any, error) {
	v, n, err := bdecodePrefix(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the value", errBencode, len(b)-n)
	}
	return v, nil
}

// bdecodePrefix decodes the value at the start of b and returns it with
// its length in bytes.
func bdecodePrefix(b []byte) (any, int, error) {
	return decodeAt(b, 0, 0)
}

const maxBencodeDepth = 64

func decodeAt(b []byte, i, depth int) (any, int, error) {
	if depth > maxBencodeDepth {
		return nil, 0, fmt.Errorf("%w: nested too deeply", errBencode)
	}
	if i >= len(b) {
		return nil, 0, fmt.Errorf("%w: truncated", errBencode)
	}
	switch c := b[i]; {
	case c == 'i':
		end := indexFrom(b, i+1, 'e')
		if end < 0 {
			return nil, 0, fmt.Errorf("%w: unterminated integer", errBencode)
		}
		n, err := strconv.ParseInt(string(b[i+1:end]), 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: integer %q", errBencode, b[i+1:end])
		}
		return n, end + 1, nil
	case c >= '0' && c <= '9':
		colon := indexFrom(b, i, ':')
		if colon < 0 {
			return nil, 0, fmt.Errorf("%w: string without ':'", errBencode)
		}
		n, err := strconv.Atoi(string(b[i:colon]))
		if err != nil || n < 0 || n > len(b)-colon-1 {
			return nil, 0, fmt.Errorf("%w: string length %q", errBencode, b[i:colon])
		}
		return string(b[colon+1 : colon+1+n]), colon + 1 + n, nil
	case c == 'l':
		l := []any{}
		for i++; ; {
			if i >= len(b) {
				return nil, 0, fmt.Errorf("%w: unterminated list", errBencode)
			}
			if b[i] == 'e' {
				return l, i + 1, nil
			}
			v, next, err := decodeAt(b, i, depth+1)
			if err != nil {
				return nil, 0, err
			}
			l, i = append(l, v), next
		}
	case c == 'd':
		d := map[string]any{}
		for i++; ; {
			if i >= len(b) {
				return nil, 0, fmt.Errorf("%w: unterminated dictionary", errBencode)
			}
			if b[i] == 'e' {
				return d, i + 1, nil
			}
			k, next, err := decodeAt(b, i, depth+1)
			if err != nil {
				return nil, 0, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, 0, fmt.Errorf("%w: dictionary key is not a string", errBencode)
			}
			v, next, err := decodeAt(b, next, depth+1)
			if err != nil {
				return nil, 0, err
			}
			d[ks], i = v, next
		}
	default:
		return nil, 0, fmt.Errorf("%w: unexpected byte %q at %d", errBencode, c, i)
	}
}

func indexFrom(b []byte, from int, c byte) int {
	for j := from; j < len(b); j++ {
		if b[j] == c {
			return j
		}
	}
	return -1
}

// dictRaw returns the encoded bytes of key's value in the top-level
// dictionary b (the info dictionary of a .torrent, whose SHA-1 is the info
// hash: it must be hashed as found, not re-encoded).
func dictRaw(b []byte, key string) ([]byte, error) {
	if len(b) == 0 || b[0] != 'd' {
		return nil, fmt.Errorf("%w: not a dictionary", errBencode)
	}
	for i := 1; i < len(b) && b[i] != 'e'; {
		k, next, err := decodeAt(b, i, 1)
		if err != nil {
			return nil, err
		}
		_, end, err := decodeAt(b, next, 1)
		if err != nil {
			return nil, err
		}
		if k == key {
			return b[next:end], nil
		}
		i = end
	}
	return nil, fmt.Errorf("bencode: no key %q", key)
}
