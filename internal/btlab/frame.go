package btlab

import (
	"encoding/binary"
	"net/netip"
)

// parseFrame decodes an Ethernet frame holding IPv4 or IPv6 with TCP or
// UDP (IPv6 extension headers other than none are not followed: the lab's
// clients send none). data is the captured part, wire the frame's length.
// It returns the packet (without Time, Kind) and the TCP sequence number.
func parseFrame(data []byte, wire int) (p Packet, seq uint32, ok bool) {
	if len(data) < 14 {
		return p, 0, false
	}
	var proto byte
	var l4 []byte
	var l4wire int // bytes of L4 on the wire
	switch binary.BigEndian.Uint16(data[12:14]) {
	case 0x0800:
		ip := data[14:]
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return p, 0, false
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if ihl < 20 || len(ip) < ihl || binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 {
			return p, 0, false // not a first fragment
		}
		if total == 0 { // GSO packets may carry 0
			total = wire - 14
		}
		src, _ := netip.AddrFromSlice(ip[12:16])
		dst, _ := netip.AddrFromSlice(ip[16:20])
		p.Src, p.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		proto, l4, l4wire = ip[9], ip[ihl:], total-ihl
	case 0x86dd:
		ip := data[14:]
		if len(ip) < 40 {
			return p, 0, false
		}
		src, _ := netip.AddrFromSlice(ip[8:24])
		dst, _ := netip.AddrFromSlice(ip[24:40])
		p.Src, p.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if plen == 0 {
			plen = wire - 14 - 40
		}
		proto, l4, l4wire = ip[6], ip[40:], plen
	default:
		return p, 0, false
	}
	switch proto {
	case 6:
		if len(l4) < 20 {
			return p, 0, false
		}
		off := int(l4[12]>>4) * 4
		if off < 20 || len(l4) < off {
			return p, 0, false
		}
		p.Proto = "tcp"
		p.Src = netip.AddrPortFrom(p.Src.Addr(), binary.BigEndian.Uint16(l4[0:2]))
		p.Dst = netip.AddrPortFrom(p.Dst.Addr(), binary.BigEndian.Uint16(l4[2:4]))
		seq = binary.BigEndian.Uint32(l4[4:8])
		p.Flags = l4[13]
		p.Payload = l4[off:]
		p.Len = max(l4wire-off, len(p.Payload))
	case 17:
		if len(l4) < 8 {
			return p, 0, false
		}
		p.Proto = "udp"
		p.Src = netip.AddrPortFrom(p.Src.Addr(), binary.BigEndian.Uint16(l4[0:2]))
		p.Dst = netip.AddrPortFrom(p.Dst.Addr(), binary.BigEndian.Uint16(l4[2:4]))
		p.Payload = l4[8:]
		p.Len = max(int(binary.BigEndian.Uint16(l4[4:6]))-8, len(p.Payload))
	default:
		return p, 0, false
	}
	return p, seq, true
}
