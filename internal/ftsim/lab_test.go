package ftsim_test

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
)

// patient bounds waits that end at once on an idle machine.
const patient = 10 * time.Second

// Without a firewall everything gets through the lab's router: the node in
// the internet namespace answers pings to each of its peer addresses from
// that address (IPv4 and IPv6), the client in the client namespace connects
// in UDP mode, downloads and pushes, and answers a probe sent from the
// router's LAN address; a UDP-less client in client2 downloads too.
func TestLabEverythingGetsThrough(t *testing.T) {
	l := lab.NewT(t)
	ctx := t.Context()

	node, err := ftsim.StartNode(ctx, ftsim.NodeOptions{
		Net: ftsim.InNamespace(l.Internet.Do), Port: 1214, BodySize: 50_000, Username: "peer",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()

	var nodes []netip.AddrPort
	for i := range 4 {
		nodes = append(nodes, netip.AddrPortFrom(l.Peers4[i*8], 1214), netip.AddrPortFrom(l.Peers6[i*8], 1214))
	}
	nodes = append(nodes, netip.AddrPortFrom(l.InternetIP4, 1214), netip.AddrPortFrom(l.InternetIP6, 1214))
	httpPeer := netip.AddrPortFrom(l.Peers4[5], 1214)
	supernode := netip.AddrPortFrom(l.Peers4[6], 1214)
	givePeer := netip.AddrPortFrom(l.Peers6[3], 1214)

	client, err := ftsim.NewClient(ctx, ftsim.ClientOptions{
		Net: ftsim.InNamespace(l.Client.Do), Nodes: nodes, Port: 3456,
		PingWait: patient, ConnectTimeout: patient, HTTPTimeout: patient,
		HTTP: httpPeer, Supernode: supernode, Give: givePeer, BodySize: 7000,
	})
	if err != nil {
		t.Fatal(err)
	}

	// A time-lock probe as the firewall sends it: from the router's LAN
	// address to the client's FastTrack port.
	probe, err := l.Router.DialUDP(l.RouterLAN4, netip.AddrPortFrom(l.ClientIP4, client.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if _, err := probe.Write(fasttrack.AppendPing(nil, "KaZaA")); err != nil {
		t.Fatal(err)
	}
	probe.SetReadDeadline(time.Now().Add(patient))
	buf := make([]byte, 64)
	k, err := probe.Read(buf)
	if err != nil {
		t.Fatalf("no answer to the probe: %v", err)
	}
	if string(buf[:k]) != string(fasttrack.AppendSupernodePong(nil, "KaZaA", 0)) {
		t.Fatalf("probe answer %x", buf[:k])
	}

	r := client.Run(ctx)
	js, _ := json.Marshal(r)
	t.Logf("client: %s", js)

	if r.Port != 3456 || r.Outcome != ftsim.OutcomeConnected || !slices.Equal(r.ModeSequence(), []string{ftsim.ModeUDP}) {
		t.Fatalf("outcome %s %q modes %v", r.Outcome, r.Reason, r.ModeSequence())
	}
	for _, n := range nodes {
		p, _ := r.Ping(n)
		// The pong comes from the very address pinged (the node is bound to
		// the wildcard and answers with pktinfo).
		if p.Sent != 1 || p.Pong != ftsim.TypeSupernodePong || p.PongFrom != n || !p.Invited {
			t.Errorf("ping %+v", p)
		}
	}
	if len(r.TCP) != len(nodes) {
		t.Errorf("%d TCP attempts, want one per node", len(r.TCP))
	}
	for _, a := range r.TCP {
		if a.Mode != ftsim.ModeUDP || a.Result != ftsim.ResultConnected || !a.Handshake {
			t.Errorf("attempt %+v", a)
		}
	}
	if d := r.HTTP; d == nil || d.Status != 200 || d.Bytes != 50_000 || !d.Intact || d.Headers.Get("X-Kazaa-IP") != httpPeer.String() {
		t.Errorf("download %+v", d)
	}
	if g := r.Give; g == nil || g.Status != 200 || g.Bytes != 7000 || g.Error != "" {
		t.Errorf("give %+v", g)
	}
	if r.ProbesAnswered != 1 || r.Probes[0].From.Addr() != l.RouterLAN4 || r.Probes[0].To != l.ClientIP4 {
		t.Errorf("probes %+v", r.Probes)
	}

	// The safety-net case: no UDP, plain HTTP over IPv6 from client2.
	r2, err := ftsim.RunClient(ctx, ftsim.ClientOptions{
		Net: ftsim.InNamespace(l.Client2.Do), NoUDP: true, HTTPTimeout: patient,
		HTTP: netip.AddrPortFrom(l.Peers6[31], 1214), Supernode: netip.AddrPortFrom(l.Peers6[30], 1214),
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := r2.HTTP; d == nil || d.Status != 200 || !d.Intact || r2.Outcome != ftsim.OutcomeNoNodes {
		t.Errorf("client2 report %+v, download %+v", r2, d)
	}

	nr := node.Stop()
	js, _ = json.Marshal(nr)
	t.Logf("node: %s", js)
	if nr.PingsAnswered != len(nodes) || nr.Sessions != len(nodes) || len(nr.Downloads) != 2 || len(nr.Gives) != 1 {
		t.Fatalf("node report %+v", nr)
	}
	for i, p := range nr.Pings {
		if p.From != netip.AddrPortFrom(ifv4(p.To, l.ClientIP4, l.ClientIP6), 3456) || !slices.Contains(nodes, netip.AddrPortFrom(p.To, 1214)) {
			t.Errorf("node ping %d %+v", i, p)
		}
	}
	byPath := map[netip.Addr]ftsim.ServedDownload{}
	for _, d := range nr.Downloads {
		byPath[d.From.Addr()] = d
	}
	d := byPath[l.ClientIP4]
	if d.To != httpPeer || d.Headers.Get("X-Kazaa-IP") != netip.AddrPortFrom(l.ClientIP4, 3456).String() ||
		d.Headers.Get("X-Kazaa-SupernodeIP") != supernode.String() || d.Headers.Get("UserAgent") != ftsim.KazaaAgent {
		t.Errorf("client download as served %+v", d)
	}
	d = byPath[l.Client2IP6]
	if d.To.Addr() != l.Peers6[31] || d.Headers.Get("X-Kazaa-SupernodeIP") != netip.AddrPortFrom(l.Peers6[30], 1214).String() {
		t.Errorf("client2 download as served %+v", d)
	}
	if g := nr.Gives[0]; g.From.Addr() != l.ClientIP6 || g.To != givePeer || g.ID != ftsim.DefaultGiveID || g.Bytes != 7000 || !g.Intact {
		t.Errorf("give as received %+v", g)
	}
}

// ifv4 returns v4 when a is IPv4, else v6.
func ifv4(a, v4, v6 netip.Addr) netip.Addr {
	if a.Is4() {
		return v4
	}
	return v6
}
