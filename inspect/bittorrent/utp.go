package bittorrent

import "encoding/binary"

// uTP (BEP 29): a 20-byte header (type<<4 | version 1, first extension,
// connection id, timestamps, window, sequence and ack numbers), a chain of
// extensions (type, length, bytes), then data. A connection starts with an
// ST_SYN, which carries no data and no timestamp difference. Other packet
// types (ST_DATA, ST_STATE, ST_FIN, ST_RESET) look too much like other
// UDP protocols to be evidence alone; an ST_DATA is evidence only when its
// data starts with the peer-wire handshake.

const (
	utpHeaderLen = 20
	utpVersion   = 1
	stData       = 0
	stSyn        = 4
	// maxUTPExt bounds the extension types accepted (0 none, 1 selective
	// ack, 2 extension bits, 3 libtorrent's close reason).
	maxUTPExt = 3
)

// utpPayload checks b's uTP header and extension chain and returns the
// packet type and the offset of its data; ok false when b is not uTP.
func utpPayload(b []byte) (typ byte, data int, ok bool) {
	if len(b) < utpHeaderLen || b[0]&0x0f != utpVersion {
		return 0, 0, false
	}
	typ = b[0] >> 4
	if typ > stSyn {
		return 0, 0, false
	}
	ext, i := b[1], utpHeaderLen
	for n := 0; ext != 0; n++ {
		if ext > maxUTPExt || n > 8 || i+2 > len(b) {
			return 0, 0, false
		}
		next, l := b[i], int(b[i+1])
		if l == 0 || i+2+l > len(b) {
			return 0, 0, false
		}
		ext, i = next, i+2+l
	}
	return typ, i, true
}

// isUTPSyn reports whether b is a uTP ST_SYN: a valid header and extension
// chain filling the datagram, no timestamp difference.
func isUTPSyn(b []byte) bool {
	typ, data, ok := utpPayload(b)
	return ok && typ == stSyn && data == len(b) && binary.BigEndian.Uint32(b[8:12]) == 0
}

// utpHandshake returns the peer-wire handshake carried by a uTP ST_DATA.
func utpHandshake(b []byte) (infoHash, peerID []byte, ok bool) {
	typ, data, ok := utpPayload(b)
	if !ok || typ != stData {
		return nil, nil, false
	}
	return parseHandshake(b[data:])
}
