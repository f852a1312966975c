package ftsim

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// Values of the clear-text HTTP transfers of FastTrack.
const (
	// KazaaAgent is what Kazaa puts in UserAgent: (sic) and Server:.
	KazaaAgent = "KazaaClient Nov  3 2002 20:29:03"
	// DefaultHash is the file hash the client asks for when none is given.
	DefaultHash = "a9993e364706816aba3e25717850c26c9cd0d89d"
	// DefaultNetwork is the network name of pings, pongs and X-Kazaa-Network.
	DefaultNetwork = "KaZaA"
	// DefaultUsername goes into X-Kazaa-Username.
	DefaultUsername = "ftsim"
)

// Limits of the HTTP head parser.
const (
	maxHeadBytes   = 16 << 10
	maxHeaderLines = 64
	maxLineBytes   = 4 << 10
)

// HeaderField is one header line exactly as it was sent (the name keeps its
// spelling: Kazaa sends "UserAgent", not "User-Agent").
type HeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Headers are header lines in the order they were sent.
type Headers []HeaderField

// Get returns the value of the first header named name (compared
// case-insensitively), or "".
func (h Headers) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// head is an HTTP request or response head.
type head struct {
	Start   string // request line or status line
	Headers Headers
	Raw     string // the bytes read, up to and including the empty line
}

// readHead reads a start line and header lines up to the empty line, at most
// maxHeadBytes in all.
func readHead(r *bufio.Reader) (head, error) {
	var h head
	var raw strings.Builder
	for i := 0; ; i++ {
		if i > maxHeaderLines {
			return h, fmt.Errorf("HTTP head: more than %d header lines", maxHeaderLines)
		}
		line, err := readLine(r, maxLineBytes)
		raw.WriteString(line)
		if raw.Len() > maxHeadBytes {
			return h, fmt.Errorf("HTTP head longer than %d bytes", maxHeadBytes)
		}
		if err != nil {
			h.Raw = raw.String()
			return h, fmt.Errorf("HTTP head: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if i == 0 {
			if line == "" {
				return h, errors.New("HTTP head: empty start line")
			}
			h.Start = line
			continue
		}
		if line == "" {
			h.Raw = raw.String()
			return h, nil
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			return h, fmt.Errorf("HTTP head: malformed header line %q", truncate(line, 80))
		}
		h.Headers = append(h.Headers, HeaderField{Name: name, Value: strings.TrimSpace(value)})
	}
}

// isToken reports whether s is a valid header name: visible ASCII, no
// colon.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// readLine reads up to and including '\n', at most max bytes.
func readLine(r *bufio.Reader, max int) (string, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > max {
			return string(b[:max]), fmt.Errorf("line longer than %d bytes", max)
		}
		switch {
		case err == nil:
			return string(b), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return string(b), err
		}
	}
}

