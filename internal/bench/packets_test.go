package bench

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/bittorrent"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/inspect/registry"
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
	d := smallUDP([]netip.Addr{netip.MustParseAddr("198.51.100.1")}, PortUDPSink, false)
	if len(d) != 1 || len(d[0].Data) != smallPayload || d[0].To.Port() != PortUDPSink {
		t.Fatalf("smallUDP = %+v", d)
	}
	// The DNS-like datagrams start with bytes no queue rule takes; the
	// zeros meet every UDP queue rule's first-byte test, and none queues
	// either.
	ds := registry.Builtin()
	for _, dns := range []bool{false, true} {
		for i, d := range smallUDP(peerAddrs4(40), PortUDPSink, dns) {
			raw := inspecttest.UDP(netip.MustParseAddrPort("10.0.1.2:40000"), d.To, d.Data)
			var pkt inspect.Packet
			if err := inspect.Decode(raw, &pkt); err != nil {
				t.Fatal(err)
			}
			for _, det := range ds {
				for _, f := range det.Prefilters() {
					if f.Matches(&pkt, len(raw)) {
						t.Errorf("datagram %d (dns-like %v) is queued by %s-%s", i, dns, det.Protocol(), f.Name)
					}
				}
			}
			if first := d.Data[0]; dns && (first < 0x80 || first > 0x9f) {
				t.Errorf("DNS-like datagram %d starts %#02x", i, first)
			}
		}
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

// The UDP floods of P2 must each be queued by exactly the prefilter they
// measure (of all the detectors `ftwall run` has by default), be
// recognised by it, and be dropped: the peer learned, the client locked.
func TestUDPFloodsAreQueuedAndDropped(t *testing.T) {
	client := netip.MustParseAddrPort("10.0.1.2:6881")
	peers := peerAddrs4(508)
	ds := registry.Builtin()
	set := &inspect.Settings{LAN: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, BlockUDP: true, TimeLock: true}
	for _, c := range []struct {
		name      string
		msgs      []Datagram
		port      uint16
		prefilter string // the rule "queue-<protocol>-<name>"
		protocol  inspect.Protocol
		kind      inspect.Kind
	}{
		{"ping", pingFlood(peers), PortFT, "fasttrack-ping", fasttrack.Protocol, fasttrack.KindPing},
		{"dht", dhtFlood(peers), PortBT, "bittorrent-dht", bittorrent.Protocol, bittorrent.KindDHTQuery},
		{"utp", utpFlood(peers), PortBT, "bittorrent-utp-syn", bittorrent.Protocol, bittorrent.KindUTPSyn},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.msgs) != len(peers) {
				t.Fatalf("%d datagrams for %d peers", len(c.msgs), len(peers))
			}
			distinct := map[string]bool{}
			for i, d := range c.msgs {
				distinct[string(d.Data)] = true
				if d.To != netip.AddrPortFrom(peers[i], c.port) {
					t.Fatalf("datagram %d to %v; want %v port %d", i, d.To, peers[i], c.port)
				}
				raw := inspecttest.UDP(client, d.To, d.Data)
				var pkt inspect.Packet
				if err := inspect.Decode(raw, &pkt); err != nil {
					t.Fatalf("datagram %d does not decode: %v", i, err)
				}
				var matched []string
				for _, det := range ds {
					for _, f := range det.Prefilters() {
						if f.Hook == inspect.HookForward && f.Matches(&pkt, len(raw)) {
							matched = append(matched, string(det.Protocol())+"-"+f.Name)
						}
					}
				}
				if len(matched) != 1 || matched[0] != c.prefilter {
					t.Fatalf("datagram %d (%q) is queued by %v; want only %s", i, d.Data, matched, c.prefilter)
				}
				var ev inspect.Evidence
				if !ds.Classify(&pkt, &ev) || ev.Protocol != c.protocol || ev.Kind != c.kind {
					t.Fatalf("datagram %d (%q): protocol %q kind %v; want %s kind %v", i, d.Data, ev.Protocol, ev.Kind, c.protocol, c.kind)
				}
				var dec inspect.Decision
				inspect.Decide(&ev, true, set, &dec)
				if dec.Verdict != inspect.Drop || !dec.Lock.Valid || dec.Lock.Addr != client.Addr() || dec.NPeers != 1 || dec.Peers[0].Addr != peers[i] {
					t.Fatalf("datagram %d: verdict %v, lock %+v, peers %v; want drop, %v locked, %v learned", i, dec.Verdict, dec.Lock, dec.Peers[:dec.NPeers], client.Addr(), peers[i])
				}
			}
			if c.name != "ping" && len(distinct) != len(peers) {
				t.Errorf("%d distinct payloads for %d peers; want one each (transaction or connection id)", len(distinct), len(peers))
			}
		})
	}
	// The DHT flood has both of aria2's queries, starting like its real ones.
	for i := range 2 {
		if q := dhtQuery(i); !strings.HasPrefix(string(q), "d1:ad2:id20:") {
			t.Errorf("dhtQuery(%d) = %q; want it to start like aria2's, d1:ad2:id20:", i, q)
		}
	}
	if !strings.Contains(string(dhtQuery(0)), "4:ping") || !strings.Contains(string(dhtQuery(1)), "9:get_peers") {
		t.Errorf("dhtQuery: %q, %q; want a ping and a get_peers", dhtQuery(0), dhtQuery(1))
	}
	if s := utpFlood(peers[:1])[0].Data; len(s) != 20 || s[0] != 0x41 || s[1] != 0 || string(s[8:12]) != "\x00\x00\x00\x00" {
		t.Errorf("uTP SYN % x; want libtorrent's 20 bytes 41 00 … with no timestamp difference", s)
	}
}

