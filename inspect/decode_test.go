package inspect_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

func TestDecodeIPv4Options(t *testing.T) {
	udp := inspecttest.UDPSegment(client4, peer4, inspecttest.Ping("KaZaA"))
	base := inspecttest.IPv4(client4.Addr(), peer4.Addr(), inspecttest.ProtoUDP, 0, udp)
	// Insert 4 bytes of options (NOP NOP NOP EOL): IHL 6.
	pkt := append(append(append([]byte{}, base[:20]...), 1, 1, 1, 0), base[20:]...)
	pkt[0] = 0x46
	pkt[3] += 4
	ev, ok := classify(t, pkt)
	if !ok || ev.Kind != fasttrack.KindPing || ev.Src != client4 || ev.Dst != peer4 {
		t.Fatalf("got ok=%v %+v", ok, ev)
	}
}

func TestDecodeIgnoresLinkPadding(t *testing.T) {
	pkt := append(inspecttest.UDP(client4, peer4, inspecttest.Ping("KaZaA")), 0, 0, 0, 0, 0, 0)
	ev, ok := classify(t, pkt)
	if !ok || ev.Kind != fasttrack.KindPing {
		t.Fatalf("padding after the IP packet broke classification: ok=%v", ok)
	}
}

func TestDecodeIPv6ExtensionHeaders(t *testing.T) {
	udp := inspecttest.UDPSegment(client6, peer6, inspecttest.Ping("fileshare"))
	exts := [][]inspecttest.Ext{
		{{Type: 0, Body: []byte{1, 4, 0, 0, 0, 0}}},
		{{Type: 0}, {Type: 60, Body: make([]byte, 14)}},
		{{Type: 43, Body: []byte{0, 0}}, {Type: 51, Body: make([]byte, 10)}},
		{{Type: 44, Body: []byte{0, 0, 0, 0, 0, 1}}}, // atomic fragment: offset 0, M 0
		{{Type: 0}, {Type: 44, Body: []byte{0, 0, 0, 0, 0, 1}}, {Type: 60}},
	}
	for i, e := range exts {
		pkt := inspecttest.IPv6(client6.Addr(), peer6.Addr(), inspecttest.ProtoUDP, udp, e...)
		var p inspect.Packet
		if err := inspect.Decode(pkt, &p); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if p.Proto != inspect.ProtoUDP || !p.Transport || p.SrcPort != client6.Port() {
			t.Fatalf("case %d: %+v", i, p)
		}
		var ev inspect.Evidence
		if !ft.Classify(&p, &ev) || string(ev.LockTag) != "fileshare" {
			t.Errorf("case %d: not a fileshare ping: %+v", i, ev)
		}
	}
}

func TestDecodeFragments(t *testing.T) {
	ping := inspecttest.UDPSegment(client4, peer4, inspecttest.Ping("KaZaA"))
	get := inspecttest.TCPSegment(client4, peer4, inspecttest.FlagACK, inspecttest.GetHash())
	// IPv4 first fragment with MF: the UDP length says more than the
	// fragment holds, so the datagram is not judged.
	longUDP := inspecttest.UDPSegment(client4, peer4, append(inspecttest.Ping("KaZaA"), make([]byte, 100)...))
	first := inspecttest.IPv4(client4.Addr(), peer4.Addr(), inspecttest.ProtoUDP, 0x2000, longUDP[:24])
	var p inspect.Packet
	var ev inspect.Evidence
	if err := inspect.Decode(first, &p); err != nil || !p.Fragment || p.FragOffset != 0 || !p.Truncated || !p.Transport {
		t.Fatalf("first fragment: err=%v %+v", err, p)
	}
	if ft.Classify(&p, &ev) {
		t.Error("partial UDP datagram classified")
	}
	// A first fragment carrying the HTTP headers is evidence.
	firstTCP := inspecttest.IPv4(client4.Addr(), peer4.Addr(), inspecttest.ProtoTCP, 0x2000, get)
	if err := inspect.Decode(firstTCP, &p); err != nil || !ft.Classify(&p, &ev) || ev.Kind != fasttrack.KindHTTPRequest {
		t.Errorf("first TCP fragment: err=%v kind=%v", err, ev.Kind)
	}
	// Later fragments never carry evidence, whatever their bytes look like.
	later := inspecttest.IPv4(client4.Addr(), peer4.Addr(), inspecttest.ProtoUDP, 0x2000|3, ping)
	if err := inspect.Decode(later, &p); err != nil || p.Transport || p.FragOffset != 24 || !p.Fragment {
		t.Fatalf("later fragment: err=%v %+v", err, p)
	}
	if ft.Classify(&p, &ev) {
		t.Error("later fragment classified")
	}
	laterTCP := inspecttest.IPv4(client4.Addr(), peer4.Addr(), inspecttest.ProtoTCP, 5, get)
	if err := inspect.Decode(laterTCP, &p); err != nil || ft.Classify(&p, &ev) {
		t.Errorf("later TCP fragment: err=%v classified=%v", err, ev.Kind)
	}
	// IPv6 fragment header with an offset.
	v6 := inspecttest.IPv6(client6.Addr(), peer6.Addr(), inspecttest.ProtoUDP,
		inspecttest.UDPSegment(client6, peer6, inspecttest.Ping("KaZaA")),
		inspecttest.Ext{Type: 44, Body: []byte{0, 0x10, 0, 0, 0, 1}})
	if err := inspect.Decode(v6, &p); err != nil || p.Transport || p.FragOffset != 16 || p.Proto != inspect.ProtoUDP {
		t.Fatalf("ipv6 later fragment: err=%v %+v", err, p)
	}
	if ft.Classify(&p, &ev) {
		t.Error("ipv6 later fragment classified")
	}
}

