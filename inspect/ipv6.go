package inspect

import "net/netip"

const (
	ipv6Header = 40
	// maxExtHeaders bounds the extension-header walk; real packets carry
	// a handful at most.
	maxExtHeaders = 16
)

// IPv6 extension header numbers.
const (
	ip6HopByHop = 0
	ip6Routing  = 43
	ip6Fragment = 44
	ip6AH       = 51
	ip6DstOpts  = 60
	ip6Mobility = 135
	ip6HIP      = 139
	ip6Shim6    = 140
)

func decodeIPv6(b []byte, p *Packet) error {
	if len(b) < ipv6Header {
		return ErrShort
	}
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))

	end := ipv6Header + int(be16(b[4:6]))
	switch {
	case end == ipv6Header:
		// Payload length 0: a jumbogram or an offload aggregate; the
		// buffer is the packet.
		end = len(b)
	case end > len(b):
		p.Truncated = true
		end = len(b)
	}
	b = b[:end]

	next := b[6]
	off := ipv6Header
	for range maxExtHeaders {
		p.Proto = next
		switch next {
		case ip6HopByHop, ip6Routing, ip6DstOpts, ip6Mobility, ip6HIP, ip6Shim6:
			if len(b)-off < 8 {
				return ErrShort
			}
			next = b[off]
			off += (int(b[off+1]) + 1) * 8
		case ip6AH:
			if len(b)-off < 8 {
				return ErrShort
			}
			next = b[off]
			off += (int(b[off+1]) + 2) * 4
		case ip6Fragment:
			if len(b)-off < 8 {
				return ErrShort
			}
			next = b[off]
			fo := be16(b[off+2 : off+4])
			p.Fragment = true
			p.FragOffset = fo &^ 7
			off += 8
			if p.FragOffset != 0 {
				p.Proto = next
				return nil
			}
		default:
			return decodeTransport(b[off:], p)
		}
		if off > len(b) {
			return ErrShort
		}
	}
	return ErrHeader
}
