package bittorrent_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/bittorrent"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// Lab-like endpoints (namespace-only and documentation addresses).
var (
	client4  = netip.MustParseAddrPort("10.0.1.2:6881")
	node4    = netip.MustParseAddrPort("203.0.113.2:6881")
	tracker4 = netip.MustParseAddrPort("203.0.113.2:6969")
	seeder4  = netip.MustParseAddrPort("203.0.113.2:51413")
	client6  = netip.MustParseAddrPort("[fd00:1::2]:6881")
	node6    = netip.MustParseAddrPort("[2001:db8:1::2]:6881")
	own4     = netip.MustParseAddr("10.0.1.1")
	own6     = netip.MustParseAddr("fd00:1::1")
	lsd4     = netip.MustParseAddrPort("239.192.152.143:6771")
	lsd6     = netip.MustParseAddrPort("[ff15::efc0:988f]:6771")
)

var bt = inspect.Detectors{bittorrent.New()}

func settings() *inspect.Settings {
	return &inspect.Settings{
		LAN:      []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
		Allow:    []netip.Prefix{netip.MustParsePrefix("203.0.113.200/32")},
		Own:      []netip.Addr{own4, own6},
		BlockUDP: true,
		TimeLock: true,
	}
}

type positive struct {
	name     string
	pkt      []byte
	kind     inspect.Kind
	role     inspect.Role
	lockPort uint16
	weak     bool
}

func positives() []positive {
	ephemeral := netip.AddrPortFrom(client4.Addr(), 40512)
	return []positive{
		{"aria2 dht ping", inspecttest.UDP(client4, node4, inspecttest.KRPCPing("aa")), bittorrent.KindDHTQuery, inspect.RoleQuery, 6881, false},
		{"aria2 dht ping ipv6", inspecttest.UDP(client6, node6, inspecttest.KRPCPing("aa")), bittorrent.KindDHTQuery, inspect.RoleQuery, 6881, false},
		{"transmission dht ping", inspecttest.UDP(client4, node4, inspecttest.KRPCPingTransmission()), bittorrent.KindDHTQuery, inspect.RoleQuery, 6881, false},
		{"libtorrent bootstrap get_peers", inspecttest.UDP(client4, node4, inspecttest.KRPCGetPeersLibtorrent()), bittorrent.KindDHTQuery, inspect.RoleQuery, 6881, false},
		{"dht response to an outside node", inspecttest.UDP(client4, node4, inspecttest.KRPCResponse("aa")), bittorrent.KindDHTResponse, inspect.RoleAnswer, 6881, false},
		{"libtorrent response with ip", inspecttest.UDP(client4, node4, inspecttest.KRPCResponseLibtorrent("aa", [4]byte{203, 0, 113, 2}, 6881)), bittorrent.KindDHTResponse, inspect.RoleAnswer, 6881, false},
		{"dht error", inspecttest.UDP(client4, node4, inspecttest.KRPCError("aa")), bittorrent.KindDHTError, inspect.RoleAnswer, 6881, false},
		{"udp tracker connect", inspecttest.UDP(client4, tracker4, inspecttest.TrackerConnect(7)), bittorrent.KindTrackerConnect, inspect.RoleQuery, 6881, false},
		{"udp tracker announce 98", inspecttest.UDP(client4, tracker4, inspecttest.TrackerAnnounce(0x1122334455667788, 6881)), bittorrent.KindTrackerAnnounce, inspect.RoleQuery, 6881, true},
		{"udp tracker announce 100 (nop, end)", inspecttest.UDP(client4, tracker4, inspecttest.TrackerAnnounce(1, 6881, 1, 0)), bittorrent.KindTrackerAnnounce, inspect.RoleQuery, 6881, true},
		{"udp tracker announce 101 (url data)", inspecttest.UDP(client4, tracker4, inspecttest.TrackerAnnounce(1, 6881, 2, 1, '/')), bittorrent.KindTrackerAnnounce, inspect.RoleQuery, 6881, true},
		{"udp tracker scrape", inspecttest.UDP(client4, tracker4, inspecttest.TrackerScrape(1)), bittorrent.KindTrackerScrape, inspect.RoleQuery, 6881, true},
		{"http announce", inspecttest.TCP(ephemeral, tracker4, inspecttest.HTTPAnnounce("/announce", 6881)), bittorrent.KindHTTPAnnounce, inspect.RoleQuery, 0, false},
		{"http announce.php", inspecttest.TCP(ephemeral, netip.MustParseAddrPort("203.0.113.2:80"), inspecttest.HTTPAnnounce("/tracker/announce.php", 51413)), bittorrent.KindHTTPAnnounce, inspect.RoleQuery, 0, false},
		{"http scrape", inspecttest.TCP(ephemeral, tracker4, inspecttest.HTTPScrape()), bittorrent.KindHTTPScrape, inspect.RoleQuery, 0, false},
		{"tcp handshake", inspecttest.TCP(ephemeral, seeder4, inspecttest.Handshake()), bittorrent.KindHandshake, inspect.RoleQuery, 0, false},
		{"tcp handshake split after the name", inspecttest.TCP(ephemeral, seeder4, inspecttest.Handshake()[:20]), bittorrent.KindHandshake, inspect.RoleQuery, 0, false},
		{"libtorrent utp syn", inspecttest.UDP(client4, seeder4, inspecttest.UTPSynLibtorrent(7)), bittorrent.KindUTPSyn, inspect.RoleQuery, 6881, false},
		{"transmission utp syn", inspecttest.UDP(client4, seeder4, inspecttest.UTPSynTransmission(7)), bittorrent.KindUTPSyn, inspect.RoleQuery, 6881, false},
		{"libtorrent handshake over utp", inspecttest.UDP(client4, seeder4, inspecttest.UTPData(7, inspecttest.Handshake())), bittorrent.KindUTPHandshake, inspect.RoleQuery, 6881, false},
		{"lsd ipv4", inspecttest.UDP(client4, lsd4, inspecttest.LSDSearch(51413)), bittorrent.KindLSD, inspect.RoleQuery, 0, false},
		{"lsd ipv6", inspecttest.UDP(client6, lsd6, inspecttest.LSDSearch(51413)), bittorrent.KindLSD, inspect.RoleQuery, 0, false},
	}
}

