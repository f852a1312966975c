package inspect

import (
	"errors"
	"net/netip"
)

// IP protocol numbers the decoder knows about.
const (
	ProtoTCP uint8 = 6
	ProtoUDP uint8 = 17
)

// Decode errors. They describe the packet, never the program: a queue
// reader accepts such packets unchanged (fail open).
var (
	ErrShort     = errors.New("packet shorter than its IP header")
	ErrVersion   = errors.New("not an IPv4 or IPv6 packet")
	ErrHeader    = errors.New("malformed IP header")
	ErrTransport = errors.New("malformed TCP or UDP header")
	ErrTruncated = errors.New("packet truncated inside its TCP or UDP header")
)

// Packet is one decoded IP packet. Decode fills it without allocating;
// Payload aliases the input.
type Packet struct {
	Src, Dst netip.Addr // network-layer addresses (IPv4 as 4-byte addresses)
	// Proto is the upper-layer protocol: for IPv6 the one after the
	// extension headers.
	Proto uint8
	// Transport is true when a TCP or UDP header was decoded: only then are
	// SrcPort, DstPort, TCPFlags and Payload meaningful.
	Transport        bool
	SrcPort, DstPort uint16
	TCPFlags         uint8 // TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10)
	// Seq is the TCP sequence number of the first payload byte.
	Seq uint32
	// Payload is the transport payload, cut to the lengths in the headers
	// (link-layer padding is not part of it).
	Payload []byte

	// Fragment is true when the packet is part of a fragmented datagram
	// (IPv4 MF or offset, IPv6 fragment header). FragOffset is the offset
	// in bytes; only the first fragment (offset 0) carries a transport
	// header, so later fragments have Transport == false.
	Fragment   bool
	FragOffset uint16
	// Truncated is true when Payload is shorter than the headers announce:
	// a capture snap length, an NFQUEUE copy range, or a first fragment.
	Truncated bool
}

// Decode decodes one raw IP packet as NFQUEUE delivers it (or as it follows
// the link layer of a capture): IPv4 with options or IPv6 with extension
// headers, then TCP or UDP. Non-first fragments and other protocols decode
// without a transport header. It never panics and never allocates; on error
// p holds whatever was decoded before the problem.
func Decode(b []byte, p *Packet) error {
	*p = Packet{}
	if len(b) < 1 {
		return ErrShort
	}
	switch b[0] >> 4 {
	case 4:
		return decodeIPv4(b, p)
	case 6:
		return decodeIPv6(b, p)
	}
	return ErrVersion
}

// FirstFragment reports whether the packet is unfragmented or the first
// fragment of a datagram, the only kind that can carry evidence.
func (p *Packet) FirstFragment() bool { return p.FragOffset == 0 }

// SrcAddrPort returns the source address and port.
func (p *Packet) SrcAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Src, p.SrcPort) }

// DstAddrPort returns the destination address and port.
func (p *Packet) DstAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Dst, p.DstPort) }

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
