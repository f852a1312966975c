package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ftwall/ftwall/inspect/inspecttest"
)

var (
	client4 = netip.MustParseAddrPort("10.0.1.2:3531")
	client6 = netip.MustParseAddrPort("[fd00:1::2]:4000")
	peerA   = netip.MustParseAddrPort("198.51.100.1:1214")
	peerB   = netip.MustParseAddrPort("198.51.100.2:2000")
	peerC   = netip.MustParseAddrPort("198.51.100.3:1214")
	peer6   = netip.MustParseAddrPort("[2001:db8:100::7]:1214")
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// frame is one record of a test capture: an IP packet (nil = an ARP frame)
// and how many of its bytes were captured (0 = all).
type frame struct {
	ip      []byte
	snapped int
}

// scenario is a LAN with one IPv4 and one IPv6 FastTrack client plus
// background traffic; its expected summary is wantSummary.
func scenario() []frame {
	plainGet := inspecttest.Lines("GET / HTTP/1.1", "Host: 198.51.100.9", "User-Agent: curl/8.5.0")
	dns := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}
	return []frame{
		{ip: nil}, // ARP
		{ip: inspecttest.UDP(client4, netip.MustParseAddrPort("198.51.100.53:53"), dns)},
		{ip: inspecttest.UDP(client4, peerA, inspecttest.Ping("KaZaA"))},
		{ip: inspecttest.UDP(client4, peerB, inspecttest.Ping("kazaa"))},
		{ip: inspecttest.UDP(peerA, client4, inspecttest.SupernodePong("KaZaA"))}, // from outside
		{ip: inspecttest.TCP(client4, netip.MustParseAddrPort("198.51.100.9:80"), plainGet)},
		{ip: inspecttest.TCP(client4, peerC, inspecttest.GetHash())},
		{ip: inspecttest.UDP(client6, peer6, inspecttest.Ping("fileshare"))},
		// Cut by the snap length: the ping is not judged, the GET's
		// complete header lines still count.
		{ip: inspecttest.UDP(client6, netip.MustParseAddrPort("[2001:db8:100::8]:1214"), inspecttest.Ping("fileshare")), snapped: 50},
		{ip: inspecttest.TCP(client6, netip.MustParseAddrPort("[2001:db8:100::9]:1214"),
			[]byte("GET /.hash="+inspecttest.Hash+" HTTP/1.1\r\nX-Kazaa-Username: carol\r\nX-Kazaa-SupernodeIP: 198.51.100.30:1214\r\n")), snapped: 60 + 110},
	}
}

func wantSummary(packets int) jsonSummary {
	return jsonSummary{
		Clients:    []string{"10.0.1.2", "fd00:1::2"},
		Peers:      []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.20", "2001:db8:100::7", "2001:db8:100::9"},
		Supernodes: []string{"198.51.100.20"},
		Packets:    packets,
		Events:     6,
		Protocols: map[string]jsonProtocol{"fasttrack": {
			Clients: []string{"10.0.1.2", "fd00:1::2"},
			Peers:   []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.20", "2001:db8:100::7", "2001:db8:100::9"},
			Events:  6, Kinds: map[string]int{"http-request": 2, "ping": 3, "supernode-pong": 1},
		}},
	}
}

var arp = []byte{0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 1, 2, 0, 0, 0, 0, 0, 0, 10, 0, 1, 1}

func etherType(ip []byte) uint16 {
	switch {
	case ip == nil:
		return 0x0806
	case ip[0]>>4 == 6:
		return 0x86dd
	}
	return 0x0800
}

func payloadOf(ip []byte) []byte {
	if ip == nil {
		return arp
	}
	return ip
}

func ethernet(ip []byte, tags ...uint16) []byte {
	b := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}
	for _, tpid := range tags {
		b = append(b, byte(tpid>>8), byte(tpid), 0x00, 0x64) // VLAN 100
	}
	et := etherType(ip)
	return append(append(b, byte(et>>8), byte(et)), payloadOf(ip)...)
}

func sll(ip []byte) []byte {
	et := etherType(ip)
	b := []byte{0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, byte(et >> 8), byte(et)}
	return append(b, payloadOf(ip)...)
}

func sll2(ip []byte) []byte {
	et := etherType(ip)
	b := []byte{byte(et >> 8), byte(et), 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0}
	return append(b, payloadOf(ip)...)
}

// linkKinds are the link types a test capture can be written in.
var linkKinds = []struct {
	name  string
	lt    layers.LinkType
	frame func(ip []byte) []byte // nil result: frame not representable
}{
	{"ethernet", layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip) }},
	{"ethernet-vlan", layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip, 0x8100) }},
	{"ethernet-qinq", layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip, 0x88a8, 0x8100) }},
	{"sll", layers.LinkTypeLinuxSLL, sll},
	{"sll2", layers.LinkTypeLinuxSLL2, sll2},
	{"raw", layers.LinkTypeRaw, func(ip []byte) []byte { return ip }},
}

