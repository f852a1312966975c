package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/btlab"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// Genuine BitTorrent clients (Debian's aria2, transmission and
// qbittorrent-nox, opentracker, a lab DHT) through `ftwall run` (issue 9).
// internal/btlab's own tests are the baseline: without ftwall every one of
// these downloads completes and cmp(1) confirms the file.

type btScenario struct {
	name    string
	leecher btlab.Options
	six     bool // IPv6 only: check peers6 / locked6
	// observe is how long the client runs under ftwall before the checks.
	observe time.Duration
}

// TestBitTorrentClientsStopped runs each real client as the leecher with a
// seeder, opentracker and the lab DHT in the internet namespace, with
// `ftwall run` on the router: the client is locked within 1 s of its first
// BitTorrent packet, the tracker, DHT node and seeder are blocked, and no
// byte of the file reaches the client. A neighbour's ordinary traffic in
// the same run is untouched and teaches nothing.
func TestBitTorrentClientsStopped(t *testing.T) {
	btlab.Require(t, btlab.ProgOpentracker, btlab.ProgAria2, btlab.ProgTransmission, btlab.ProgQBittorrent)
	scenarios := []btScenario{
		{"aria2/http-tracker", btlab.Options{Client: btlab.Aria2, Tracker: btlab.TrackerHTTP, DHTPort: 6882}, false, 6 * time.Second},
		{"transmission/udp-tracker", btlab.Options{Client: btlab.Transmission, Tracker: btlab.TrackerUDP}, false, 16 * time.Second},
		{"qbittorrent/dht-only", btlab.Options{Client: btlab.QBittorrent, Tracker: btlab.TrackerNone}, false, 6 * time.Second},
		{"qbittorrent/udp-tracker-encryption-required", btlab.Options{Client: btlab.QBittorrent, Tracker: btlab.TrackerUDP, Encryption: btlab.EncryptionRequired}, false, 6 * time.Second},
		// Encryption required and no DHT: only the tracker's plaintext
		// is left to catch.
		{"aria2/http-tracker-encryption-required-no-dht", btlab.Options{Client: btlab.Aria2, Tracker: btlab.TrackerHTTP, Encryption: btlab.EncryptionRequired, NoDHT: true}, false, 6 * time.Second},
		{"aria2/ipv6-dht-only", btlab.Options{Client: btlab.Aria2, Tracker: btlab.TrackerNone, Family: btlab.IPv6Only}, true, 8 * time.Second},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runBTScenario(t, sc) })
	}
}

func runBTScenario(t *testing.T, sc btScenario) {
	l := lab.NewT(t)
	r := btlab.NewRig(t, l, btlab.RigOptions{})
	k := kernel(t, l)
	fw := startRun(t, l)
	lanCap := btlab.StartCapture(t, l.Router, "lan0")
	wanCap := btlab.StartCapture(t, l.Router, "wan0")
	ordinary := startOrdinaryServers(t, l)

	c := r.StartLeecher(t, sc.leecher)
	client, lockSet, peerSet := l.ClientIP4, nft.SetLocked4, nft.SetPeers4
	seeder := l.InternetIP4
	if sc.six {
		client, lockSet, peerSet, seeder = l.ClientIP6, nft.SetLocked6, nft.SetPeers6, l.InternetIP6
	}
	first, err := lanCap.WaitBitTorrent(t.Context(), 30*time.Second, client)
	if err != nil {
		t.Fatalf("no BitTorrent packet from the client: %v\n%s", err, c.Output())
	}
	var lockedAt time.Time
	waitFor(t, 5*time.Second, "client in "+lockSet, func() bool {
		if setHas(t, k, lockSet, client) {
			lockedAt = time.Now()
			return true
		}
		return false
	})
	lag := lockedAt.Sub(first.Time)
	t.Logf("first BitTorrent packet %s at +%v; in %s %v later (poll resolution 10 ms)",
		first.Kind, first.Time.Sub(c.Started()).Round(time.Millisecond), lockSet, lag.Round(time.Millisecond))
	if lag > time.Second {
		t.Errorf("client locked %v after its first BitTorrent packet; want within 1s", lag)
	}

	ordinary.exercise(t, l)
	time.Sleep(sc.observe)

	done, err := c.CompletedBytes()
	if err != nil {
		t.Fatal(err)
	}
	if done != 0 {
		t.Errorf("%d bytes of verified pieces reached the client", done)
	}
	// Every payload byte the seeder's peer port sent towards the client,
	// as it crossed the router's LAN interface, and everything of the
	// client's that the router let out to the seeder's peer port.
	var fromSeeder, toSeeder int
	for _, p := range lanCap.Packets() {
		if p.Outgoing && p.Src.Addr() == seeder && p.Src.Port() == btlab.DefaultSeederPort {
			fromSeeder += p.Len
		}
	}
	for _, p := range wanCap.Packets() {
		if p.Outgoing && p.Dst.Addr() == seeder && p.Dst.Port() == btlab.DefaultSeederPort {
			toSeeder++
		}
	}
	t.Logf("seeder → client payload bytes: %d; client packets let out to the seeder's peer port: %d", fromSeeder, toSeeder)
	if fromSeeder != 0 {
		t.Errorf("%d payload bytes from the seeder reached the client", fromSeeder)
	}
	if !setHas(t, k, peerSet, seeder) {
		t.Errorf("tracker/DHT node/seeder %v not in %s (%v)", seeder, peerSet, setAddrs(t, k, peerSet))
	}
	if sc.leecher.Tracker == btlab.TrackerNone {
		// The DHT nodes the client asked are blocked too.
		t.Logf("%s: %v", peerSet, setAddrs(t, k, peerSet))
	}
	ordinary.check(t, l, k)
	if t.Failed() {
		t.Logf("leecher output:\n%s", c.Output())
		t.Logf("ftwall output:\n%s", fw.out.String())
	}
}

