package fasttrack

import "net/netip"

// FastTrack UDP message lengths.
const (
	pingHeader          = 6  // 27 | enc(4) | 80, then name, NUL
	supernodePongHeader = 11 // 28 | enc(4) | 00 | time | 00 00 | load | 00, then name, NUL
	nodePongShort       = 13 // 29 | enc(4) | 01 | flag 0 | 00 00 | id(4)
	nodePongLong        = 21 // … flag 1 | … | ipv4(4) | port(2) | 2 unknown
	idLen               = 5  // 2A | id(4)
)

// ClassifyUDP recognises one FastTrack UDP message in a complete UDP payload
// and fills ev.Kind and the message's fields (not Src/Dst). It rejects near
// misses: a wrong length for the message type, non-printable network
// names, a pong's trailing bytes. A ping is its six fixed bytes and a
// printable NUL-terminated network name; what follows the NUL is ignored,
// as a peer reading the name ignores it (a client appending a byte must
// not slip past).
func ClassifyUDP(b []byte, ev *Message) bool {
	if len(b) < idLen {
		return false
	}
	switch b[0] {
	case MsgNodePing:
		if len(b) < pingHeader+MinNetworkLen+1 || !encTypeOK(b[1:5]) || b[5] != 0x80 {
			return false
		}
		name, ok := nulFirst(b[pingHeader:])
		if !ok {
			return false
		}
		ev.Kind, ev.Network = KindPing, name
		return true
	case MsgSupernodePong:
		if len(b) < supernodePongHeader+MinNetworkLen+1 || !encTypeOK(b[1:5]) {
			return false
		}
		name, ok := nulTerminated(b[supernodePongHeader:])
		if !ok {
			return false
		}
		ev.Kind, ev.Network, ev.Load = KindSupernodePong, name, b[9]
		return true
	case MsgNodePong:
		if (len(b) != nodePongShort && len(b) != nodePongLong) || !encTypeOK(b[1:5]) || b[7] != 0 || b[8] != 0 {
			return false
		}
		switch {
		case len(b) == nodePongShort && b[6] == 0:
		case len(b) == nodePongLong && b[6] == 1:
			ev.NodeAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[13:17])), be16(b[17:19]))
		default:
			return false
		}
		ev.Kind, ev.ID = KindNodePong, be32(b[9:13])
		return true
	case MsgID:
		if len(b) != idLen {
			return false
		}
		ev.Kind, ev.ID = KindID, be32(b[1:5])
		return true
	}
	return false
}

// encTypeOK accepts the "minimum encryption type" values clients send:
// 00 00 00 29, and 00 00 00 A9 from some clients.
func encTypeOK(b []byte) bool {
	return b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3]&0x7f == byte(MinEncType)
}

// nulTerminated returns the network name in b, which must be the name
// followed by exactly one NUL and nothing else.
func nulTerminated(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[len(b)-1] != 0 {
		return nil, false
	}
	name := b[:len(b)-1]
	// ValidNetworkName rejects any further NUL (not printable).
	return name, ValidNetworkName(name)
}

// nulFirst returns the network name at the start of b, up to its first
// NUL (which must be there); bytes after the NUL are not looked at.
func nulFirst(b []byte) ([]byte, bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], ValidNetworkName(b[:i])
		}
	}
	return nil, false
}
