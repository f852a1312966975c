package inspecttest

import (
	"encoding/binary"
	"net/netip"

	"github.com/ftwall/ftwall/internal/inetsum"
)

// IP protocol numbers.
const (
	ProtoTCP = 6
	ProtoUDP = 17
)

// TCP flags used by the builders.
const (
	FlagSYN = 0x02
	FlagPSH = 0x08
	FlagACK = 0x10
)

// Ext is one IPv6 extension header: its type (0 hop-by-hop, 43 routing,
// 44 fragment, 60 destination options …) and its body after the
// next-header/length bytes. Body lengths are padded to the header's unit.
type Ext struct {
	Type uint8
	Body []byte
}

// UDP returns an IPv4 or IPv6 packet (after the families of src and dst)
// carrying one UDP datagram.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	return IP(src.Addr(), dst.Addr(), ProtoUDP, UDPSegment(src, dst, payload))
}

// TCP returns an IPv4 or IPv6 packet carrying one TCP segment with PSH|ACK
// and the payload.
func TCP(src, dst netip.AddrPort, payload []byte) []byte {
	return IP(src.Addr(), dst.Addr(), ProtoTCP, TCPSegment(src, dst, FlagPSH|FlagACK, payload))
}

// IP wraps a transport segment in an IPv4 or IPv6 header (IPv6 with the
// given extension headers in order).
func IP(src, dst netip.Addr, proto uint8, l4 []byte, ext ...Ext) []byte {
	if src.Unmap().Is4() {
		return IPv4(src, dst, proto, 0, l4)
	}
	return IPv6(src, dst, proto, l4, ext...)
}

// IPv4 returns an IPv4 packet; frag is the raw flags+offset field (0x2000
// = more fragments, low 13 bits = offset in 8-byte units).
func IPv4(src, dst netip.Addr, proto uint8, frag uint16, l4 []byte) []byte {
	b := make([]byte, 20, 20+len(l4))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	binary.BigEndian.PutUint16(b[6:], frag)
	b[8] = 64
	b[9] = proto
	s, d := src.Unmap().As4(), dst.Unmap().As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[10:], inetsum.Checksum(b, 0))
	return append(b, l4...)
}

// IPv6 returns an IPv6 packet with the extension headers in order.
func IPv6(src, dst netip.Addr, proto uint8, l4 []byte, ext ...Ext) []byte {
	var hdrs []byte
	for i, e := range ext {
		next := proto
		if i+1 < len(ext) {
			next = ext[i+1].Type
		}
		body := e.Body
		switch e.Type {
		case 44: // fragment: fixed 8 bytes, reserved length byte
			h := append([]byte{next, 0}, body...)
			for len(h) < 8 {
				h = append(h, 0)
			}
			hdrs = append(hdrs, h[:8]...)
		case 51: // AH: length in 4-byte units minus 2
			h := append([]byte{next, 0}, body...)
			for len(h)%8 != 0 || len(h) < 12 {
				h = append(h, 0)
			}
			h[1] = byte(len(h)/4 - 2)
			hdrs = append(hdrs, h...)
		default: // length in 8-byte units minus 1
			h := append([]byte{next, 0}, body...)
			for len(h)%8 != 0 {
				h = append(h, 0)
			}
			h[1] = byte(len(h)/8 - 1)
			hdrs = append(hdrs, h...)
		}
	}
	first := proto
	if len(ext) > 0 {
		first = ext[0].Type
	}
	b := make([]byte, 40, 40+len(hdrs)+len(l4))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(hdrs)+len(l4)))
	b[6] = first
	b[7] = 64
	s, d := src.As16(), dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	b = append(b, hdrs...)
	return append(b, l4...)
}

// UDPSegment returns a UDP header and payload, checksum over the pseudo
// header of src and dst.
func UDPSegment(src, dst netip.AddrPort, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], src.Port())
	binary.BigEndian.PutUint16(b[2:], dst.Port())
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	b = append(b, payload...)
	sum := inetsum.Checksum(b, inetsum.Pseudo(src.Addr(), dst.Addr(), ProtoUDP, len(b)))
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(b[6:], sum)
	return b
}

// TCPSeq returns an IPv4 or IPv6 packet carrying one PSH|ACK TCP segment
// whose payload starts at sequence number seq.
func TCPSeq(src, dst netip.AddrPort, seq uint32, payload []byte) []byte {
	return IP(src.Addr(), dst.Addr(), ProtoTCP, tcpSegment(src, dst, FlagPSH|FlagACK, seq, payload))
}

// TCPSegment returns a 20-byte TCP header with the flags and the payload.
func TCPSegment(src, dst netip.AddrPort, flags uint8, payload []byte) []byte {
	return tcpSegment(src, dst, flags, 1000, payload)
}

func tcpSegment(src, dst netip.AddrPort, flags uint8, seq uint32, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b[0:], src.Port())
	binary.BigEndian.PutUint16(b[2:], dst.Port())
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], 2000)
	b[12] = 5 << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[16:], inetsum.Checksum(b, inetsum.Pseudo(src.Addr(), dst.Addr(), ProtoTCP, len(b))))
	return b
}
