package btlab

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// download is one measured download: lab, rig, a leecher in the client
// namespace, a capture on the router's lan0.
type download struct {
	l       *lab.Lab
	r       *Rig
	c       *Client
	capt    *Capture
	first   Packet // the leecher's first BitTorrent packet
	sent    []Packet
	pings   map[netip.AddrPort][]byte // DHT socket → answer to PingDHT from the router's LAN address
	elapsed time.Duration
}

// runDownload starts everything, waits for the download, cmp's it, probes
// the leecher's DHT sockets from the router, stops the leecher and logs
// what it sent (go test -v shows the measurements of docs/bittorrent-lab.md).
func runDownload(t *testing.T, seeder, leecher Options) *download {
	t.Helper()
	Require(t, ProgOpentracker, leecher.Client.Program())
	d := &download{l: lab.NewT(t), pings: map[netip.AddrPort][]byte{}}
	d.capt = StartCapture(t, d.l.Router, lab.IfLAN0)
	d.r = NewRig(t, d.l, RigOptions{Seeder: seeder, NoTracker: leecher.Tracker == TrackerNone})
	d.c = d.r.StartLeecher(t, leecher)
	src := []netip.Addr{d.l.ClientIP4, d.l.ClientIP6}
	var err error
	if d.first, err = d.capt.WaitBitTorrent(t.Context(), 30*time.Second, src...); err != nil {
		t.Fatalf("%v: first BitTorrent packet: %v", d.c.Opts, err)
	}
	if err := d.c.WaitComplete(t.Context(), DownloadLimit); err != nil {
		for _, p := range d.capt.Packets() {
			if p.Kind != KindNone && p.Kind != KindTCPData && p.Kind != KindUTPData && p.Kind != KindUTPState {
				t.Log(Describe(p, d.c.Started(), 40))
			}
		}
		t.Fatal(err)
	}
	d.elapsed = time.Since(d.c.Started())
	if err := d.c.Cmp(); err != nil {
		t.Fatal(err)
	}
	for _, dst := range d.c.DHTAddrs() {
		from := d.l.RouterLAN4
		if dst.Addr().Is6() {
			from = d.l.RouterLAN6
		}
		ans, err := PingDHT(d.l.Router, from, dst, time.Second)
		if err != nil {
			t.Errorf("KRPC ping %s > %s: %v", from, dst, err)
		}
		d.pings[dst] = ans
	}
	if out, err := d.l.Client.Run(t.Context(), "ss", "-Hantup"); err == nil {
		t.Logf("sockets in the client namespace:\n%s", out)
	}
	if err := d.c.Stop(); err != nil {
		t.Errorf("stop %s: %v", d.c.Opts.Client, err)
	}
	if d.c.Running() {
		t.Errorf("%s still runs after Stop", d.c.Opts.Client)
	}
	for _, p := range d.capt.Packets() {
		if slices.Contains(src, p.Src.Addr()) || p.Src.Addr().IsLinkLocalUnicast() {
			d.sent = append(d.sent, p)
		}
	}
	d.log(t)
	for _, p := range d.sent {
		if !isLabAddr(p.Dst.Addr()) {
			t.Errorf("the leecher sent to a non-lab address: %s", Describe(p, d.c.Started(), 40))
		}
	}
	return d
}

// labPrefixes are the address ranges of internal/lab (and link-local and
// multicast scopes, which cannot leave the link).
var labPrefixes = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("224.0.0.0/24"), netip.MustParsePrefix("ff02::/16"),
}

