// Package inetsum computes the Internet checksum (RFC 1071) of IP, UDP and
// TCP headers, for the packets ftwall builds itself (spoofed pongs and
// probes) and for test fixtures.
package inetsum

import "net/netip"

// Pseudo returns the partial sum of the UDP/TCP pseudo-header for a segment
// of length bytes of protocol proto from src to dst (IPv4 when src is IPv4
// or IPv4-mapped, IPv6 otherwise), to pass to Checksum as its start.
func Pseudo(src, dst netip.Addr, proto uint8, length int) uint32 {
	var sum uint32
	if src.Unmap().Is4() {
		s, d := src.Unmap().As4(), dst.Unmap().As4()
		sum = add(add(0, s[:]), d[:])
	} else {
		s, d := src.As16(), dst.As16()
		sum = add(add(0, s[:]), d[:])
	}
	return sum + uint32(proto) + uint32(length)
}

// Checksum is the Internet checksum of b, starting from the partial sum
// initial (0, or Pseudo's).
func Checksum(b []byte, initial uint32) uint16 {
	sum := add(initial, b)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// add adds b to sum as big-endian 16-bit words, an odd last byte padded
// with zero.
func add(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}