func TestClassify(t *testing.T) {
	for _, c := range positives() {
		t.Run(c.name, func(t *testing.T) {
			var p inspect.Packet
			if err := inspect.Decode(c.pkt, &p); err != nil {
				t.Fatal(err)
			}
			var ev inspect.Evidence
			if !bt.Classify(&p, &ev) {
				t.Fatalf("not recognised: %q", p.Payload)
			}
			if ev.Protocol != bittorrent.Protocol || ev.Kind != c.kind || ev.Role != c.role || ev.LockPort != c.lockPort || ev.Weak != c.weak {
				t.Errorf("got %s kind %s role %d lock port %d weak %v; want kind %s role %d port %d weak %v",
					ev.Protocol, ev.KindName(), ev.Role, ev.LockPort, ev.Weak, bittorrent.KindName(c.kind), c.role, c.lockPort, c.weak)
			}
			if ev.Reason == "" {
				t.Error("no reason")
			}
			if n := testing.AllocsPerRun(100, func() { bt.Classify(&p, &ev) }); n != 0 {
				t.Errorf("Classify allocates %v times", n)
			}
		})
	}
}

// TestPrefiltersQueueTheLiveKinds checks that the kernel prefilters queue
// every kind the live path relies on (everything but the weak shapes,
// which come after a connect, and LSD, which is multicast the gateway
// does not route).
func TestPrefiltersQueueTheLiveKinds(t *testing.T) {
	for _, c := range positives() {
		var p inspect.Packet
		if err := inspect.Decode(c.pkt, &p); err != nil {
			t.Fatal(err)
		}
		queued := anyPrefilter(&p, len(c.pkt), inspect.HookForward)
		want := !c.weak && c.kind != bittorrent.KindLSD
		if queued != want {
			t.Errorf("%s: queued %v, want %v", c.name, queued, want)
		}
	}
}

func anyPrefilter(p *inspect.Packet, ipLen int, hook inspect.Hook) bool {
	for _, f := range bittorrent.New().Prefilters() {
		if f.Hook == hook && f.Matches(p, ipLen) {
			return true
		}
	}
	return false
}

