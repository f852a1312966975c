package inspecttest

import (
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
)

// BitTorrent fixtures, shaped like what Debian's clients sent in the lab
// (docs/bittorrent-lab.md).

// InfoHash and PeerID are 20-byte fixture values.
const (
	InfoHash = "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc"
	PeerID   = "-TR3000-abcdefghijkl"
	NodeID   = "abcdefghij0123456789"
)

// KRPCPing returns a ping query shaped like aria2's (65 bytes here; aria2's
// own was 67, with a longer version): transaction id tid (2
// bytes), version "A2\x00\x03".
func KRPCPing(tid string) []byte {
	return fmt.Appendf(nil, "d1:ad2:id20:%se1:q4:ping1:t%d:%s1:v4:A2\x00\x031:y1:qe", NodeID, len(tid), tid)
}

// KRPCPingTransmission returns transmission 3.00's ping (58 bytes: a
// 4-byte transaction id, no version).
func KRPCPingTransmission() []byte {
	return fmt.Appendf(nil, "d1:ad2:id20:%se1:q4:ping1:t4:pn\x00\x001:y1:qe", NodeID)
}

// KRPCGetPeersLibtorrent returns libtorrent's bootstrap get_peers with
// "bs" (BEP 5 extension of libtorrent) ahead of "id".
func KRPCGetPeersLibtorrent() []byte {
	return fmt.Appendf(nil, "d1:ad2:bsi1e2:id20:%s9:info_hash20:%s4:wanti1ee1:q9:get_peers1:t2:\x01\x021:v4:LT\x02\x081:y1:qe", NodeID, InfoHash)
}

// KRPCResponse returns a response as transmission sends it.
func KRPCResponse(tid string) []byte {
	return fmt.Appendf(nil, "d1:rd2:id20:%se1:t%d:%s1:y1:re", NodeID, len(tid), tid)
}

// KRPCResponseLibtorrent returns a response with BEP 42's leading "ip"
// (the querier's compact address) as libtorrent sends it.
func KRPCResponseLibtorrent(tid string, querier4 [4]byte, port uint16) []byte {
	ip := append(querier4[:], byte(port>>8), byte(port))
	return fmt.Appendf(nil, "d2:ip6:%s1:rd2:id20:%s1:pi%dee1:t%d:%s1:v4:LT\x02\x081:y1:re", ip, NodeID, port, len(tid), tid)
}

// KRPCError returns an error message.
func KRPCError(tid string) []byte {
	return fmt.Appendf(nil, "d1:eli201e23:A Generic Error Ocurrede1:t%d:%s1:y1:ee", len(tid), tid)
}

// TrackerConnect returns a UDP tracker connect (16 bytes).
func TrackerConnect(tid uint32) []byte {
	b := []byte{0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[12:], tid)
	return b
}

// TrackerAnnounce returns a UDP tracker announce (98 bytes plus opts).
func TrackerAnnounce(connID uint64, port uint16, opts ...byte) []byte {
	b := make([]byte, 98)
	binary.BigEndian.PutUint64(b[0:], connID)
	binary.BigEndian.PutUint32(b[8:], 1)
	binary.BigEndian.PutUint32(b[12:], 0x1234)
	copy(b[16:], InfoHash)
	copy(b[36:], PeerID)
	binary.BigEndian.PutUint64(b[64:], 4<<20) // left
	binary.BigEndian.PutUint32(b[80:], 2)     // started
	binary.BigEndian.PutUint32(b[92:], 0xffffffff)
	binary.BigEndian.PutUint16(b[96:], port)
	return append(b, opts...)
}

// TrackerScrape returns a UDP tracker scrape for one info hash.
func TrackerScrape(connID uint64) []byte {
	b := make([]byte, 16, 36)
	binary.BigEndian.PutUint64(b[0:], connID)
	binary.BigEndian.PutUint32(b[8:], 2)
	return append(b, InfoHash...)
}

// pctAll percent-encodes every byte, as opentracker wants.
func pctAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// HTTPAnnounce returns an HTTP tracker announce request to path.
func HTTPAnnounce(path string, port uint16) []byte {
	return Lines(fmt.Sprintf("GET %s?info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=4194304&compact=1&event=started HTTP/1.1",
		path, pctAll(InfoHash), url.QueryEscape(PeerID), port), "Host: 203.0.113.2:6969", "User-Agent: aria2/1.36.0", "Accept: */*")
}

// HTTPScrape returns an HTTP tracker scrape request.
func HTTPScrape() []byte {
	return Lines("GET /scrape?info_hash="+pctAll(InfoHash)+" HTTP/1.1", "Host: 203.0.113.2:6969")
}

// Handshake returns the 68-byte plaintext peer-wire handshake.
func Handshake() []byte {
	b := append([]byte("\x13BitTorrent protocol"), 0, 0, 0, 0, 0, 0x10, 0, 0x05)
	b = append(b, InfoHash...)
	return append(b, PeerID...)
}

// UTPSynLibtorrent returns libtorrent's 20-byte ST_SYN.
func UTPSynLibtorrent(connID uint16) []byte {
	b := make([]byte, 20)
	b[0], b[1] = 0x41, 0
	binary.BigEndian.PutUint16(b[2:], connID)
	binary.BigEndian.PutUint32(b[4:], 0x0badcafe)
	binary.BigEndian.PutUint16(b[16:], 0x7777)
	return b
}

// UTPSynTransmission returns transmission's 30-byte ST_SYN (extension 2,
// 8 extension bits).
func UTPSynTransmission(connID uint16) []byte {
	b := UTPSynLibtorrent(connID)
	b[1] = 2
	binary.BigEndian.PutUint32(b[12:], 0x00040000)
	return append(b, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0)
}

// UTPData returns a uTP ST_DATA without extensions carrying payload.
func UTPData(connID uint16, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0] = 0x01
	binary.BigEndian.PutUint16(b[2:], connID)
	binary.BigEndian.PutUint32(b[4:], 0x0badcafe)
	binary.BigEndian.PutUint32(b[12:], 0x00100000)
	binary.BigEndian.PutUint16(b[16:], 0x7778)
	return append(b, payload...)
}

// LSDSearch returns a BEP 14 announce for the IPv4 group.
func LSDSearch(port uint16) []byte {
	return Lines("BT-SEARCH * HTTP/1.1", "Host: 239.192.152.143:6771", fmt.Sprintf("Port: %d", port),
		"Infohash: 123456789abcdef0112233445566778899aabbcc", "cookie: ftwall-test")
}
