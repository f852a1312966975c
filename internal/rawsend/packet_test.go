package rawsend

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ftwall/ftwall/internal/inetsum"
)

func TestAppendUDP(t *testing.T) {
	payload := []byte{0x29, 0, 0, 0, 0x29, 1, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef}
	for _, tc := range []struct {
		name     string
		src, dst netip.AddrPort
		first    gopacket.LayerType
	}{
		{"ipv4", netip.MustParseAddrPort("198.51.100.7:1214"), netip.MustParseAddrPort("10.0.1.2:3456"), layers.LayerTypeIPv4},
		{"ipv6", netip.MustParseAddrPort("[2001:db8:100::7]:1214"), netip.MustParseAddrPort("[fd00:1::2]:3456"), layers.LayerTypeIPv6},
		{"odd payload", netip.MustParseAddrPort("198.51.100.7:1"), netip.MustParseAddrPort("10.0.1.2:2"), layers.LayerTypeIPv4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := payload
			if tc.name == "odd payload" {
				p = payload[:5]
			}
			pkt, err := AppendUDP(nil, tc.src, tc.dst, p, 7)
			if err != nil {
				t.Fatal(err)
			}
			g := gopacket.NewPacket(pkt, tc.first, gopacket.Default)
			if el := g.ErrorLayer(); el != nil {
				t.Fatalf("decode: %v", el.Error())
			}
			var sa, da netip.Addr
			if ip4, ok := g.NetworkLayer().(*layers.IPv4); ok {
				sa, _ = netip.AddrFromSlice(ip4.SrcIP)
				da, _ = netip.AddrFromSlice(ip4.DstIP)
				if inetsum.Checksum(pkt[:20], 0) != 0 {
					t.Errorf("IPv4 header checksum does not verify")
				}
				if int(ip4.Length) != len(pkt) {
					t.Errorf("IPv4 total length %d, packet %d", ip4.Length, len(pkt))
				}
			} else {
				ip6 := g.NetworkLayer().(*layers.IPv6)
				sa, _ = netip.AddrFromSlice(ip6.SrcIP)
				da, _ = netip.AddrFromSlice(ip6.DstIP)
				if int(ip6.Length) != len(pkt)-40 {
					t.Errorf("IPv6 payload length %d, want %d", ip6.Length, len(pkt)-40)
				}
			}
			udp := g.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if got := netip.AddrPortFrom(sa, uint16(udp.SrcPort)); got != tc.src {
				t.Errorf("source %v, want %v", got, tc.src)
			}
			if got := netip.AddrPortFrom(da, uint16(udp.DstPort)); got != tc.dst {
				t.Errorf("destination %v, want %v", got, tc.dst)
			}
			if !bytes.Equal(udp.Payload, p) {
				t.Errorf("payload %x, want %x", udp.Payload, p)
			}
			// The UDP checksum verifies when summed with the pseudo header.
			udpSeg := pkt[len(pkt)-8-len(p):]
			if inetsum.Checksum(udpSeg, inetsum.Pseudo(sa, da, protoUDP, len(udpSeg))) != 0 {
				t.Errorf("UDP checksum does not verify")
			}
		})
	}
}

func TestAppendUDPErrors(t *testing.T) {
	v4 := netip.MustParseAddrPort("198.51.100.7:1")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:1")
	if _, err := AppendUDP(nil, v4, v6, nil, 0); err == nil {
		t.Error("mixed families accepted")
	}
	if _, err := AppendUDP(nil, netip.AddrPort{}, v4, nil, 0); err == nil {
		t.Error("invalid source accepted")
	}
	if _, err := AppendUDP(nil, v4, v4, make([]byte, 70000), 0); err == nil {
		t.Error("oversized payload accepted")
	}
}

func BenchmarkAppendUDP(b *testing.B) {
	src := netip.MustParseAddrPort("198.51.100.7:1214")
	dst := netip.MustParseAddrPort("10.0.1.2:3456")
	p := make([]byte, 13)
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendUDP(buf[:0], src, dst, p, 1)
	}
}
