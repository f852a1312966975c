package rawsend

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/ftwall/ftwall/internal/inetsum"
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
		binary.BigEndian.PutUint16(buf[start+10:], inetsum.Checksum(buf[start:start+ipv4HeaderLen], 0))
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
	sum := inetsum.Checksum(buf[u:], inetsum.Pseudo(sa, da, protoUDP, udpLen))
	if sum == 0 {
		sum = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(buf[u+6:], sum)
	return buf, nil
}
