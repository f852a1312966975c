package rawsend

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

const (
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	udpHeaderLen  = 8
	defaultTTL    = 64
	protoUDP      = 17
	maxUDPPayload = 65535 - ipv6HeaderLen - udpHeaderLen
)

var errFamily = errors.New("source and destination must be both IPv4 or both IPv6")

// AppendUDP appends a complete IPv4 or IPv6 packet carrying one UDP datagram
// from src to dst with payload, checksums filled in. id is the IPv4
// identification field (ignored for IPv6).
func AppendUDP(buf []byte, src, dst netip.AddrPort, payload []byte, id uint16) ([]byte, error) {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	if !sa.IsValid() || !da.IsValid() || sa.Is4() != da.Is4() {
		return buf, errFamily
	}
	if len(payload) > maxUDPPayload {
		return buf, errors.New("payload too large for one UDP datagram")
	}
	udpLen := udpHeaderLen + len(payload)
	start := len(buf)
	if sa.Is4() {
		total := ipv4HeaderLen + udpLen
		buf = append(buf,
			0x45, 0, byte(total>>8), byte(total),
			byte(id>>8), byte(id), 0x40, 0, // DF
			defaultTTL, protoUDP, 0, 0)
		s4, d4 := sa.As4(), da.As4()
		buf = append(buf, s4[:]...)
		buf = append(buf, d4[:]...)
		binary.BigEndian.PutUint16(buf[start+10:], checksum(buf[start:start+ipv4HeaderLen], 0))
	} else {
		buf = append(buf, 0x60, 0, 0, 0, byte(udpLen>>8), byte(udpLen), protoUDP, defaultTTL)
		s16, d16 := sa.As16(), da.As16()
		buf = append(buf, s16[:]...)
		buf = append(buf, d16[:]...)
	}
	u := len(buf)
	buf = append(buf, byte(src.Port()>>8), byte(src.Port()), byte(dst.Port()>>8), byte(dst.Port()),
		byte(udpLen>>8), byte(udpLen), 0, 0)
	buf = append(buf, payload...)
	sum := checksum(buf[u:], pseudoHeaderSum(sa, da, udpLen))
	if sum == 0 {
		sum = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(buf[u+6:], sum)
	return buf, nil
}

func pseudoHeaderSum(src, dst netip.Addr, udpLen int) uint32 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
	}
	return sum + protoUDP + uint32(udpLen)
}

// checksum is the Internet checksum (RFC 1071) of b, starting from initial.
func checksum(b []byte, initial uint32) uint16 {
	sum := initial
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