// TestBitTorrentLockHeld: a running qBittorrent keeps its lock for more
// than 3 × --timelock, kept alive by the DHT ping probe and its answer; the
// lock lapses within --timelock + 5 s after the client stops.
func TestBitTorrentLockHeld(t *testing.T) {
	btlab.Require(t, btlab.ProgOpentracker, btlab.ProgQBittorrent)
	const timelock = 3 * time.Second
	l := lab.NewT(t)
	r := btlab.NewRig(t, l, btlab.RigOptions{})
	k := kernel(t, l)
	startRun(t, l, "--timelock", timelock.String())
	lanCap := btlab.StartCapture(t, l.Router, "lan0")
	c := r.StartLeecher(t, btlab.Options{Client: btlab.QBittorrent, Tracker: btlab.TrackerHTTP, Family: btlab.IPv4Only})
	waitFor(t, 10*time.Second, "client locked", func() bool { return setHas(t, k, nft.SetLocked4, l.ClientIP4) })
	start := time.Now()
	hold := 3*timelock + 2*time.Second
	samples, missing := 0, 0
	for time.Since(start) < hold {
		samples++
		if !setHas(t, k, nft.SetLocked4, l.ClientIP4) {
			missing++
		}
		time.Sleep(100 * time.Millisecond)
	}
	var probes, answers int
	for _, p := range lanCap.Packets() {
		switch {
		case p.Outgoing && p.Proto == "udp" && p.Src.Addr() == l.RouterLAN4 && p.Dst.Addr() == l.ClientIP4 && strings.Contains(string(p.Payload), "4:ping"):
			probes++
		case !p.Outgoing && p.Proto == "udp" && p.Dst.Addr() == l.RouterLAN4 && p.Src.Addr() == l.ClientIP4 && strings.Contains(string(p.Payload), "1:y1:r"):
			answers++
		}
	}
	t.Logf("lock present in %d of %d samples over %v (timelock %v); %d DHT ping probes, %d answers", samples-missing, samples, hold, timelock, probes, answers)
	if missing != 0 {
		t.Errorf("the lock was missing in %d of %d samples", missing, samples)
	}
	if probes < 2 || answers < 2 {
		t.Errorf("%d probes and %d answers; want at least 2 of each", probes, answers)
	}
	if err := c.Stop(); err != nil {
		t.Logf("stop: %v", err)
	}
	stopped := time.Now()
	waitFor(t, timelock+5*time.Second, "lock lapsed after the client stopped", func() bool { return !setHas(t, k, nft.SetLocked4, l.ClientIP4) })
	t.Logf("lock lapsed %v after the client stopped", time.Since(stopped).Round(100*time.Millisecond))
}

// ordinaryServers are the internet-side ends of a neighbour's ordinary
// traffic, on an address BitTorrent never uses.
type ordinaryServers struct {
	addr4  netip.Addr
	web    *http.Server
	echoes []*lab.Echo
}

