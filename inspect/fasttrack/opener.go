package fasttrack

import "github.com/ftwall/ftwall/inspect"

// OpenerLen is the length of a FastTrack session's first client payload: 4
// "random" bytes, a 4-byte seed and the 4-byte mangled encryption type. The
// node answers with 8 bytes; everything after is encrypted.
const OpenerLen = 12

// giFTOpenerPrefix is what giFT-FastTrack puts in the opener's "random"
// bytes, always (measured on giFT-FastTrack 0.8.9).
var giFTOpenerPrefix = [4]byte{0xfa, 0x00, 0xb6, 0x2b}

// TCP flags Classify looks at.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
)

// classifyOpener recognises the shape of a FastTrack session opener: a TCP
// segment with PSH, without SYN, FIN or RST, carrying exactly OpenerLen
// bytes. The shape alone is weak (any protocol can send 12 bytes): only the
// giFT prefix, or a client already known as a FastTrack client, makes it
// evidence (Decide). Whether the segment is the connection's first payload
// is not visible in one packet; the kernel prefilter queues only segments of
// connections with a handful of packets.
func classifyOpener(p *inspect.Packet, ev *Message) bool {
	if len(p.Payload) != OpenerLen || p.TCPFlags&(tcpSYN|tcpFIN|tcpRST|tcpPSH) != tcpPSH {
		return false
	}
	*ev = Message{Kind: KindSessionOpen}
	ev.GiFTOpener = [4]byte(p.Payload[:4]) == giFTOpenerPrefix
	return true
}