// The GET flood's handshake must fit its segments: SYN, SYN-ACK and ACK
// of the same connection, sequence numbers leading to the segment's,
// checksums right.
func TestGETHandshake(t *testing.T) {
	client := netip.MustParseAddr("10.0.1.2")
	peers := peerAddrs4(3)
	syn, synAck, ack := getHandshake(client, peers)
	get := getFlood(client, peers)
	if len(syn) != len(peers) || len(synAck) != len(peers) || len(ack) != len(peers) {
		t.Fatalf("%d/%d/%d handshake packets for %d peers", len(syn), len(synAck), len(ack), len(peers))
	}
	seg := func(d Datagram) (src, dst netip.AddrPort, seq, ackNo uint32, flags uint8) {
		var p inspect.Packet
		if err := inspect.Decode(d.Data, &p); err != nil {
			t.Fatalf("handshake packet does not decode: %v", err)
		}
		if sum := tcpChecksum(d.Data); sum != 0xffff && sum != 0 {
			t.Errorf("%v → %v: TCP checksum does not verify (%#x)", p.SrcAddrPort(), p.DstAddrPort(), sum)
		}
		if d.To.Addr() != p.Dst {
			t.Errorf("raw socket destination %v for a packet to %v", d.To, p.Dst)
		}
		l4 := d.Data[int(d.Data[0]&0x0f)*4:]
		return p.SrcAddrPort(), p.DstAddrPort(), binary.BigEndian.Uint32(l4[4:]), binary.BigEndian.Uint32(l4[8:]), l4[13]
	}
	for i := range peers {
		gs, gd, gseq, gack, _ := seg(get[i])
		s, d, seq, _, fl := seg(syn[i])
		if s != gs || d != gd || fl != inspecttest.FlagSYN || seq+1 != gseq {
			t.Errorf("SYN %d: %v → %v seq %d flags %#x; want %v → %v seq %d SYN", i, s, d, seq, fl, gs, gd, gseq-1)
		}
		s, d, seq, a, fl := seg(synAck[i])
		if s != gd || d != gs || fl != inspecttest.FlagSYN|inspecttest.FlagACK || seq+1 != gack || a != gseq {
			t.Errorf("SYN-ACK %d: %v → %v seq %d ack %d flags %#x", i, s, d, seq, a, fl)
		}
		s, d, seq, a, fl = seg(ack[i])
		if s != gs || d != gd || fl != inspecttest.FlagACK || seq != gseq || a != gack {
			t.Errorf("ACK %d: %v → %v seq %d ack %d flags %#x", i, s, d, seq, a, fl)
		}
	}
}