// record turns a scenario frame into capture data and CaptureInfo.
func record(i int, f frame, wrap func([]byte) []byte) ([]byte, gopacket.CaptureInfo, bool) {
	data := wrap(f.ip)
	if data == nil {
		return nil, gopacket.CaptureInfo{}, false
	}
	ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), Length: len(data), CaptureLength: len(data)}
	if f.snapped > 0 {
		cut := f.snapped + len(data) - len(f.ip) // the link header stays whole
		data = data[:cut]
		ci.CaptureLength = cut
	}
	return data, ci, true
}

// pcapBytes returns a pcap file of the frames and the number of records.
func pcapBytes(lt layers.LinkType, wrap func([]byte) []byte, frames []frame) ([]byte, int, error) {
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		return nil, 0, err
	}
	n := 0
	for i, f := range frames {
		data, ci, ok := record(i, f, wrap)
		if !ok {
			continue
		}
		if err := w.WritePacket(ci, data); err != nil {
			return nil, 0, err
		}
		n++
	}
	return buf.Bytes(), n, nil
}

// pcapngBytes returns a pcapng file of the frames and the number of records.
func pcapngBytes(lt layers.LinkType, wrap func([]byte) []byte, frames []frame) ([]byte, int, error) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, lt)
	if err != nil {
		return nil, 0, err
	}
	n := 0
	for i, f := range frames {
		data, ci, ok := record(i, f, wrap)
		if !ok {
			continue
		}
		if err := w.WritePacket(ci, data); err != nil {
			return nil, 0, err
		}
		n++
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), n, nil
}

func writePcap(t *testing.T, path string, lt layers.LinkType, wrap func([]byte) []byte, frames []frame) int {
	t.Helper()
	b, n, err := pcapBytes(lt, wrap, frames)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePcapng(t *testing.T, path string, lt layers.LinkType, wrap func([]byte) []byte, frames []frame) int {
	t.Helper()
	b, n, err := pcapngBytes(lt, wrap, frames)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runJSON runs the audit in JSON mode and returns the events and the
// summary line.
func runJSON(t *testing.T, opts Options) ([]jsonEvent, jsonSummary, string, error) {
	t.Helper()
	opts.JSON = true
	var out bytes.Buffer
	err := Run(context.Background(), opts, &out)
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no output (err %v)", err)
	}
	var events []jsonEvent
	for _, l := range lines[:len(lines)-1] {
		var e jsonEvent
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("event line %q: %v", l, err)
		}
		events = append(events, e)
	}
	var s jsonSummary
	dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("summary line %q: %v", lines[len(lines)-1], err)
	}
	return events, s, out.String(), err
}

func TestAuditLinkTypesAndFormats(t *testing.T) {
	dir := t.TempDir()
	for _, lk := range linkKinds {
		for _, format := range []string{"pcap", "pcapng"} {
			t.Run(lk.name+"/"+format, func(t *testing.T) {
				path := filepath.Join(dir, lk.name+"."+format)
				frames := scenario()
				if lk.lt == layers.LinkTypeRaw {
					frames = frames[1:] // no ARP on a raw IP link
				}
				var n int
				if format == "pcap" {
					n = writePcap(t, path, lk.lt, lk.frame, frames)
				} else {
					n = writePcapng(t, path, lk.lt, lk.frame, frames)
				}
				events, sum, _, err := runJSON(t, Options{Files: []string{path}})
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if want := wantSummary(n); !reflect.DeepEqual(sum, want) {
					t.Errorf("summary\n got %+v\nwant %+v", sum, want)
				}
				if len(events) != sum.Events {
					t.Errorf("%d event lines, summary says %d", len(events), sum.Events)
				}
			})
		}
	}
}

func TestAuditJSONEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	writePcap(t, path, layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip) }, scenario())
	events, _, _, err := runJSON(t, Options{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]jsonEvent{}
	for _, e := range events {
		byKind[e.Kind] = append(byKind[e.Kind], e)
		if e.File != path || e.Record < 1 || e.Time == "" {
			t.Errorf("event without file/record/time: %+v", e)
		}
	}
	ping := byKind["ping"][0]
	if ping.Record != 3 || ping.Src != "10.0.1.2:3531" || ping.Dst != "198.51.100.1:1214" || !ping.FromLAN ||
		ping.Network != "KaZaA" || ping.Verdict != "drop" || ping.Lock == nil || ping.Lock.Port != 3531 ||
		ping.Reply == nil || ping.Reply.From != "198.51.100.1:1214" || ping.Reply.Type != "node-pong" ||
		!reflect.DeepEqual(ping.Peers, []jsonPeer{{"198.51.100.1", 1214, "fasttrack", "udp-ping"}}) {
		t.Errorf("ping event %+v", ping)
	}
	pong := byKind["supernode-pong"]
	if len(pong) != 1 || pong[0].FromLAN || pong[0].Verdict != "accept" || pong[0].Lock != nil || len(pong[0].Peers) != 0 {
		t.Errorf("outside pong events %+v", pong)
	}
	gets := byKind["http-request"]
	if len(gets) != 2 {
		t.Fatalf("http-request events: %+v", gets)
	}
	g := gets[0]
	if g.Username != "alice" || g.Hash != inspecttest.Hash || g.Supernode != inspecttest.Supernode || g.Self != inspecttest.SelfIP ||
		!reflect.DeepEqual(g.Peers, []jsonPeer{{"198.51.100.3", 1214, "fasttrack", "http-request"}, {"198.51.100.20", 2409, "fasttrack", "supernode-header"}}) {
		t.Errorf("GET event %+v", g)
	}
	// The snapped GET: its cut supernode header line is not evidence.
	if s := gets[1]; s.Username != "carol" || s.Supernode != "" || len(s.Peers) != 1 {
		t.Errorf("snapped GET event %+v", s)
	}
}

