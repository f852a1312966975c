package inetsum

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// The IPv4 header example of RFC 1071's companions (a well-known capture):
// its checksum field is 0xb861.
func TestIPv4HeaderChecksum(t *testing.T) {
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := Checksum(h, 0); got != 0xb861 {
		t.Fatalf("checksum %#04x, want 0xb861", got)
	}
	binary.BigEndian.PutUint16(h[10:], 0xb861)
	if got := Checksum(h, 0); got != 0 {
		t.Errorf("a header with its checksum sums to %#04x, want 0", got)
	}
}

// A UDP datagram with its checksum filled in verifies to zero, for IPv4,
// IPv4-mapped and IPv6 addresses and an odd payload length.
func TestUDPVerifies(t *testing.T) {
	for _, c := range []struct{ src, dst string }{
		{"10.0.1.2", "198.51.100.7"},
		{"::ffff:10.0.1.2", "::ffff:198.51.100.7"},
		{"fd00:1::2", "2001:db8:100::7"},
	} {
		src, dst := netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst)
		u := []byte{0x0d, 0x80, 0x04, 0xbe, 0, 13, 0, 0, 0x29, 0, 0, 0, 'K'}
		binary.BigEndian.PutUint16(u[6:], Checksum(u, Pseudo(src, dst, 17, len(u))))
		if got := Checksum(u, Pseudo(src, dst, 17, len(u))); got != 0 {
			t.Errorf("%s → %s: datagram verifies to %#04x, want 0", c.src, c.dst, got)
		}
		if c.src[0] == ':' && Pseudo(src, dst, 17, 13) != Pseudo(src.Unmap(), dst.Unmap(), 17, 13) {
			t.Errorf("IPv4-mapped addresses sum differently from IPv4")
		}
	}
}
