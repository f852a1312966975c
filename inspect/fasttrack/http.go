package fasttrack

import (
	"bytes"
	"strings"
)

// hashHexLen is the length of the hex hash in "GET /.hash=<hash>".
const hashHexLen = 40

// maxGiveDigits bounds the decimal ID of a GIVE push (a 32-bit number).
const maxGiveDigits = 10

// ClassifyHTTP recognises the clear-text FastTrack forms in the first TCP
// payload of a message: a request ("GET /.hash=…", "GET /<id>/<name>",
// "/.download/", "/.supernode", "/.status", "/.network", "/.files") or a
// response ("HTTP/1.x …") that carries FastTrack headers (X-Kazaa-*,
// UserAgent/User-Agent/Server KazaaClient…, giFT-FastTrack…, PeerEnabler/…),
// or a push "GIVE <digits>\r\n". Header names are case-insensitive, bare LF
// line ends are accepted, and only complete header lines before the blank
// line count: a URL or body containing "X-Kazaa" is not evidence. It fills
// ev's message fields (not Src/Dst); on false ev is zeroed.
func ClassifyHTTP(b []byte, ev *Message) bool {
	if classifyHTTP(b, ev) {
		return true
	}
	*ev = Message{}
	return false
}

func classifyHTTP(b []byte, ev *Message) bool {
	if len(b) < 5 {
		return false
	}
	if string(b[:5]) == "GIVE " {
		return classifyGive(b[5:], ev)
	}
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return false
	}
	line := trimCR(b[:nl])
	var kind Kind
	switch {
	case len(line) > 4 && string(line[:4]) == "GET ":
		if !parseRequestLine(line[4:], ev) {
			return false
		}
		kind = KindHTTPRequest
	case len(line) > 7 && string(line[:7]) == "HTTP/1.":
		if !parseStatusLine(line[7:], ev) {
			return false
		}
		kind = KindHTTPResponse
	default:
		return false
	}
	if !ParseHeaders(b[nl+1:], ev) {
		return false
	}
	ev.Kind = kind
	return true
}

// classifyGive accepts "<digits>\r\n" or "<digits>\n"; what follows the
// line is another message (the peer reads one line), not looked at.
func classifyGive(b []byte, ev *Message) bool {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return false
	}
	n := nl
	if n > 0 && b[n-1] == '\r' {
		n--
	}
	if _, ok := parseUint(b[:n], maxGiveDigits); !ok {
		return false
	}
	ev.Kind, ev.GiveID = KindGive, b[:n]
	return true
}

// parseRequestLine checks "<target> HTTP/1.x" after "GET ".
func parseRequestLine(b []byte, ev *Message) bool {
	sp := bytes.IndexByte(b, ' ')
	if sp <= 0 {
		return false
	}
	target, version := b[:sp], b[sp+1:]
	if len(version) != 8 || string(version[:7]) != "HTTP/1." || !isDigit(version[7]) {
		return false
	}
	for _, c := range target {
		if c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	if !fastTrackTarget(target, ev) {
		return false
	}
	ev.Path = target
	return true
}

// fastTrackTarget reports whether target is one of the FastTrack request
// paths, and picks the hash out of "/.hash=".
func fastTrackTarget(t []byte, ev *Message) bool {
	switch {
	case hasPrefix(t, "/.hash="):
		h := t[len("/.hash="):]
		if len(h) != hashHexLen || !allHex(h) {
			return false
		}
		ev.Hash = h
		return true
	case hasPrefix(t, "/.download/"):
		return true
	case pathIs(t, "/.supernode"), pathIs(t, "/.status"), pathIs(t, "/.network"), pathIs(t, "/.files"):
		return true
	}
	// "/<decimal id>/<name>"
	if len(t) < 4 || t[0] != '/' {
		return false
	}
	slash := bytes.IndexByte(t[1:], '/')
	if slash < 0 {
		return false
	}
	_, ok := parseUint(t[1:1+slash], maxGiveDigits)
	return ok && len(t) > slash+2
}

// parseStatusLine checks "x <3 digits>[ reason]" after "HTTP/1.".
func parseStatusLine(b []byte, ev *Message) bool {
	if len(b) < 5 || !isDigit(b[0]) || b[1] != ' ' {
		return false
	}
	code := b[2:5]
	if !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) {
		return false
	}
	if len(b) > 5 && b[5] != ' ' {
		return false
	}
	ev.Status = uint16(code[0]-'0')*100 + uint16(code[1]-'0')*10 + uint16(code[2]-'0')
	return true
}

