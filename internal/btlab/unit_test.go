package btlab

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Unit tests: no root, no namespaces.

func TestBencodeRoundTrip(t *testing.T) {
	v := map[string]any{"b": []any{int64(-3), "x\x00y"}, "a": map[string]any{"k": ""}, "z": int64(0)}
	enc := bencode(v)
	if want := "d1:ad1:k0:e1:bli-3e3:x\x00ye1:zi0ee"; string(enc) != want {
		t.Fatalf("bencode = %q, want %q", enc, want)
	}
	got, err := bdecode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if string(bencode(got)) != string(enc) {
		t.Errorf("round trip changed %q to %q", enc, bencode(got))
	}
	raw, err := dictRaw(enc, "b")
	if err != nil || string(raw) != "li-3e3:x\x00ye" {
		t.Errorf("dictRaw b = %q, %v", raw, err)
	}
	for _, bad := range []string{"", "i1", "5:abc", "l", "d1:a", "di1ei2ee", "x", "d1:ai1eextra"} {
		if _, err := bdecode([]byte(bad)); err == nil {
			t.Errorf("bdecode(%q) accepted", bad)
		}
	}
	deep := strings.Repeat("l", maxBencodeDepth+2) + strings.Repeat("e", maxBencodeDepth+2)
	if _, err := bdecode([]byte(deep)); err == nil {
		t.Error("nesting beyond the limit accepted")
	}
}