func isLabAddr(a netip.Addr) bool {
	for _, p := range labPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (d *download) log(t *testing.T) {
	t0 := d.c.Started()
	cmd, _, _ := strings.Cut(d.c.Output(), "\n")
	t.Logf("leecher command: %s", cmd)
	t.Logf("%v: %d bytes in %v (first BitTorrent packet +%v)", d.c.Opts, d.r.Torrent.Size,
		d.elapsed.Round(time.Millisecond), d.first.Time.Sub(t0).Round(time.Millisecond))
	for _, p := range FirstOfEachKind(d.sent, d.l.ClientIP4) {
		t.Log(Describe(p, t0, 40))
	}
	for _, p := range FirstOfEachKind(d.sent, d.l.ClientIP6) {
		t.Log(Describe(p, t0, 40))
	}
	srcs := map[netip.Addr]int{}
	for _, p := range d.sent {
		srcs[p.Src.Addr()]++
	}
	t.Logf("packets sent by source address: %v", srcs)
	var body = map[string]int{}
	for _, p := range d.capt.Packets() {
		if p.Dst.Addr() == d.l.ClientIP4 || p.Dst.Addr() == d.l.ClientIP6 {
			body[p.Proto+"/"+string(p.Kind)+"/"+p.Dst.Addr().String()] += p.Len
		}
	}
	t.Logf("payload bytes to the leecher by kind: %v", body)
	for dst, ans := range d.pings {
		t.Logf("KRPC ping > %s: %d bytes %q", dst, len(ans), ans)
	}
}

// kinds returns the packets the leecher sent of kind k.
func (d *download) kinds(k Kind) []Packet {
	var out []Packet
	for _, p := range d.sent {
		if p.Kind == k {
			out = append(out, p)
		}
	}
	return out
}

// requirePingReply checks that the leecher's DHT socket at dst answered
// the router's KRPC ping.
func (d *download) requirePingReply(t *testing.T, dst netip.Addr) {
	t.Helper()
	for ap, ans := range d.pings {
		if ap.Addr() == dst && !IsPingReply(ans) {
			t.Errorf("KRPC ping from the router to %s: answer %q, want a KRPC response", ap, ans)
		}
	}
}

// requireNoPlainHandshake checks that the leecher sent no plaintext
// peer-wire handshake (TCP or uTP).
func (d *download) requireNoPlainHandshake(t *testing.T) {
	t.Helper()
	for _, p := range d.sent {
		if p.PlainHandshake() {
			t.Errorf("encryption required, yet a plaintext handshake: %s", Describe(p, d.c.Started(), 40))
		}
	}
}

// TestAria2HTTPTracker: aria2 finds the seeder through the HTTP tracker;
// its DHT runs on a port of its own (--dht-listen-port) and answers the
// router's KRPC ping on both families; its peer connection opens with MSE.
func TestAria2HTTPTracker(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: Aria2, Tracker: TrackerHTTP, DHTPort: 6882})
	if len(d.kinds(KindHTTPAnnounce)) == 0 {
		t.Error("no HTTP announce")
	}
	if ap := d.c.DHTAddrs(); len(ap) != 2 || ap[0].Port() != 6882 {
		t.Errorf("DHT sockets %v, want both families on 6882", ap)
	}
	d.requirePingReply(t, d.l.ClientIP4)
	d.requirePingReply(t, d.l.ClientIP6)
	if mse := d.kinds(KindMSE); len(mse) == 0 || mse[0].Dst.Port() != DefaultSeederPort {
		t.Errorf("aria2 opened no MSE connection to the seeder: %v", mse)
	}
}

// TestAria2IPv6DHTOnly: a trackerless download over IPv6 only (opentracker
// is IPv4-only, so IPv6 is DHT-only: lab DHT over IPv6, seeder's IPv6
// address in the values).
func TestAria2IPv6DHTOnly(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: Aria2, Tracker: TrackerNone, Family: IPv6Only})
	for _, p := range d.sent {
		if p.Src.Addr().Is4() && p.Kind.IsBitTorrent() {
			t.Errorf("IPv6 only, yet %s", Describe(p, d.c.Started(), 40))
		}
	}
	d.requirePingReply(t, d.l.ClientIP6)
}

// TestAria2EncryptionRequired: with --bt-require-crypto aria2 sends no
// plaintext handshake; DHT and UDP tracker traffic stay plaintext.
func TestAria2EncryptionRequired(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: Aria2, Tracker: TrackerUDP, Encryption: EncryptionRequired})
	d.requireNoPlainHandshake(t)
	if len(d.kinds(KindUDPConnect)) == 0 || len(d.kinds(KindKRPCQuery)) == 0 {
		t.Error("no plaintext UDP tracker connect or KRPC query")
	}
	for _, p := range d.kinds(KindUDPConnect) {
		if p.Src.Port() != d.c.DHTPort() {
			t.Errorf("UDP tracker request from port %d, want aria2's DHT port %d", p.Src.Port(), d.c.DHTPort())
		}
	}
}

// TestTransmissionUDPTracker: transmission announces over UDP from its one
// UDP socket (peer port: tracker, DHT, uTP), moves the payload over uTP,
// answers the router's KRPC ping over IPv4 and has no IPv6 UDP socket on
// the lab's fd00:1::2.
func TestTransmissionUDPTracker(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: Transmission, Tracker: TrackerUDP})
	for _, k := range []Kind{KindUDPConnect, KindKRPCQuery, KindUTPSyn} {
		ps := d.kinds(k)
		if len(ps) == 0 {
			t.Errorf("no %s", k)
			continue
		}
		if ps[0].Src.Port() != d.c.PeerPort() {
			t.Errorf("%s from port %d, want the peer port %d", k, ps[0].Src.Port(), d.c.PeerPort())
		}
	}
	if syn := d.kinds(KindUTPSyn); len(syn) > 0 && syn[0].Len != 30 {
		t.Errorf("uTP SYN of %d bytes, transmission 3.00 was seen sending 30", syn[0].Len)
	}
	d.requirePingReply(t, d.l.ClientIP4)
	if ans := d.pings[netip.AddrPortFrom(d.l.ClientIP6, d.c.DHTPort())]; ans != nil {
		t.Logf("transmission now answers on IPv6 too: %q", ans)
	}
}

