package bittorrent

import "bytes"

// The peer-wire handshake (BEP 3) in clear: the byte 19, the protocol
// name, 8 reserved bytes, the 20-byte info hash and the 20-byte peer id,
// 68 bytes in all. Encrypted connections (MSE/PE) have no such bytes.

var handshakePrefix = []byte("\x13BitTorrent protocol")

const handshakeLen = 68

// parseHandshake reads a handshake at the start of b. The segment may end
// after the protocol name (a client may split the 68 bytes); info hash and
// peer id are returned when present.
func parseHandshake(b []byte) (infoHash, peerID []byte, ok bool) {
	if !bytes.HasPrefix(b, handshakePrefix) {
		return nil, nil, false
	}
	if len(b) >= 48 {
		infoHash = b[28:48:48]
	}
	if len(b) >= handshakeLen {
		peerID = b[48:68:68]
	}
	return infoHash, peerID, true
}