// requestLine splits "GET /path HTTP/1.1".
func requestLine(s string) (method, target, proto string, ok bool) {
	method, rest, ok1 := strings.Cut(s, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || target == "" || !strings.HasPrefix(proto, "HTTP/") {
		return "", "", "", false
	}
	return method, target, proto, true
}

// statusLine splits "HTTP/1.1 206 Partial Content".
func statusLine(s string) (code int, ok bool) {
	proto, rest, ok1 := strings.Cut(s, " ")
	if !ok1 || !strings.HasPrefix(proto, "HTTP/") || len(rest) < 3 {
		return 0, false
	}
	code, err := strconv.Atoi(rest[:3])
	if err != nil || code < 100 || code > 999 || (len(rest) > 3 && rest[3] != ' ') {
		return 0, false
	}
	return code, true
}

// isFastTrackPath reports whether an HTTP request target is one FastTrack
// peers use: the inspector's own test (fasttrack.IsRequestPath).
func isFastTrackPath(p string) bool { return fasttrack.IsRequestPath([]byte(p)) }

// requestParams are the values of a FastTrack download request.
type requestParams struct {
	Host      netip.AddrPort // the peer asked
	Path      string
	Self      netip.AddrPort // X-Kazaa-IP
	Supernode netip.AddrPort // X-Kazaa-SupernodeIP (omitted when invalid)
	Username  string
	Network   string
	Range     string // Range: value ("" = none)
}

// appendRequest appends a Kazaa download request head.
func appendRequest(dst []byte, p requestParams) []byte {
	dst = fmt.Appendf(dst, "GET %s HTTP/1.1\r\n", p.Path)
	dst = fmt.Appendf(dst, "Host: %s\r\n", p.Host)
	dst = fmt.Appendf(dst, "UserAgent: %s\r\n", KazaaAgent)
	dst = fmt.Appendf(dst, "X-Kazaa-Username: %s\r\n", p.Username)
	dst = fmt.Appendf(dst, "X-Kazaa-Network: %s\r\n", p.Network)
	dst = fmt.Appendf(dst, "X-Kazaa-IP: %s\r\n", p.Self)
	if p.Supernode.IsValid() {
		dst = fmt.Appendf(dst, "X-Kazaa-SupernodeIP: %s\r\n", p.Supernode)
	}
	if p.Range != "" {
		dst = fmt.Appendf(dst, "Range: %s\r\n", p.Range)
	}
	return append(dst, "Connection: close\r\n\r\n"...)
}

// responseParams are the values of a FastTrack download response.
type responseParams struct {
	Status    int
	Self      netip.AddrPort // X-Kazaa-IP
	Supernode netip.AddrPort // X-Kazaa-SupernodeIP (omitted when invalid)
	Username  string
	Network   string
	Hash      string // hex, for X-KazaaTag 3 (omitted when not 40 hex digits)
	Size      int64  // whole file
	Start     int64  // first byte sent (206)
	End       int64  // last byte sent, inclusive (206)
}

// appendResponse appends a Kazaa response head: 200 (whole file), 206
// (Start–End), or any other status without a body.
func appendResponse(dst []byte, p responseParams) []byte {
	var length int64
	switch p.Status {
	case 200:
		dst = append(dst, "HTTP/1.1 200 OK\r\n"...)
		length = p.Size
	case 206:
		dst = append(dst, "HTTP/1.1 206 Partial Content\r\n"...)
		length = p.End - p.Start + 1
	case 404:
		dst = append(dst, "HTTP/1.1 404 Not Found\r\n"...)
	default:
		dst = fmt.Appendf(dst, "HTTP/1.1 %d Unavailable\r\n", p.Status)
	}
	dst = fmt.Appendf(dst, "Content-Length: %d\r\n", length)
	if p.Status == 206 {
		dst = fmt.Appendf(dst, "Content-Range: bytes %d-%d/%d\r\n", p.Start, p.End, p.Size)
	}
	dst = append(dst, "Accept-Ranges: bytes\r\n"...)
	dst = fmt.Appendf(dst, "Server: %s\r\n", KazaaAgent)
	dst = append(dst, "Connection: close\r\n"...)
	dst = fmt.Appendf(dst, "X-Kazaa-Username: %s\r\n", p.Username)
	dst = fmt.Appendf(dst, "X-Kazaa-Network: %s\r\n", p.Network)
	dst = fmt.Appendf(dst, "X-Kazaa-IP: %s\r\n", p.Self)
	if p.Supernode.IsValid() {
		dst = fmt.Appendf(dst, "X-Kazaa-SupernodeIP: %s\r\n", p.Supernode)
	}
	if p.Status == 200 || p.Status == 206 {
		if raw, err := hex.DecodeString(p.Hash); err == nil && len(raw) == 20 {
			dst = fmt.Appendf(dst, "X-KazaaTag: 3==%s\r\n", base64.StdEncoding.EncodeToString(raw))
		}
		dst = append(dst, "X-KazaaTag: 4=ftsim sample file\r\n"...)
		dst = append(dst, "Content-Type: application/octet-stream\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// parseRange parses a single-range "bytes=a-b", "bytes=a-" or "bytes=-n"
// against a file of size bytes; ok is false when it is malformed or not
// satisfiable.
func parseRange(s string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(s), "bytes=")
	if !found || size <= 0 || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	switch {
	case a == "" && b == "":
		return 0, 0, false
	case a == "":
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, size-1)
	}
	return start, end, true
}

// parseGive parses a push line "GIVE <decimal id>" (without its line end).
func parseGive(line string) (uint32, bool) {
	rest, ok := strings.CutPrefix(line, "GIVE ")
	if !ok || rest == "" || len(rest) > 10 {
		return 0, false
	}
	for _, c := range []byte(rest) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseUint(rest, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(id), true
}

// bodyByte is byte i of every served file: a pattern a receiver can check.
func bodyByte(i int64) byte {
	return byte(i*31 + i>>8 + 7)
}

// writeBody writes bytes start..end (inclusive) of the served file.
func writeBody(w io.Writer, start, end int64) (int64, error) {
	buf := make([]byte, 0, 32<<10)
	var n int64
	for i := start; i <= end; {
		buf = buf[:0]
		for ; i <= end && len(buf) < cap(buf); i++ {
			buf = append(buf, bodyByte(i))
		}
		m, err := w.Write(buf)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// checkBody reports whether b equals the served file from offset start.
func checkBody(b []byte, start int64) bool {
	for i, c := range b {
		if c != bodyByte(start+int64(i)) {
			return false
		}
	}
	return true
}

// contentRangeStart parses the first byte of "bytes a-b/size".
func contentRangeStart(s string) (int64, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