// TestTransmissionEncryptionRequired: "encryption": 2; the peer link (uTP
// here) carries MSE only; DHT and the HTTP announce stay plaintext.
func TestTransmissionEncryptionRequired(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: Transmission, Tracker: TrackerHTTP, Encryption: EncryptionRequired})
	d.requireNoPlainHandshake(t)
	if len(d.kinds(KindHTTPAnnounce)) == 0 || len(d.kinds(KindKRPCQuery)) == 0 {
		t.Error("no plaintext HTTP announce or KRPC query")
	}
}

// TestQBittorrentDHTOnly: a trackerless download through the lab DHT
// (libtorrent's built-in bootstrap names resolve to it); libtorrent uses
// both of the client's addresses and answers the router's KRPC ping on
// each; its uTP SYN is 20 bytes.
func TestQBittorrentDHTOnly(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: QBittorrent, Tracker: TrackerNone})
	fam := map[bool]bool{}
	for _, p := range d.kinds(KindKRPCQuery) {
		fam[p.Src.Addr().Is6()] = true
	}
	if !fam[false] || !fam[true] {
		t.Errorf("KRPC queries from IPv4 %v, IPv6 %v; want both", fam[false], fam[true])
	}
	d.requirePingReply(t, d.l.ClientIP4)
	d.requirePingReply(t, d.l.ClientIP6)
	if syn := d.kinds(KindUTPSyn); len(syn) == 0 || syn[0].Len != 20 {
		t.Errorf("uTP SYNs %v, want libtorrent's 20-byte SYN", syn)
	}
}

// TestQBittorrentIPv6DHTOnly: bound to fd00:1::2 (Session\InterfaceAddress)
// qBittorrent sends nothing over IPv4.
func TestQBittorrentIPv6DHTOnly(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: QBittorrent, Tracker: TrackerNone, Family: IPv6Only})
	for _, p := range d.sent {
		if p.Src.Addr().Is4() {
			t.Errorf("IPv6 only, yet %s", Describe(p, d.c.Started(), 40))
		}
	}
	d.requirePingReply(t, d.l.ClientIP6)
}

// TestQBittorrentUDPTrackerTCPOnly: BTProtocol=TCP: no uTP at all; the
// UDP tracker request leaves from the peer port.
func TestQBittorrentUDPTrackerTCPOnly(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: QBittorrent, Tracker: TrackerUDP, NoUTP: true})
	for _, p := range d.sent {
		if strings.HasPrefix(string(p.Kind), "utp") {
			t.Errorf("uTP off, yet %s", Describe(p, d.c.Started(), 40))
		}
	}
	if c := d.kinds(KindUDPConnect); len(c) == 0 || c[0].Src.Port() != d.c.PeerPort() {
		t.Errorf("UDP tracker connects %v, want one from the peer port", c)
	}
}

// TestQBittorrentEncryptionRequired: Encryption=1 (require): no plaintext
// handshake over TCP or uTP; DHT and tracker stay plaintext.
func TestQBittorrentEncryptionRequired(t *testing.T) {
	d := runDownload(t, Options{}, Options{Client: QBittorrent, Tracker: TrackerHTTP, Encryption: EncryptionRequired})
	d.requireNoPlainHandshake(t)
	if len(d.kinds(KindHTTPAnnounce)) == 0 {
		t.Error("no plaintext HTTP announce")
	}
}

// TestManualScenario runs one download described by BTLAB_SCENARIO, for
// measurements by hand, e.g.
//
//	BTLAB_SCENARIO='leecher=transmission tracker=none noutp seeder=aria2' go test -v -run Manual ./internal/btlab/
//
// Words: leecher=, seeder= (aria2|transmission|qbittorrent), tracker=
// (http|udp|none), family= (dual|ipv4|ipv6), enc=, senc= (preferred|
// required|allowed), noutp, snoutp, nodht, port=, dhtport=.
func TestManualScenario(t *testing.T) {
	spec := os.Getenv("BTLAB_SCENARIO")
	if spec == "" {
		t.Skip("set BTLAB_SCENARIO to run a download by hand")
	}
	seeder, leecher, err := parseScenario(spec)
	if err != nil {
		t.Fatal(err)
	}
	runDownload(t, seeder, leecher)
}