// ParseHeaders reads the header lines of an HTTP message (b starts after
// the start line) up to the blank line, fills ev's header fields and
// reports whether any FastTrack header was present. Only complete lines
// count (a line cut by the end of the segment is ignored); header names
// are case-insensitive; CRLF and bare LF both end a line; parsing stops at
// the first line that is not a header.
func ParseHeaders(b []byte, ev *Message) bool {
	ft := false
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			break
		}
		line := trimCR(b[:nl])
		b = b[nl+1:]
		if len(line) == 0 {
			break // end of headers: the body is not evidence
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // obsolete line folding
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			break
		}
		if header(line[:colon], trimSpace(line[colon+1:]), ev) {
			ft = true
		}
	}
	return ft
}

// header records one header and reports whether it marks FastTrack. The
// first occurrence of each header wins.
func header(name, value []byte, ev *Message) bool {
	// Every header it looks at starts with x, u or s and has at least 6
	// bytes ("Server"): the others (Host, Connection, Range, …) leave here.
	if len(name) < len("Server") {
		return false
	}
	if c := lower(name[0]); c != 'x' && c != 'u' && c != 's' {
		return false
	}
	if hasPrefixFold(name, "X-Kazaa") {
		rest := name[len("X-Kazaa"):]
		switch {
		case equalFold(rest, "-Username"):
			if ev.Username == nil {
				ev.Username = value[:len(value):len(value)]
			}
		case equalFold(rest, "-Network"):
			if ev.Network == nil && ValidNetworkName(value) {
				ev.Network = value[:len(value):len(value)]
			}
		case equalFold(rest, "-IP"):
			if !ev.SelfAddr.IsValid() {
				ev.SelfAddr, _ = parseAddrPort(value)
			}
		case equalFold(rest, "-SupernodeIP"):
			if !ev.Supernode.IsValid() {
				ev.Supernode, _ = parseAddrPort(value)
			}
		}
		return true
	}
	if equalFold(name, "UserAgent") || equalFold(name, "User-Agent") || equalFold(name, "Server") {
		if hasPrefixFold(value, "KazaaClient") || hasPrefixFold(value, "giFT-FastTrack") ||
			hasPrefixFold(value, "PeerEnabler/") {
			if ev.UserAgent == nil {
				ev.UserAgent = value[:len(value):len(value)]
			}
			return true
		}
	}
	return false
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// pathIs reports whether t is p, or p followed by '/' or '?'.
func pathIs(t []byte, p string) bool {
	if !hasPrefix(t, p) {
		return false
	}
	return len(t) == len(p) || t[len(p)] == '/' || t[len(p)] == '?'
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allHex(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) && (lower(c) < 'a' || lower(c) > 'f') {
			return false
		}
	}
	return true
}

// isToken reports whether b is an HTTP header name (RFC 9110 token).
func isToken(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', isDigit(c):
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return len(b) > 0
}

// IsRequestPath reports whether target is one of the request paths
// FastTrack peers serve ("/.hash=<40 hex>", "/<decimal id>/<name>",
// "/.download/…", "/.supernode", "/.status", "/.network", "/.files"), the
// same test the classifier applies. The simulator uses it too, so the two
// cannot drift apart.
func IsRequestPath(target []byte) bool {
	var m Message
	return fastTrackTarget(target, &m)
}