func startOrdinaryServers(t *testing.T, l *lab.Lab) *ordinaryServers {
	t.Helper()
	s := &ordinaryServers{addr4: l.Peers4[0]}
	ln, err := l.Internet.ListenTCP("tcp", netip.AddrPortFrom(s.addr4, 80).String())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".torrent") {
			w.Header().Set("Content-Type", "application/x-bittorrent")
			fmt.Fprint(w, "d8:announce36:http://203.0.113.2:6969/announce4:infod6:lengthi4e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee")
			return
		}
		fmt.Fprintf(w, "ok %s\n", r.URL.String())
	})
	s.web = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go s.web.Serve(ln)
	t.Cleanup(func() { s.web.Close() })
	for _, port := range []int{53, 443, 3478, 123, 51820, 27015} {
		e, err := l.Internet.StartEchoUDP("udp", netip.AddrPortFrom(s.addr4, uint16(port)).String())
		if err != nil {
			t.Fatal(err)
		}
		s.echoes = append(s.echoes, e)
		t.Cleanup(func() { e.Close() })
	}
	return s
}

// ordinaryUDP are datagrams of DNS, QUIC, STUN, NTP, WireGuard and a game,
// each to its port.
func ordinaryUDP() map[uint16][]byte {
	quic := make([]byte, 1200)
	copy(quic, []byte{0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xd0})
	ntp := make([]byte, 48)
	ntp[0] = 0x23
	wg := make([]byte, 148)
	wg[0] = 1
	return map[uint16][]byte{
		53:    {0x64, 0x31, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1, 0, 0, 0x29, 0x10, 0, 0, 0, 0, 0, 0, 0},
		443:   quic,
		3478:  {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		123:   ntp,
		51820: wg,
		27015: []byte("\xff\xff\xff\xffTSource Engine Query\x00"),
	}
}

// exercise sends the neighbour's ordinary traffic and wants every answer.
func (s *ordinaryServers) exercise(t *testing.T, l *lab.Lab) {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return l.Client2.DialTCP(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, path := range []string{"/", "/files/debian.iso.torrent", "/news/announce?id=4", "/announce.html"} {
		resp, err := hc.Get("http://" + netip.AddrPortFrom(s.addr4, 80).String() + path)
		if err != nil {
			t.Errorf("neighbour's HTTP GET %s: %v", path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("neighbour's HTTP GET %s: %s, %d bytes", path, resp.Status, len(body))
		}
	}
	for port, payload := range ordinaryUDP() {
		c, err := l.Client2.DialUDP(netip.Addr{}, netip.AddrPortFrom(s.addr4, port))
		if err != nil {
			t.Fatal(err)
		}
		if err := lab.RoundTrip(c, payload, 2*time.Second); err != nil {
			t.Errorf("neighbour's UDP to port %d: %v", port, err)
		}
		c.Close()
	}
}

// check wants the neighbour unlocked and the servers' address unlearned.
func (s *ordinaryServers) check(t *testing.T, l *lab.Lab, k *nft.Kernel) {
	t.Helper()
	if setHas(t, k, nft.SetLocked4, l.Client2IP4) {
		t.Error("the neighbour was locked by ordinary traffic")
	}
	if setHas(t, k, nft.SetPeers4, s.addr4) {
		t.Errorf("the neighbour's server %v was learned as a peer", s.addr4)
	}
}

// TestBitTorrentPrefilterIgnoresOrdinaryUDP floods the router with
// ordinary UDP (QUIC, DNS, STUN, NTP, WireGuard, a game query) from a LAN
// host: no queue rule of any detector counts a packet, and everything is
// delivered.
func TestBitTorrentPrefilterIgnoresOrdinaryUDP(t *testing.T) {
	l := newLab(t)
	k, _ := setup(t, l, baseConfig(l))
	srv := startOrdinaryServers(t, l)
	const rounds = 500
	sent := 0
	for port, payload := range ordinaryUDP() {
		c, err := l.Client.DialUDP(netip.Addr{}, netip.AddrPortFrom(srv.addr4, port))
		if err != nil {
			t.Fatal(err)
		}
		for range rounds {
			if _, err := c.Write(payload); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		// The last one must come back: the path is open.
		if err := lab.RoundTrip(c, payload, 2*time.Second); err != nil {
			t.Errorf("UDP to port %d after the flood: %v", port, err)
		}
		c.Close()
	}
	st, err := k.Status(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var queued uint64
	for _, c := range st.Counters {
		if strings.HasPrefix(c.Rule, "queue-") {
			queued += c.Packets
			if c.Packets != 0 {
				t.Errorf("queue rule %s counted %d packets of ordinary UDP", c.Rule, c.Packets)
			}
		}
	}
	t.Logf("%d ordinary datagrams sent from the LAN; queue rules counted %d", sent, queued)
}