func TestDecodeTruncatedCapture(t *testing.T) {
	full := inspecttest.UDP(client4, peer4, inspecttest.Ping("KaZaA"))
	var p inspect.Packet
	var ev inspect.Evidence
	if err := inspect.Decode(full[:len(full)-1], &p); err != nil || !p.Truncated {
		t.Fatalf("err=%v truncated=%v", err, p.Truncated)
	}
	if ft.Classify(&p, &ev) {
		t.Error("truncated ping classified")
	}
	if err := inspect.Decode(full[:24], &p); !errors.Is(err, inspect.ErrTruncated) {
		t.Errorf("UDP header cut: err=%v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := inspecttest.UDP(client4, peer4, inspecttest.Ping("KaZaA"))
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	v6 := inspecttest.UDP(client6, peer6, inspecttest.Ping("KaZaA"))
	cases := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, inspect.ErrShort},
		{"version 5", mod(func(b []byte) []byte { b[0] = 0x55; return b }), inspect.ErrVersion},
		{"ipv4 short", good[:19], inspect.ErrShort},
		{"ipv4 ihl 4", mod(func(b []byte) []byte { b[0] = 0x44; return b }), inspect.ErrHeader},
		{"ipv4 ihl beyond packet", mod(func(b []byte) []byte { b[0] = 0x4f; return b[:40] }), inspect.ErrShort},
		{"ipv4 total below ihl", mod(func(b []byte) []byte { b[2], b[3] = 0, 10; return b }), inspect.ErrHeader},
		{"udp length below 8", mod(func(b []byte) []byte { b[24], b[25] = 0, 4; return b }), inspect.ErrTransport},
		{"ipv6 short", v6[:39], inspect.ErrShort},
		{"ipv6 ext header cut", inspecttest.IPv6(client6.Addr(), peer6.Addr(), inspecttest.ProtoUDP, nil, inspecttest.Ext{Type: 0})[:44], inspect.ErrShort},
		{"tcp data offset 4", func() []byte {
			b := inspecttest.TCP(client4, peer4, []byte("x"))
			b[32] = 4 << 4
			return b
		}(), inspect.ErrTransport},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p inspect.Packet
			if err := inspect.Decode(c.pkt, &p); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var ev inspect.Evidence
			if ft.Classify(&p, &ev) {
				t.Error("undecodable packet classified")
			}
		})
	}
	// A long chain of extension headers is refused, not walked forever.
	var chain []inspecttest.Ext
	for range 20 {
		chain = append(chain, inspecttest.Ext{Type: 60})
	}
	var p inspect.Packet
	if err := inspect.Decode(inspecttest.IPv6(client6.Addr(), peer6.Addr(), inspecttest.ProtoUDP, nil, chain...), &p); !errors.Is(err, inspect.ErrHeader) {
		t.Errorf("20 extension headers: err = %v", err)
	}
}

func TestDecodeOtherProtocols(t *testing.T) {
	var p inspect.Packet
	icmp6 := inspecttest.IPv6(client6.Addr(), peer6.Addr(), 58, []byte{128, 0, 0, 0, 0, 1, 0, 1})
	if err := inspect.Decode(icmp6, &p); err != nil || p.Proto != 58 || p.Transport {
		t.Fatalf("icmpv6: err=%v %+v", err, p)
	}
	if p.Src != client6.Addr() || p.Dst != netip.MustParseAddr("2001:db8:100::7") {
		t.Errorf("addresses %v %v", p.Src, p.Dst)
	}
}
