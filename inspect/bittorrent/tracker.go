package bittorrent

import (
	"bytes"
	"encoding/binary"
)

// The UDP tracker protocol (BEP 15). A client first sends a 16-byte connect
// with the protocol's magic and action 0, then announces (action 1, 98
// bytes plus BEP 41 options) or scrapes (action 2, 16 + 20·n bytes) with
// the connection id the tracker returned.

// trackerMagic is the connect request's protocol id, 0x41727101980.
var trackerMagic = []byte{0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80}

// UDP tracker actions.
const (
	actionConnect  = 0
	actionAnnounce = 1
	actionScrape   = 2
)

const (
	connectLen  = 16
	announceLen = 98
	maxScrape   = 74 // BEP 15: at most 74 info hashes per scrape
)

// udpTracker is what was read from a UDP tracker request.
type udpTracker struct {
	kind     kindID
	infoHash []byte
	peerID   []byte
	port     uint16
}

// parseUDPTracker reads a UDP tracker request.
func parseUDPTracker(b []byte, m *udpTracker) bool {
	*m = udpTracker{}
	if len(b) < connectLen {
		return false
	}
	action := binary.BigEndian.Uint32(b[8:12])
	switch {
	case len(b) == connectLen && action == actionConnect && bytes.Equal(b[:8], trackerMagic):
		m.kind = KindTrackerConnect
		return true
	case action == actionAnnounce && len(b) >= announceLen:
		if binary.BigEndian.Uint32(b[80:84]) > 3 || !validOptions(b[announceLen:]) {
			return false
		}
		m.kind, m.infoHash, m.peerID = KindTrackerAnnounce, b[16:36:36], b[36:56:56]
		m.port = binary.BigEndian.Uint16(b[96:98])
		return true
	case action == actionScrape && len(b) > connectLen && (len(b)-connectLen)%20 == 0 && (len(b)-connectLen)/20 <= maxScrape:
		m.kind, m.infoHash = KindTrackerScrape, b[16:36:36]
		return true
	}
	return false
}

// validOptions checks BEP 41's options after an announce: 0 end of
// options, 1 no-op, 2 URL data (length byte and bytes); they must fill the
// rest of the datagram exactly (an end-of-options may be followed by
// nothing).
func validOptions(b []byte) bool {
	for i := 0; i < len(b); {
		switch b[i] {
		case 0:
			return i == len(b)-1
		case 1:
			i++
		case 2:
			if i+1 >= len(b) || i+2+int(b[i+1]) > len(b) {
				return false
			}
			i += 2 + int(b[i+1])
		default:
			return false
		}
	}
	return true
}

// HTTP trackers (BEP 3, BEP 48): GET <path>?info_hash=…&peer_id=…&port=…
// where the path's last segment starts with "announce" (or "scrape" for a
// scrape). Only the request line is read.

type httpTracker struct {
	kind     kindID
	path     []byte
	infoHash []byte // still percent-encoded
	peerID   []byte
	port     uint16
}

// maxRequestLine bounds the request line searched for its end.
const maxRequestLine = 4096

// parseHTTPTracker reads an HTTP tracker request at the start of a TCP
// payload.
func parseHTTPTracker(b []byte, m *httpTracker) bool {
	*m = httpTracker{}
	if !bytes.HasPrefix(b, []byte("GET /")) {
		return false
	}
	line := b[4:min(len(b), maxRequestLine)]
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || !bytes.HasPrefix(line[sp+1:], []byte("HTTP/1.")) {
		return false
	}
	target := line[:sp]
	q := bytes.IndexByte(target, '?')
	if q < 0 {
		return false
	}
	path, query := target[:q:q], target[q+1:]
	seg := path[bytes.LastIndexByte(path, '/')+1:]
	switch {
	case bytes.HasPrefix(seg, []byte("announce")):
		m.kind = KindHTTPAnnounce
	case bytes.HasPrefix(seg, []byte("scrape")):
		m.kind = KindHTTPScrape
	default:
		return false
	}
	var havePort bool
	for len(query) > 0 {
		var kv []byte
		if i := bytes.IndexByte(query, '&'); i >= 0 {
			kv, query = query[:i], query[i+1:]
		} else {
			kv, query = query, nil
		}
		eq := bytes.IndexByte(kv, '=')
		if eq < 0 {
			continue
		}
		k, v := kv[:eq], kv[eq+1:len(kv):len(kv)]
		switch string(k) {
		case "info_hash":
			if m.infoHash == nil && decodedLen(v) == 20 {
				m.infoHash = v
			}
		case "peer_id":
			if decodedLen(v) == 20 {
				m.peerID = v
			}
		case "port":
			if n := atou(v); n > 0 && n <= 65535 {
				m.port, havePort = uint16(n), true
			}
		}
	}
	m.path = path
	if m.infoHash == nil {
		return false
	}
	if m.kind == KindHTTPAnnounce {
		return m.peerID != nil && havePort
	}
	return true
}

// decodedLen returns the length of the percent-decoded v, -1 when an
// escape is malformed.
func decodedLen(v []byte) int {
	n := 0
	for i := 0; i < len(v); n++ {
		if v[i] == '%' {
			if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
				return -1
			}
			i += 3
			continue
		}
		i++
	}
	return n
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