func TestDecide(t *testing.T) {
	s := settings()
	cases := []struct {
		name       string
		pkt        []byte
		verdict    inspect.Verdict
		peers      int
		lock       bool
		probeReply bool
	}{
		{"query: lock, learn the node, drop", inspecttest.UDP(client4, node4, inspecttest.KRPCPing("aa")), inspect.Drop, 1, true, false},
		{"ipv6 query", inspecttest.UDP(client6, node6, inspecttest.KRPCPing("aa")), inspect.Drop, 1, true, false},
		{"answer to an outside node: lock, learn, drop", inspecttest.UDP(client4, node4, inspecttest.KRPCResponse("aa")), inspect.Drop, 1, true, false},
		{"answer to the firewall: probe answer", inspecttest.UDP(client4, netip.AddrPortFrom(own4, bittorrent.ProbePort), inspecttest.KRPCResponse("fw")), inspect.Accept, 0, true, true},
		{"libtorrent answer to the firewall over ipv6", inspecttest.UDP(client6, netip.AddrPortFrom(own6, bittorrent.ProbePort), inspecttest.KRPCResponse("fw")), inspect.Accept, 0, true, true},
		{"tcp handshake: drop", inspecttest.TCP(netip.AddrPortFrom(client4.Addr(), 40000), seeder4, inspecttest.Handshake()), inspect.Drop, 1, true, false},
		{"lsd: lock, nobody to learn", inspecttest.UDP(client4, lsd4, inspecttest.LSDSearch(6881)), inspect.Drop, 0, true, false},
		{"query to an allowlisted node: lock only", inspecttest.UDP(client4, netip.MustParseAddrPort("203.0.113.200:6881"), inspecttest.KRPCPing("aa")), inspect.Accept, 0, true, false},
		{"weak announce from an unknown client: nothing", inspecttest.UDP(client4, tracker4, inspecttest.TrackerAnnounce(1, 6881)), inspect.Accept, 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p inspect.Packet
			if err := inspect.Decode(c.pkt, &p); err != nil {
				t.Fatal(err)
			}
			var ev inspect.Evidence
			if !bt.Classify(&p, &ev) {
				t.Fatal("not recognised")
			}
			var d inspect.Decision
			inspect.Decide(&ev, true, s, &d)
			if d.Verdict != c.verdict || d.NPeers != c.peers || d.Lock.Valid != c.lock || d.ProbeAnswer != c.probeReply || d.Reply.Valid {
				t.Errorf("decision %+v", d)
			}
			if d.Lock.Valid && d.Lock.Protocol != bittorrent.Protocol {
				t.Errorf("lock protocol %q", d.Lock.Protocol)
			}
			// The same packet from outside teaches nothing.
			inspect.Decide(&ev, false, s, &d)
			if d.Verdict != inspect.Accept || d.NPeers != 0 || d.Lock.Valid {
				t.Errorf("acted on outside evidence: %+v", d)
			}
		})
	}
}

// TestProbe checks that the probe is a KRPC ping the detector itself
// recognises, and that the answers the three clients gave in the lab are
// queued on the input hook and taken as probe answers.
func TestProbe(t *testing.T) {
	d := bittorrent.New()
	probe := d.ProbePayload(nil, "")
	if !bytes.HasPrefix(probe, []byte("d1:ad2:id20:")) || !bytes.Contains(probe, []byte("4:ping")) || !bytes.Contains(probe, []byte("2:roi1e")) {
		t.Fatalf("probe %q", probe)
	}
	var p inspect.Packet
	fw := netip.AddrPortFrom(own4, d.ProbeSourcePort())
	if err := inspect.Decode(inspecttest.UDP(fw, client4, probe), &p); err != nil {
		t.Fatal(err)
	}
	var ev inspect.Evidence
	if !bt.Classify(&p, &ev) || ev.Kind != bittorrent.KindDHTQuery {
		t.Fatalf("the probe is not a DHT query: %+v", ev)
	}
	answers := map[string][]byte{
		"aria2":        []byte("d1:rd2:id20:" + inspecttest.NodeID + "e1:t2:fw1:v4:A2\x00\x031:y1:re"),
		"transmission": inspecttest.KRPCResponse("fw"),
		"qbittorrent":  inspecttest.KRPCResponseLibtorrent("fw", [4]byte{10, 0, 1, 1}, bittorrent.ProbePort),
	}
	for name, a := range answers {
		pkt := inspecttest.UDP(client4, fw, a)
		if err := inspect.Decode(pkt, &p); err != nil {
			t.Fatal(err)
		}
		if !anyPrefilter(&p, len(pkt), inspect.HookInput) {
			t.Errorf("%s: answer not queued on the input hook", name)
		}
		var dec inspect.Decision
		if !bt.Classify(&p, &ev) {
			t.Fatalf("%s: answer not recognised", name)
		}
		inspect.Decide(&ev, true, settings(), &dec)
		if !dec.ProbeAnswer || !dec.Lock.Valid || dec.Lock.Port != client4.Port() {
			t.Errorf("%s: decision %+v", name, dec)
		}
	}
}
