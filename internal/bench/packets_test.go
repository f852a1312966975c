package bench

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// The floods must be what ftwall inspects: a ping and a FastTrack GET.
func TestFloodsAreFastTrack(t *testing.T) {
	client := netip.MustParseAddr("10.0.1.2")
	peers := peerAddrs4(3)
	var pkt inspect.Packet
	var ev inspect.Evidence
	for i, d := range pingFlood(peers) {
		if d.To != netip.AddrPortFrom(peers[i], PortFT) {
			t.Errorf("ping %d to %v", i, d.To)
		}
		raw := inspecttest.UDP(netip.AddrPortFrom(client, 40000), d.To, d.Data)
		if err := inspect.Decode(raw, &pkt); err != nil || !(inspect.Detectors{fasttrack.New()}).Classify(&pkt, &ev) || ev.Kind != fasttrack.KindPing {
			t.Errorf("ping flood datagram %d: decode %v, kind %v; want a ping", i, err, ev.Kind)
		}
	}
	for i, d := range getFlood(client, peers) {
		if d.To.Addr() != peers[i] {
			t.Errorf("GET %d to %v", i, d.To)
		}
		if err := inspect.Decode(d.Data, &pkt); err != nil {
			t.Fatalf("GET packet %d does not decode: %v", i, err)
		}
		if pkt.Src != client || pkt.Dst != peers[i] || pkt.DstPort != PortFT {
			t.Errorf("GET packet %d: %v → %v:%d", i, pkt.Src, pkt.Dst, pkt.DstPort)
		}
		if !(inspect.Detectors{fasttrack.New()}).Classify(&pkt, &ev) || ev.Kind != fasttrack.KindHTTPRequest {
			t.Errorf("GET packet %d: kind %v; want a FastTrack HTTP request", i, ev.Kind)
		}
		if ev.Hint.IsValid() {
			t.Errorf("GET packet %d names a supernode %v; each request should name one peer", i, ev.Hint)
		}
		// The TCP checksum over the pseudo-header must be right, or the
		// receiving stack would not count as realistic.
		if sum := tcpChecksum(d.Data); sum != 0xffff && sum != 0 {
			t.Errorf("GET packet %d: TCP checksum does not verify (%#x)", i, sum)
		}
	}
}

// tcpChecksum sums an IPv4 TCP packet's segment with its pseudo-header; a
// correct checksum gives 0xffff.
func tcpChecksum(p []byte) uint16 {
	ihl := int(p[0]&0x0f) * 4
	seg := p[ihl:]
	var sum uint32
	for _, b := range [][]byte{p[12:16], p[16:20]} {
		sum += uint32(binary.BigEndian.Uint16(b)) + uint32(binary.BigEndian.Uint16(b[2:]))
	}
	sum += 6 + uint32(len(seg))
	for i := 0; i+1 < len(seg); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(seg[i:]))
	}
	if len(seg)%2 == 1 {
		sum += uint32(seg[len(seg)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

func TestSmallUDP(t *testing.T) {
	d := smallUDP([]netip.Addr{netip.MustParseAddr("198.51.100.1")}, PortUDPSink)
	if len(d) != 1 || len(d[0].Data) != smallPayload || d[0].To.Port() != PortUDPSink {
		t.Fatalf("smallUDP = %+v", d)
	}
	// 14 Ethernet + 20 IPv4 + 8 UDP + payload + 4 FCS = 64.
	if 14+20+8+smallPayload+4 != 64 {
		t.Errorf("payload %d does not make 64-byte frames", smallPayload)
	}
}

func TestPeerAddrs(t *testing.T) {
	p := peerAddrs4(508)
	if len(p) != 508 {
		t.Fatalf("peerAddrs4(508) gave %d", len(p))
	}
	seen := map[netip.Addr]bool{}
	for _, a := range p {
		if seen[a] {
			t.Fatalf("duplicate peer %v", a)
		}
		seen[a] = true
		if !anyPeers4.Contains(a) && !morePeers4.Contains(a) {
			t.Errorf("peer %v outside the documentation ranges", a)
		}
		if b := a.As4(); b[3] == 0 || b[3] == 255 {
			t.Errorf("peer %v is a network or broadcast address", a)
		}
	}
	if p[0] != netip.MustParseAddr("198.51.100.1") || p[254] != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("order: first %v, 255th %v", p[0], p[254])
	}
	if len(peerAddrs4(1000)) != 508 {
		t.Error("peerAddrs4 went beyond the two /24s")
	}
}

func TestSockaddr(t *testing.T) {
	b, err := sockaddr(netip.MustParseAddrPort("198.51.100.7:1214"), false)
	if err != nil || len(b) != 16 || b[2] != 0x04 || b[3] != 0xbe || b[4] != 198 || b[7] != 7 {
		t.Errorf("IPv4 sockaddr %x, %v", b, err)
	}
	b, err = sockaddr(netip.MustParseAddrPort("[2001:db8::1]:9"), true)
	if err != nil || len(b) != 28 || b[3] != 9 || b[8] != 0x20 || b[23] != 1 {
		t.Errorf("IPv6 sockaddr %x, %v", b, err)
	}
	if _, err := sockaddr(netip.MustParseAddrPort("[2001:db8::1]:9"), false); err == nil {
		t.Error("IPv6 destination on an IPv4 socket: want an error")
	}
}

func TestVerdictDelta(t *testing.T) {
	before := map[uint16]uint32{0: 4294967000, 1: 10}
	after := map[uint16]uint32{0: 200, 1: 60, 2: 5}
	if got := verdictDelta(before, after); got != 296+200+50+5 {
		t.Errorf("verdictDelta = %d; want %d (wrapping counter, new queue)", got, 296+200+50+5)
	}
}
