package inspect

import "net/netip"

const ipv4MinHeader = 20

func decodeIPv4(b []byte, p *Packet) error {
	if len(b) < ipv4MinHeader {
		return ErrShort
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < ipv4MinHeader {
		return ErrHeader
	}
	if len(b) < ihl {
		return ErrShort
	}
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = b[9]

	total := int(be16(b[2:4]))
	switch {
	case total == 0:
		// Segmentation offload: the kernel leaves the length at zero for
		// aggregates; the buffer is the packet.
		total = len(b)
	case total < ihl:
		return ErrHeader
	case total > len(b):
		p.Truncated = true
		total = len(b)
	}

	frag := be16(b[6:8])
	p.FragOffset = (frag & 0x1fff) * 8
	p.Fragment = frag&0x2000 != 0 || p.FragOffset != 0
	if p.FragOffset != 0 {
		return nil // no transport header in a later fragment
	}
	return decodeTransport(b[ihl:total], p)
}