func TestAuditReport(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.pcapng")
	b := filepath.Join(dir, "b.pcap")
	frames := scenario()
	na := writePcapng(t, a, layers.LinkTypeLinuxSLL2, sll2, frames[:5])
	nb := writePcap(t, b, layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip, 0x8100) }, frames[5:])
	var out bytes.Buffer
	if err := Run(context.Background(), Options{Files: []string{a, b}}, &out); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	for _, want := range []string{
		"P2P audit (fasttrack, bittorrent): 2 file(s), " + strconv.Itoa(na+nb) + " packets, 6 evidence events",
		"client 10.0.1.2",
		// Both files start at t0: first and last are the extremes over both.
		"  seen        2024-05-01T10:00:01Z .. 2024-05-01T10:00:03Z",
		"  evidence    fasttrack http-request 1, fasttrack ping 2",
		"  networks    KaZaA\n", // "kazaa" is the same network
		"  usernames   \"alice\"",
		"  lock ports  3531",
		"  peers       4: 198.51.100.1, 198.51.100.2, 198.51.100.3, 198.51.100.20",
		"client fd00:1::2",
		"  evidence    fasttrack http-request 1, fasttrack ping 1",
		"  networks    fileshare",
		"  peers       2: 2001:db8:100::7, 2001:db8:100::9",
		"  clients                      2",
		"  peers                        6",
		"  supernodes                   1",
		"  evidence events              6",
		"  events from outside the LAN  1",
		"  packets ftwall would drop    5",
		"  records cut by snap length   2",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

func TestAuditLANOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	writePcap(t, path, layers.LinkTypeRaw, func(ip []byte) []byte { return ip }, scenario()[1:])
	// With the IPv6 LAN only, the IPv4 client is "outside" and not locked.
	_, sum, _, err := runJSON(t, Options{Files: []string{path}, LAN: []netip.Prefix{netip.MustParsePrefix("fd00:1::/64")}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sum.Clients, []string{"fd00:1::2"}) || !reflect.DeepEqual(sum.Peers, []string{"2001:db8:100::7", "2001:db8:100::9"}) {
		t.Errorf("summary %+v", sum)
	}
	if len(sum.Supernodes) != 0 || sum.Supernodes == nil {
		t.Errorf("supernodes %#v, want an empty list", sum.Supernodes)
	}
}

func TestAuditEmptyLists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quiet.pcap")
	writePcap(t, path, layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip) }, scenario()[:2])
	_, _, raw, err := runJSON(t, Options{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"clients":[],"peers":[],"supernodes":[],"packets":2,"events":0}` + "\n"; raw != want {
		t.Errorf("output %q, want %q", raw, want)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), Options{Files: []string{path}}, &out); err != nil || !strings.Contains(out.String(), "no P2P client found") {
		t.Errorf("report (err %v):\n%s", err, out.String())
	}
}

func TestAuditMixedLinkTypesPcapng(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "lan0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535},
		pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	p1 := ethernet(inspecttest.UDP(client4, peerA, inspecttest.Ping("KaZaA")))
	p2 := sll(inspecttest.TCP(client6, peer6, inspecttest.GetHash()))
	for i, r := range []struct {
		data  []byte
		iface int
	}{{p1, 0}, {p2, id}} {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), Length: len(r.data), CaptureLength: len(r.data), InterfaceIndex: r.iface}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mixed.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, sum, _, err := runJSON(t, Options{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sum.Clients, []string{"10.0.1.2", "fd00:1::2"}) || sum.Events != 2 {
		t.Errorf("summary %+v", sum)
	}
}

func TestAuditGzip(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "c.pcap")
	n := writePcap(t, plain, layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip) }, scenario())
	raw, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c.pcap.gz")
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, sum, _, err := runJSON(t, Options{Files: []string{path}})
	if err != nil || !reflect.DeepEqual(sum, wantSummary(n)) {
		t.Errorf("gzip capture: err %v summary %+v", err, sum)
	}
}
