package share

import (
	"bytes"
	"encoding/json"
	"errors"
)

// errSlowPath says the value is outside what decodeWire reads itself;
// encoding/json decides it.
var errSlowPath = errors.New("not a flat entry")

// decodeWire reads a value into w. The common form (a flat JSON object of
// plain strings and integers, exactly the field names Encode writes) is read
// without reflection or allocation but for new strings, which in interns;
// anything else goes to encoding/json, so both read every value alike (the
// fuzz test holds them to it).
func decodeWire(data []byte, w *wire, in *interner) error {
	if err := decodeFlat(data, w, in); err == nil {
		return nil
	} else if !errors.Is(err, errSlowPath) {
		return err
	}
	*w = wire{}
	return json.Unmarshal(data, w)
}

func decodeFlat(d []byte, w *wire, in *interner) error {
	*w = wire{}
	i := skipSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		return errSlowPath
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return trailing(d, i+1)
	}
	for {
		key, j, ok := plainString(d, i)
		if !ok {
			return errSlowPath
		}
		i = skipSpace(d, j)
		if i >= len(d) || d[i] != ':' {
			return errSlowPath
		}
		i = skipSpace(d, i+1)
		var str *string
		var num *int64
		switch string(key) {
		case "v":
			num = &w.V
		case "timeout":
			num = &w.Timeout
		case "protocol":
			str = &w.Protocol
		case "reason":
			str = &w.Reason
		case "gateway":
			str = &w.Gateway
		case "probe":
			str = &w.Probe
		default:
			return errSlowPath // unknown or differently cased names: encoding/json's rules
		}
		switch {
		case num != nil:
			n, j, ok := plainInt(d, i)
			if !ok {
				return errSlowPath
			}
			*num, i = n, j
		default:
			s, j, ok := plainString(d, i)
			if !ok {
				return errSlowPath
			}
			*str, i = in.intern(s), j
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return errSlowPath
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case '}':
			return trailing(d, i+1)
		default:
			return errSlowPath
		}
	}
}

func trailing(d []byte, i int) error {
	if skipSpace(d, i) != len(d) {
		return errSlowPath
	}
	return nil
}

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a string of printable ASCII without escapes.
func plainString(d []byte, i int) ([]byte, int, bool) {
	if i >= len(d) || d[i] != '"' {
		return nil, i, false
	}
	end := bytes.IndexByte(d[i+1:], '"')
	if end < 0 {
		return nil, i, false
	}
	s := d[i+1 : i+1+end]
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return nil, i, false
		}
	}
	return s, i + 2 + end, true
}

// plainInt reads a non-negative integer of at most 15 digits (no sign, no
// fraction, no exponent, no leading zero).
func plainInt(d []byte, i int) (int64, int, bool) {
	j := i
	var n int64
	for j < len(d) && d[j] >= '0' && d[j] <= '9' && j-i < 15 {
		n = n*10 + int64(d[j]-'0')
		j++
	}
	if j == i || (d[i] == '0' && j-i > 1) {
		return 0, i, false
	}
	if j < len(d) && (d[j] == '.' || d[j] == 'e' || d[j] == 'E' || (d[j] >= '0' && d[j] <= '9')) {
		return 0, i, false
	}
	return n, j, true
}

// interner shares the strings that repeat across entries (protocols,
// reasons, gateway names), so a million entries do not make a million
// copies; it holds at most a bounded number of them.
type interner struct{ m map[string]string }

const maxInterned = 1024

func (in *interner) intern(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = map[string]string{}
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}