func TestTorrentVariantAndVerify(t *testing.T) {
	if _, err := exec.LookPath(ProgMktorrent); err != nil {
		t.Skip("mktorrent not installed")
	}
	tor := MakeTorrent(t, TorrentOptions{Size: 600_000, Announce: []string{"http://203.0.113.2:6969/announce"}, PieceLengthLog2: 16})
	if tor.Size != 600_000 || tor.PieceLength != 1<<16 || tor.Pieces() != 10 || len(tor.Announce) != 1 {
		t.Fatalf("torrent %+v", tor)
	}
	v, err := tor.Variant(t.TempDir()+"/v.torrent", []string{"udp://203.0.113.2:6969", "http://x/announce"},
		[]netip.AddrPort{netip.MustParseAddrPort("203.0.113.2:6881")})
	if err != nil {
		t.Fatal(err)
	}
	if v.InfoHash != tor.InfoHash || len(v.Announce) != 2 || v.Announce[0] != "udp://203.0.113.2:6969" || len(v.Nodes) != 1 {
		t.Errorf("variant %+v", v)
	}
	none, err := tor.Variant(t.TempDir()+"/n.torrent", nil, nil)
	if err != nil || len(none.Announce) != 0 || none.InfoHash != tor.InfoHash {
		t.Errorf("trackerless variant %+v, %v", none, err)
	}
	if n, err := tor.VerifiedBytes(tor.DataPath()); err != nil || n != tor.Size {
		t.Errorf("VerifiedBytes of the payload = %d, %v", n, err)
	}
	if err := tor.Cmp(tor.DataPath()); err != nil {
		t.Error(err)
	}
	// A copy with one byte changed in piece 3 and the last piece cut short.
	data, _ := os.ReadFile(tor.DataPath())
	data[3<<16+5] ^= 1
	bad := t.TempDir() + "/bad"
	if err := os.WriteFile(bad, data[:len(data)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	if n, _ := tor.VerifiedBytes(bad); n != 8<<16 {
		t.Errorf("VerifiedBytes of a damaged copy = %d, want %d", n, 8<<16)
	}
	if n, err := tor.VerifiedBytes(bad + ".missing"); n != 0 || err != nil {
		t.Errorf("VerifiedBytes of a missing file = %d, %v", n, err)
	}
	if tor.Cmp(bad) == nil {
		t.Error("Cmp of a damaged copy passed")
	}
	if m := tor.Magnet(nil, []netip.AddrPort{netip.MustParseAddrPort("[2001:db8:1::2]:51413")}); !strings.Contains(m, "xt=urn:btih:"+tor.InfoHashHex()) || !strings.Contains(m, "x.pe=%5B2001%3Adb8%3A1%3A%3A2%5D%3A51413") {
		t.Errorf("magnet %s", m)
	}
}

func TestClassify(t *testing.T) {
	connect := make([]byte, 16)
	binary.BigEndian.PutUint64(connect, udpTrackerMagic)
	announce := make([]byte, 98)
	binary.BigEndian.PutUint32(announce[8:], 1)
	syn := append([]byte{0x41, 0x02}, make([]byte, 28)...)
	tcp := func(off int64, b string) Packet {
		return Packet{Proto: "tcp", Offset: off, Payload: []byte(b), Len: len(b), Dst: netip.MustParseAddrPort("203.0.113.2:51413")}
	}
	udp := func(b []byte) Packet {
		return Packet{Proto: "udp", Payload: b, Len: len(b), Dst: netip.MustParseAddrPort("203.0.113.2:6881")}
	}
	for _, c := range []struct {
		p    Packet
		want Kind
	}{
		{tcp(0, "GET /announce?info_hash=x HTTP/1.1\r\n"), KindHTTPAnnounce},
		{tcp(0, "GET /scrape?info_hash=x HTTP/1.1\r\n"), KindHTTPScrape},
		{tcp(0, "HTTP/1.1 200 OK\r\n"), KindHTTP},
		{tcp(0, "\x13BitTorrent protocol"+strings.Repeat("\x00", 48)), KindHandshake},
		{tcp(300, "xx\x13BitTorrent protocol"), KindHandshake},
		{tcp(0, strings.Repeat("\x9a", 200)), KindMSE},
		{tcp(200, strings.Repeat("\x9a", 200)), KindTCPData},
		{tcp(0, strings.Repeat("\x9a", 50)), KindTCPData},
		{Packet{Proto: "tcp", Offset: -1}, KindNone},
		{udp(connect), KindUDPConnect},
		{udp(announce), KindUDPAnnounce},
		{udp(PingQuery), KindKRPCQuery},
		{udp([]byte("d1:rd2:id20:abcdefghij0123456789e1:t2:aa1:y1:re")), KindKRPCReply},
		{udp([]byte("d1:eli201e1:xe1:t2:aa1:y1:ee")), KindKRPCError},
		{udp(syn), KindUTPSyn},
		{udp(append([]byte{0x21, 0x00}, make([]byte, 18)...)), KindUTPState},
		{udp([]byte("BT-SEARCH * HTTP/1.1\r\n")), KindLSD},
		{udp([]byte("hello")), KindOther},
		{Packet{Proto: "udp", Src: netip.MustParseAddrPort("203.0.113.2:6969"), Payload: connect, Len: 16}, KindUDPReply},
		{Packet{Proto: "udp", Dst: netip.MustParseAddrPort("10.0.0.1:53"), Payload: []byte("x"), Len: 1}, KindDNS},
	} {
		if got := Classify(c.p); got != c.want {
			t.Errorf("Classify(%s %q) = %q, want %q", c.p.Proto, c.p.Payload[:min(24, len(c.p.Payload))], got, c.want)
		}
	}
	if KRPCMethod(PingQuery) != "ping" || !IsPingReply([]byte("d1:rd2:id20:abcdefghij0123456789e1:t2:aa1:y1:re")) {
		t.Error("KRPCMethod / IsPingReply")
	}
	if KindDNS.IsBitTorrent() || !KindMSE.IsBitTorrent() || !KindKRPCQuery.IsBitTorrent() {
		t.Error("IsBitTorrent")
	}
}

func TestParseFrame(t *testing.T) {
	eth := func(typ uint16) []byte {
		b := make([]byte, 14)
		binary.BigEndian.PutUint16(b[12:], typ)
		return b
	}
	// IPv4 UDP 10.0.1.2:6881 > 203.0.113.2:6969, payload "abc".
	ip4 := []byte{0x45, 0, 0, 31, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 1, 2, 203, 0, 113, 2}
	udp := []byte{0x1a, 0xe1, 0x1b, 0x39, 0, 11, 0, 0}
	f := append(append(append(eth(0x0800), ip4...), udp...), "abc"...)
	p, _, ok := parseFrame(f, len(f))
	if !ok || p.Proto != "udp" || p.Src.String() != "10.0.1.2:6881" || p.Dst.String() != "203.0.113.2:6969" || string(p.Payload) != "abc" || p.Len != 3 {
		t.Errorf("IPv4 UDP: %+v %v", p, ok)
	}
	// IPv6 TCP fd00:1::2:40000 > 2001:db8:1::2:51413, seq 7, SYN, no payload.
	ip6 := make([]byte, 40)
	ip6[0] = 0x60
	binary.BigEndian.PutUint16(ip6[4:], 20)
	ip6[6] = 6
	copy(ip6[8:], netip.MustParseAddr("fd00:1::2").AsSlice())
	copy(ip6[24:], netip.MustParseAddr("2001:db8:1::2").AsSlice())
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 51413)
	binary.BigEndian.PutUint32(tcp[4:], 7)
	tcp[12], tcp[13] = 5<<4, FlagSYN
	f = append(append(eth(0x86dd), ip6...), tcp...)
	p, seq, ok := parseFrame(f, len(f))
	if !ok || p.Proto != "tcp" || seq != 7 || p.Flags != FlagSYN || p.Dst.String() != "[2001:db8:1::2]:51413" || p.Len != 0 {
		t.Errorf("IPv6 TCP: %+v seq %d %v", p, seq, ok)
	}
	if _, _, ok := parseFrame(eth(0x0806), 14); ok {
		t.Error("ARP parsed")
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, o := range []Options{
		{Client: "utorrent"},
		{Client: Aria2, Tracker: TrackerNone, NoDHT: true},
		{Client: Aria2, Tracker: TrackerUDP, NoDHT: true},
		{Client: QBittorrent, Family: IPv6Only, Tracker: TrackerHTTP},
		{Client: Transmission, Family: IPv6Only, Tracker: TrackerNone},
		{Client: QBittorrent, Port: 6881, DHTPort: 6882},
	} {
		if o.withDefaults(false).check() == nil {
			t.Errorf("%v accepted", o)
		}
	}
	for _, o := range []Options{
		{Client: Aria2, DHTPort: 6882},
		{Client: QBittorrent, Family: IPv6Only, Tracker: TrackerNone},
		{Client: Transmission, Tracker: TrackerUDP, Encryption: EncryptionRequired, NoUTP: true},
	} {
		if err := o.withDefaults(false).check(); err != nil {
			t.Errorf("%v: %v", o, err)
		}
	}
	if o := (Options{Client: Aria2}).withDefaults(true); o.Port != DefaultSeederPort || o.DHTPort != DefaultSeederPort {
		t.Errorf("seeder defaults %v", o)
	}
}

func TestDHTNodeAnswers(t *testing.T) {
	d := &DHTNode{peers: map[[20]byte][]netip.AddrPort{}, remote: map[netip.AddrPort][20]byte{}, changed: make(chan struct{})}
	for i, a := range []string{"203.0.113.2:6881", "198.51.100.21:6881", "198.51.100.22:6881", "[2001:db8:1::2]:6881"} {
		d.socks = append(d.socks, &dhtSocket{addr: netip.MustParseAddrPort(a), id: [20]byte{byte(i + 1)}})
	}
	boot := d.socks[0]
	seeder := netip.MustParseAddrPort("203.0.113.2:51413")
	ih := strings.Repeat("h", 20)
	q := func(from netip.AddrPort, s *dhtSocket, msg string) map[string]any {
		t.Helper()
		v, err := bdecode(d.handle([]byte(msg), from, s))
		if err != nil {
			t.Fatalf("reply to %q: %v", msg, err)
		}
		m, _ := v.(map[string]any)
		if m["t"] != "aa" || m["y"] != "r" {
			t.Fatalf("reply to %q: %v", msg, m)
		}
		r, _ := m["r"].(map[string]any)
		return r
	}
	if r := q(seeder, boot, string(PingQuery)); r["id"] != string(boot.id[:]) {
		t.Errorf("ping reply %v", r)
	}
	q(seeder, boot, "d1:ad2:id20:"+PingQueryID+"12:implied_porti1e9:info_hash20:"+ih+"4:porti1e5:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe")
	if p := d.Peers([20]byte([]byte(ih))); len(p) != 1 || p[0] != seeder {
		t.Fatalf("peers after an implied-port announce: %v", p)
	}
	leecher := netip.MustParseAddrPort("10.0.1.2:6881")
	r := q(leecher, d.socks[1], "d1:ad2:id20:"+strings.Repeat("L", 20)+"9:info_hash20:"+ih+"e1:q9:get_peers1:t2:aa1:y1:qe")
	vals, _ := r["values"].([]any)
	if len(vals) != 1 || vals[0] != string(compactAddrPort(seeder)) || r["token"] == nil {
		t.Errorf("get_peers values %q", vals)
	}
	// IPv4 nodes: the other two lab nodes and the seeder's node (which
	// queried), not the asker, not the IPv6 node.
	if nodes, _ := r["nodes"].(string); len(nodes) != 3*26 {
		t.Errorf("get_peers nodes: %d bytes, want 3 × 26", len(nodes))
	}
	r = q(netip.MustParseAddrPort("[fd00:1::2]:6881"), d.socks[3], "d1:ad2:id20:"+strings.Repeat("L", 20)+"9:info_hash20:"+ih+"e1:q9:get_peers1:t2:aa1:y1:qe")
	if r["values"] != nil || r["nodes6"] != "" {
		t.Errorf("IPv6 get_peers: %v (the seeder announced over IPv4 only)", r)
	}
	if len(d.Messages()) != 4 {
		t.Errorf("%d messages recorded, want 4", len(d.Messages()))
	}
}

func TestParseScenario(t *testing.T) {
	s, l, err := parseScenario("leecher=transmission seeder=aria2 tracker=udp family=ipv4 enc=required senc=allowed noutp snoutp port=7000 dhtport=7000")
	if err != nil || l.Client != Transmission || s.Client != Aria2 || l.Tracker != TrackerUDP || l.Family != IPv4Only ||
		l.Encryption != EncryptionRequired || s.Encryption != EncryptionAllowed || !l.NoUTP || !s.NoUTP || l.Port != 7000 {
		t.Errorf("%v %v %v", s, l, err)
	}
	if _, _, err := parseScenario("tracker=tcp"); err == nil {
		t.Error("tracker=tcp accepted")
	}
}

func TestHostsText(t *testing.T) {
	h := hostsText([]netip.Addr{netip.MustParseAddr("203.0.113.2")})
	if !strings.Contains(h, "203.0.113.2 router.bittorrent.com") || !strings.Contains(h, "dht.libtorrent.org") || !strings.HasPrefix(h, "127.0.0.1 localhost") {
		t.Errorf("hosts file:\n%s", h)
	}
	if !bytes.Contains(PingQuery, []byte("1:q4:ping1:t2:aa1:y1:qe")) || len(PingQueryID) != 20 {
		t.Error("PingQuery")
	}
}

func TestRequireSkipsForMissingProgram(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("Require skips every test when not root")
	}
	ran := false
	t.Run("missing", func(t *testing.T) {
		Require(t, "btlab-no-such-program")
		ran = true
	})
	if ran {
		t.Error("Require did not skip for a missing program")
	}
}
