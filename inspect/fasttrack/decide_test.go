package fasttrack_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// evidence classifies a fixture with the FastTrack detector.
func evidence(t *testing.T, pkt []byte) inspect.Evidence {
	t.Helper()
	var p inspect.Packet
	if err := inspect.Decode(pkt, &p); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	var ev inspect.Evidence
	if !ft.Classify(&p, &ev) {
		t.Fatalf("fixture not classified")
	}
	return ev
}

func decide(t *testing.T, pkt []byte, fromLAN bool, s *inspect.Settings) (inspect.Evidence, inspect.Decision) {
	t.Helper()
	ev := evidence(t, pkt)
	var d inspect.Decision
	inspect.Decide(&ev, fromLAN, s, &d)
	return ev, d
}

func peerStrings(d *inspect.Decision) []string {
	var out []string
	for _, p := range d.PeerList() {
		out = append(out, netip.AddrPortFrom(p.Addr, p.Port).String()+" "+p.Reason)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecidePingFromLAN(t *testing.T) {
	for _, fam := range families() {
		t.Run(fam.name, func(t *testing.T) {
			_, d := decide(t, inspecttest.UDP(fam.client, fam.peer, inspecttest.Ping("KaZaA")), true, settings())
			if d.Verdict != inspect.Drop {
				t.Errorf("verdict %v, want drop", d.Verdict)
			}
			if want := []string{fam.peer.String() + " udp-ping"}; !equalStrings(peerStrings(&d), want) {
				t.Errorf("peers %v, want %v", peerStrings(&d), want)
			}
			l := d.Lock
			if !l.Valid || l.Addr != fam.client.Addr() || l.Port != fam.client.Port() || string(l.Tag) != "KaZaA" || l.Reason != fasttrack.ReasonUDPPing {
				t.Errorf("lock %+v", l)
			}
			r := d.Reply
			if !r.Valid || r.From != fam.peer || r.To != fam.client {
				t.Fatalf("reply %+v", r)
			}
			var ev fasttrack.Message
			if !fasttrack.ClassifyUDP(r.Payload, &ev) || ev.Kind != fasttrack.KindNodePong {
				t.Errorf("reply payload % x is not a node pong", r.Payload)
			}
		})
	}
}

func TestDecideSupernodePongReply(t *testing.T) {
	s := settings()
	s.PongType = fasttrack.MsgSupernodePong
	_, d := decide(t, inspecttest.UDP(client4, peer4, inspecttest.Ping("Grokster")), true, s)
	var ev fasttrack.Message
	if !d.Reply.Valid || !fasttrack.ClassifyUDP(d.Reply.Payload, &ev) || ev.Kind != fasttrack.KindSupernodePong || string(ev.Network) != "Grokster" {
		t.Fatalf("reply % x: %+v", d.Reply.Payload, ev)
	}
}

func TestDecideNoUDPBlock(t *testing.T) {
	s := settings()
	s.BlockUDP = false
	_, d := decide(t, inspecttest.UDP(client4, peer4, inspecttest.Ping("KaZaA")), true, s)
	if d.Verdict != inspect.Accept || d.Reply.Valid || d.NPeers != 1 || !d.Lock.Valid {
		t.Errorf("with BlockUDP off: %+v", d)
	}
}

func TestDecideTimeLockOff(t *testing.T) {
	s := settings()
	s.TimeLock = false
	_, d := decide(t, inspecttest.TCP(client4, peer4, inspecttest.GetHash()), true, s)
	if d.Lock.Valid || d.Verdict != inspect.Drop || d.NPeers != 2 {
		t.Errorf("with TimeLock off: %+v", d)
	}
}

func TestDecideProbeAnswer(t *testing.T) {
	for _, fam := range []struct {
		name   string
		client netip.AddrPort
		own    netip.Addr
	}{{"ipv4", client4, own4}, {"ipv6", client6, own6}} {
		for _, payload := range [][]byte{inspecttest.NodePong(5), inspecttest.SupernodePong("KaZaA")} {
			_, d := decide(t, inspecttest.UDP(fam.client, netip.AddrPortFrom(fam.own, 40000), payload), true, settings())
			if d.Verdict != inspect.Accept || d.NPeers != 0 || d.Reply.Valid {
				t.Errorf("%s: probe answer %+v", fam.name, d)
			}
			if !d.Lock.Valid || d.Lock.Addr != fam.client.Addr() || d.Lock.Port != fam.client.Port() || d.Lock.Reason != inspect.ReasonProbeAnswer {
				t.Errorf("%s: lock %+v", fam.name, d.Lock)
			}
		}
	}
}

func TestDecidePongToOutside(t *testing.T) {
	_, d := decide(t, inspecttest.UDP(client4, peer4, inspecttest.NodePong(5)), true, settings())
	if d.Verdict != inspect.Drop || !equalStrings(peerStrings(&d), []string{peer4.String() + " udp-pong"}) || d.Lock.Reason != fasttrack.ReasonUDPPong {
		t.Errorf("%+v", d)
	}
}

func TestDecideHTTP(t *testing.T) {
	s := settings()
	_, d := decide(t, inspecttest.TCP(client4, peer4, inspecttest.GetHash()), true, s)
	want := []string{peer4.String() + " http-request", inspecttest.Supernode + " supernode-header"}
	if d.Verdict != inspect.Drop || !equalStrings(peerStrings(&d), want) {
		t.Errorf("request: verdict %v peers %v, want drop %v", d.Verdict, peerStrings(&d), want)
	}
	// The lock port comes from X-Kazaa-IP (the client's listening port).
	if !d.Lock.Valid || d.Lock.Addr != client4.Addr() || d.Lock.Port != 3531 || d.Lock.Reason != fasttrack.ReasonHTTPRequest || string(d.Lock.Tag) != "KaZaA" {
		t.Errorf("request lock %+v", d.Lock)
	}
	if d.Reply.Valid {
		t.Error("reply for an HTTP request")
	}

	_, d = decide(t, inspecttest.TCP(client6, peer6, inspecttest.GetIDName()), true, s)
	if d.Verdict != inspect.Drop || d.Lock.Port != 0 || !d.Lock.Valid || !equalStrings(peerStrings(&d), []string{peer6.String() + " http-request"}) {
		t.Errorf("request without X-Kazaa-IP: %+v", d)
	}

	// A LAN host serving (response) or pushing (GIVE) to the outside.
	_, d = decide(t, inspecttest.TCP(client4, peer4, inspecttest.Response(206)), true, s)
	if d.Verdict != inspect.Drop || !equalStrings(peerStrings(&d), []string{peer4.String() + " http-response"}) ||
		d.Lock.Addr != client4.Addr() || d.Lock.Reason != fasttrack.ReasonHTTPResponse || d.Lock.Port != 1214 {
		t.Errorf("response: %+v", d)
	}
	_, d = decide(t, inspecttest.TCP(client4, peer4, inspecttest.Give(99)), true, s)
	if d.Verdict != inspect.Drop || !equalStrings(peerStrings(&d), []string{peer4.String() + " give"}) ||
		d.Lock.Addr != client4.Addr() || d.Lock.Reason != fasttrack.ReasonGive {
		t.Errorf("give: %+v", d)
	}
}

func TestDecideNotFromLAN(t *testing.T) {
	for _, pkt := range [][]byte{
		inspecttest.UDP(peer4, client4, inspecttest.Ping("KaZaA")),
		inspecttest.TCP(peer4, client4, inspecttest.GetHash()),
		inspecttest.TCP(peer4, client4, inspecttest.Give(1)),
		inspecttest.UDP(peer4, client4, inspecttest.SupernodePong("KaZaA")),
	} {
		_, d := decide(t, pkt, false, settings())
		if d.Verdict != inspect.Accept || d.NPeers != 0 || d.Lock.Valid || d.Reply.Valid {
			t.Errorf("outside evidence acted on: %+v", d)
		}
	}
}

func TestDecideAddressRules(t *testing.T) {
	s := settings()
	hdr := func(super string) []byte {
		return inspecttest.Lines("GET /.hash="+inspecttest.Hash+" HTTP/1.1", "X-Kazaa-SupernodeIP: "+super)
	}
	cases := []struct {
		name        string
		pkt         []byte
		verdict     inspect.Verdict
		peers       []string
		locked      bool
		replyWanted bool
	}{
		{"supernode private", inspecttest.TCP(client4, peer4, hdr("192.168.1.5:1214")), inspect.Drop, []string{peer4.String() + " http-request"}, true, false},
		{"supernode shared rfc6598", inspecttest.TCP(client4, peer4, hdr("100.64.1.1:1214")), inspect.Drop, []string{peer4.String() + " http-request"}, true, false},
		{"supernode loopback", inspecttest.TCP(client4, peer4, hdr("127.0.0.1:1214")), inspect.Drop, []string{peer4.String() + " http-request"}, true, false},
		{"supernode multicast", inspecttest.TCP(client4, peer4, hdr("224.0.0.5:1214")), inspect.Drop, []string{peer4.String() + " http-request"}, true, false},
		{"supernode own", inspecttest.TCP(client4, peer4, hdr("203.0.113.1:1214")), inspect.Drop, []string{peer4.String() + " http-request"}, true, false},
		{"supernode allowlisted", inspecttest.TCP(client4, peer4, hdr("203.0.113.200:1214")), inspect.Drop, []string{peer4.String() + " http-request"}, true, false},
		{"supernode same as destination", inspecttest.TCP(client4, peer4, hdr(peer4.String())), inspect.Drop, []string{peer4.String() + " http-request"}, true, false},
		{"supernode ipv6 in brackets", inspecttest.TCP(client4, peer4, hdr("[2001:db8:5::1]:1214")), inspect.Drop, []string{peer4.String() + " http-request", "[2001:db8:5::1]:1214 supernode-header"}, true, false},
		{"destination allowlisted", inspecttest.TCP(client4, netip.MustParseAddrPort("203.0.113.200:80"), inspecttest.GetIDName()), inspect.Accept, nil, true, false},
		{"ping to allowlisted", inspecttest.UDP(client6, netip.MustParseAddrPort("[2001:db8:ffff::1]:1214"), inspecttest.Ping("KaZaA")), inspect.Accept, nil, true, false},
		{"ping to a LAN address", inspecttest.UDP(client4, netip.MustParseAddrPort("10.0.2.2:1214"), inspecttest.Ping("KaZaA")), inspect.Drop, nil, true, true},
		{"ping to link-local v6", inspecttest.UDP(client6, netip.MustParseAddrPort("[fe80::1]:1214"), inspecttest.Ping("KaZaA")), inspect.Drop, nil, true, true},
		{"client allowlisted", inspecttest.UDP(netip.MustParseAddrPort("203.0.113.200:5000"), peer4, inspecttest.Ping("KaZaA")), inspect.Accept, nil, false, false},
		{"client is the firewall", inspecttest.UDP(netip.AddrPortFrom(own4, 5000), peer4, inspecttest.Ping("KaZaA")), inspect.Accept, nil, false, false},
		{"0x2A is not acted on", inspecttest.UDP(client4, peer4, inspecttest.ID(1)), inspect.Accept, nil, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, d := decide(t, c.pkt, true, s)
			if d.Verdict != c.verdict || !equalStrings(peerStrings(&d), c.peers) || d.Lock.Valid != c.locked || d.Reply.Valid != c.replyWanted {
				t.Errorf("verdict %v peers %v locked %v reply %v; want %v %v %v %v",
					d.Verdict, peerStrings(&d), d.Lock.Valid, d.Reply.Valid, c.verdict, c.peers, c.locked, c.replyWanted)
			}
		})
	}
}

func TestDecideResetsDecision(t *testing.T) {
	s := settings()
	ev := evidence(t, inspecttest.UDP(client4, peer4, inspecttest.Ping("KaZaA")))
	var d inspect.Decision
	inspect.Decide(&ev, true, s, &d)
	first := append([]byte{}, d.Reply.Payload...)
	inspect.Decide(&inspect.Evidence{}, true, s, &d)
	if d.Verdict != inspect.Accept || d.NPeers != 0 || d.Lock.Valid || d.Reply.Valid || d.Reply.Payload != nil {
		t.Errorf("not reset: %+v", d)
	}
	inspect.Decide(&ev, true, s, &d)
	if !bytes.Equal(first, d.Reply.Payload) {
		t.Errorf("reply differs between identical decisions: % x vs % x", first, d.Reply.Payload)
	}
}

func TestPublicUnicast(t *testing.T) {
	for a, want := range map[string]bool{
		"198.51.100.1": true, "203.0.113.9": true, "192.0.2.1": true, "8.8.8.8": true, "2001:db8::1": true,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.0.1": false, "100.64.0.1": false, "100.127.255.255": false,
		"100.128.0.1": true, "127.0.0.1": false, "0.1.2.3": false, "240.0.0.1": false, "255.255.255.255": false,
		"169.254.1.1": false, "224.0.0.1": false, "fd00::1": false, "fe80::1": false, "::1": false, "ff02::1": false,
		"::ffff:198.51.100.1": true, "::ffff:10.0.0.1": false,
	} {
		if got := inspect.PublicUnicast(netip.MustParseAddr(a)); got != want {
			t.Errorf("PublicUnicast(%s) = %v, want %v", a, got, want)
		}
	}
}
