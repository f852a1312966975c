package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/share"
	"github.com/ftwall/ftwall/internal/share/sharetest"
	"github.com/ftwall/ftwall/nft"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// shareLab is a three-node NATS JetStream cluster (Debian's nats-server,
// one node per namespace) on a core network, with gateways attached to it.
type shareLab struct {
	core    *lab.Core
	cluster *lab.NATSCluster
	out     *lab.Buffer
}

func newShareLab(t *testing.T, opts ...lab.NATSOptions) *shareLab {
	t.Helper()
	lab.RequireRoot(t)
	if _, err := lab.NATSServerPath(); err != nil {
		t.Skipf("nats-server is not installed (make deps installs Debian's package): %v", err)
	}
	core := lab.NewCoreT(t)
	out := &lab.Buffer{}
	var o lab.NATSOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	cl, err := lab.StartNATSCluster(t.Context(), core, 3, t.TempDir(), out, o)
	if err != nil {
		t.Fatalf("NATS cluster: %v", err)
	}
	t.Cleanup(func() {
		cl.Close()
		if t.Failed() {
			t.Logf("NATS servers:\n%s", out.String())
		}
	})
	return &shareLab{core: core, cluster: cl, out: out}
}

// gateway is one ftwall router of the share lab with its own LANs.
type gateway struct {
	l    *lab.Lab
	p    *ftwallProc
	k    *nft.Kernel
	name string
}

// addGateway builds a lab, attaches its router to the core and starts
// ftwall run there, sharing in mode with name.
func (s *shareLab) addGateway(t *testing.T, name string, mode share.Mode, extra ...string) *gateway {
	t.Helper()
	l := lab.NewT(t)
	if _, err := s.core.Attach(t.Context(), l.Router, lab.IfCore); err != nil {
		t.Fatal(err)
	}
	g := &gateway{l: l, k: kernel(t, l), name: name}
	g.start(t, s, mode, extra...)
	return g
}

func (g *gateway) start(t *testing.T, s *shareLab, mode share.Mode, extra ...string) {
	t.Helper()
	args := append([]string{"--share-url", strings.Join(s.cluster.URLs(), ","), "--share-mode", string(mode),
		"--share-name", g.name, "--share-replicas", "3", "--timelock", "60s"}, extra...)
	g.p = startRun(t, g.l, args...)
	waitFor(t, 15*time.Second, g.name+": shared entries loaded", func() bool {
		return strings.Contains(g.p.out.String(), "shared entries loaded")
	})
}

// status is the gateway's `ftwall status --json` share part.
func (g *gateway) status(t *testing.T) shareStatus {
	t.Helper()
	out := ftwallOK(t, g.l, "status", "--json", "--sample", "0")
	var st struct {
		Service struct {
			Share *shareStatus `json:"share"`
		} `json:"service"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Service.Share == nil {
		t.Fatalf("%s: status --json without share (%v):\n%s", g.name, err, out)
	}
	return *st.Service.Share
}

type shareStatus struct {
	Connected    bool              `json:"connected"`
	Loaded       bool              `json:"loaded"`
	Published    uint64            `json:"published"`
	AppliedPeers uint64            `json:"applied_peers"`
	AppliedLocks uint64            `json:"applied_locks"`
	Rejected     map[string]uint64 `json:"rejected"`
	Dropped      uint64            `json:"dropped"`
	Backlog      int               `json:"backlog"`
}

// ping makes the gateway's client ping nodes (a Kazaa-shaped client; the
// pings are dropped and answered by ftwall, which learns the peers).
func (g *gateway) ping(t *testing.T, nodes []netip.Addr) {
	t.Helper()
	var aps []netip.AddrPort
	for _, a := range nodes {
		aps = append(aps, netip.AddrPortFrom(a, ftPort))
	}
	opts := ftsim.ClientOptions{Nodes: aps, PingWait: 300 * time.Millisecond, ConnectTimeout: 200 * time.Millisecond}
	runClient(t, g.l, opts)
}

func setFor(a netip.Addr) string {
	if a.Is6() {
		return nft.SetPeers6
	}
	return nft.SetPeers4
}

// handKV opens a bucket as an operator would with the nats CLI, from the
// core namespace.
func (s *shareLab) handKV(t *testing.T, bucket string) jetstream.KeyValue {
	t.Helper()
	return sharetest.OpenKV(t, strings.Join(s.cluster.URLs(), ","), bucket, nats.SetCustomDialer(lab.Dialer{NS: s.core.NS}))
}

// TestShareAcrossGateways: two routers with separate LANs share one
// blocklist through a three-node cluster: a peer that router A learns from
// a Kazaa-shaped ping flood is dropped at router B; an unblock on A reaches
// B; sharing goes on when a NATS node dies; entries published by hand that
// name protected, own, LAN or non-public addresses are rejected on both;
// a restarted router with an empty table loads the bucket.
func TestShareAcrossGateways(t *testing.T) {
	s := newShareLab(t)
	a := s.addGateway(t, "gw-a", share.ModePeers, "--allow", "198.51.100.30/32")
	b := s.addGateway(t, "gw-b", share.ModePeers, "--allow", "198.51.100.30/32")

	learned := []netip.Addr{a.l.Peers4[0], a.l.Peers4[1], a.l.Peers6[0]}
	start := time.Now()
	a.ping(t, learned)
	for _, p := range learned {
		waitFor(t, 5*time.Second, "B holds "+p.String(), func() bool { return setHas(t, b.k, setFor(p), p) })
	}
	t.Logf("3 peers learned on A were in B's kernel %v after A's client started pinging", time.Since(start).Round(time.Millisecond))
	// B drops traffic from its own LAN to them, though its client never
	// pinged anything; a peer nobody learned still gets through.
	udpDropped(t, b.l.Client, b.l.Internet,
		flow{b.l.ClientIP4, netip.AddrPortFrom(learned[0], 9999)},
		flow{b.l.ClientIP4, netip.AddrPortFrom(b.l.Peers4[9], 9999)})
	udpDropped(t, b.l.Client, b.l.Internet,
		flow{b.l.ClientIP6, netip.AddrPortFrom(learned[2], 9999)},
		flow{b.l.ClientIP6, netip.AddrPortFrom(b.l.Peers6[9], 9999)})

	// An operator's unblock on A reaches B.
	ftwallOK(t, a.l, "unblock", learned[1].String())
	waitFor(t, 5*time.Second, "B dropped the unblocked peer", func() bool { return !setHas(t, b.k, nft.SetPeers4, learned[1]) })

	// Untrusted entries, published by hand into the peers bucket.
	kv := s.handKV(t, share.DefaultPeersBucket)
	bad := []netip.Addr{
		netip.MustParseAddr("198.51.100.30"), // allowlisted on both
		b.l.RouterWAN4,                       // B's own address
		b.l.ClientIP4,                        // a LAN client
		netip.MustParseAddr("10.200.0.1"),    // private
		netip.MustParseAddr("100.64.0.1"),    // shared address space
		netip.MustParseAddr("224.0.0.251"),   // multicast
		netip.MustParseAddr("fd00:1::2"),     // ULA, B's LAN
	}
	for _, x := range bad {
		v := fmt.Sprintf(`{"v":1,"timeout":3600,"protocol":"fasttrack","reason":"forged","gateway":"mallory"}`)
		if _, err := kv.Put(t.Context(), share.Key(x), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kv.Put(t.Context(), "198.51.100.31", []byte(`{"v":1,"timeout":3600,"gateway":"mallory"}`)); err != nil {
		t.Fatal(err)
	}
	for _, g := range []*gateway{a, b} {
		waitFor(t, 5*time.Second, g.name+": the valid hand-published entry applied", func() bool {
			return setHas(t, g.k, nft.SetPeers4, netip.MustParseAddr("198.51.100.31"))
		})
		// Its lifetime in the kernel is the entry's hour, counted from the
		// server's store time.
		if e, ok := elementOf(t, g.k, nft.SetPeers4, netip.MustParseAddr("198.51.100.31")); !ok || e.Expires > time.Hour || e.Expires < time.Hour-time.Minute {
			t.Errorf("%s: the hand-published one-hour entry expires in %v in the kernel, want just under 1h", g.name, e.Expires)
		}
		for _, x := range bad {
			if setHas(t, g.k, setFor(x), x) {
				t.Errorf("%s: untrusted entry %s is in its kernel", g.name, x)
			}
		}
		if st := g.status(t); st.Rejected["not-candidate"] != uint64(len(bad)) {
			t.Errorf("%s: rejected %v, want %d not-candidate", g.name, st.Rejected, len(bad))
		}
	}

	// One NATS node dies: sharing goes on.
	s.cluster.Kill(0)
	if err := s.cluster.WaitReady(t.Context(), 1, 2); err != nil {
		t.Fatal(err)
	}
	next := a.l.Peers4[5]
	killed := time.Now()
	a.ping(t, []netip.Addr{next})
	// The cluster needs some seconds to notice the dead node (leader
	// elections, a consumer placed on it); 11 ms to 11.5 s here, on a
	// loaded 2-CPU machine. A minute is the bound of a failure.
	waitFor(t, time.Minute, "B holds a peer learned after a NATS node died", func() bool { return setHas(t, b.k, nft.SetPeers4, next) })
	t.Logf("a peer learned after a NATS node died was in B's kernel %v after the kill", time.Since(killed).Round(time.Millisecond))

	// B restarts on an empty table and loads the bucket.
	b.p.stop(t)
	ftwallOK(t, b.l, "teardown")
	b.start(t, s, share.ModePeers, "--allow", "198.51.100.30/32")
	for _, p := range []netip.Addr{learned[0], learned[2], next, netip.MustParseAddr("198.51.100.31")} {
		if !setHas(t, b.k, setFor(p), p) {
			t.Errorf("restarted B lacks %s from the bucket", p)
		}
	}
	if setHas(t, b.k, nft.SetPeers4, learned[1]) {
		t.Error("restarted B holds the peer unblocked on A")
	}
}

// TestSharePartitionConverges: router B is cut off from the cluster for
// 30 s while router A learns 1,000 peers; after the heal B holds them all
// within 5 s, and B's own blocking went on meanwhile.
func TestSharePartitionConverges(t *testing.T) {
	s := newShareLab(t)
	a := s.addGateway(t, "gw-a", share.ModePeers)
	b := s.addGateway(t, "gw-b", share.ModePeers)

	if err := s.core.Cut(t.Context(), b.l.Router); err != nil {
		t.Fatal(err)
	}
	cutAt := time.Now()
	var peers []netip.Addr
	p := netip.MustParseAddr("2001:db8:100::1000")
	for range 1000 {
		peers = append(peers, p)
		p = p.Next()
	}
	a.ping(t, peers)
	waitFor(t, 10*time.Second, "A holds the 1,000 peers", func() bool { return len(setAddrs(t, a.k, nft.SetPeers6)) >= 1000 })
	// B, cut off, learns alone meanwhile.
	b.ping(t, []netip.Addr{b.l.Peers4[3]})
	waitFor(t, 5*time.Second, "B learns alone while cut off", func() bool { return setHas(t, b.k, nft.SetPeers4, b.l.Peers4[3]) })
	if n := countIn(t, b.k, nft.SetPeers6, peers); n == len(peers) {
		t.Fatal("B holds A's peers while cut off: the partition does not cut")
	}
	time.Sleep(30*time.Second - time.Since(cutAt))
	if err := s.core.Heal(t.Context(), b.l.Router); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	waitFor(t, 5*time.Second, "B holds A's 1,000 peers after the heal", func() bool { return countIn(t, b.k, nft.SetPeers6, peers) == len(peers) })
	t.Logf("after a 30 s partition: B held all 1,000 peers %v after the heal", time.Since(healed).Round(time.Millisecond))
	waitFor(t, 10*time.Second, "A's peer learned by B alone reached A", func() bool { return setHas(t, a.k, nft.SetPeers4, b.l.Peers4[3]) })
	if st := b.status(t); !st.Connected || st.Dropped != 0 {
		t.Errorf("B after the heal: %+v", st)
	}
}

func countIn(t *testing.T, k *nft.Kernel, set string, want []netip.Addr) int {
	t.Helper()
	have := map[netip.Addr]bool{}
	for _, a := range setAddrs(t, k, set) {
		have[a] = true
	}
	n := 0
	for _, a := range want {
		if have[a] {
			n++
		}
	}
	return n
}

// TestShareHAPair: two routers serving one LAN (same addressing) in mode
// all: the standby holds the active router's peers and its time-locks, so
// after a failover the client stays locked and its peers stay dropped.
//
// The pair's users have the README's permissions for both buckets (the
// peers subjects, and the same for ftwall-locks), nothing more.
func TestShareHAPair(t *testing.T) {
	both := append(forBucket(sharePublishSubjects, "ftwall-peers"), forBucket(sharePublishSubjects, "ftwall-locks")...)
	users := []lab.NATSUser{
		{Name: "gw-active", Password: "pw-1", Publish: both, Subscribe: []string{"_INBOX.>"}},
		{Name: "gw-standby", Password: "pw-2", Publish: both, Subscribe: []string{"_INBOX.>"}},
	}
	s := newShareLab(t, lab.NATSOptions{Users: users})
	active := s.addGateway(t, "gw-active", share.ModeAll, "--share-user", "gw-active", "--share-password", "pw-1")
	standby := s.addGateway(t, "gw-standby", share.ModeAll, "--share-user", "gw-standby", "--share-password", "pw-2")
	echo, err := standby.l.Internet.StartEchoTCP("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()

	peers := []netip.Addr{active.l.Peers4[0], active.l.Peers6[0]}
	active.ping(t, peers)
	waitFor(t, 5*time.Second, "standby holds the client's locks", func() bool {
		return setHas(t, standby.k, nft.SetLocked4, standby.l.ClientIP4) && setHas(t, standby.k, nft.SetLocked6, standby.l.ClientIP6)
	})
	for _, p := range peers {
		waitFor(t, 5*time.Second, "standby holds "+p.String(), func() bool { return setHas(t, standby.k, setFor(p), p) })
	}
	// Failover: the active router is gone.
	active.p.kill9(t)
	// On the standby's LAN the same client is locked: its new TCP
	// connections to the internet are reset; another host is not.
	if res, c := dialResult(standby.l.Client, ap(standby.l.InternetIP4, 9000)); res != "reset" {
		if c != nil {
			c.Close()
		}
		t.Errorf("locked client through the standby: %s, want reset", res)
	}
	if res, c := dialResult(standby.l.Client2, ap(standby.l.InternetIP4, 9000)); res != "ok" {
		t.Errorf("another LAN host through the standby: %s, want ok", res)
	} else {
		c.Close()
	}
	udpDropped(t, standby.l.Client2, standby.l.Internet,
		flow{standby.l.Client2IP4, netip.AddrPortFrom(peers[0], 9999)},
		flow{standby.l.Client2IP4, netip.AddrPortFrom(standby.l.Peers4[9], 9999)})
	if st := standby.status(t); st.AppliedLocks < 2 || st.AppliedPeers < 2 {
		t.Errorf("standby share status %+v", st)
	}
	if strings.Contains(s.out.String(), "Violation - User") {
		t.Errorf("the HA pair needed more than the README's permissions for both buckets:\n%s", s.out.String())
	}
}

// forBucket rewrites the peers bucket's subjects for bucket.
func forBucket(subjects []string, bucket string) []string {
	out := make([]string, 0, len(subjects))
	for _, x := range subjects {
		out = append(out, strings.ReplaceAll(x, "ftwall-peers", bucket))
	}
	return out
}

// Permissions of the README's minimal server configuration: a gateway
// that publishes (and may create the buckets), and a read-only gateway in
// mode receive.
var (
	sharePublishSubjects = []string{
		"$JS.API.INFO", "$JS.API.STREAM.INFO.KV_ftwall-peers", "$JS.API.STREAM.CREATE.KV_ftwall-peers",
		"$JS.API.CONSUMER.CREATE.KV_ftwall-peers", "$JS.API.CONSUMER.CREATE.KV_ftwall-peers.>", "$JS.API.CONSUMER.DELETE.KV_ftwall-peers.>",
		"$JS.API.CONSUMER.MSG.NEXT.KV_ftwall-peers.>", "$KV.ftwall-peers.>",
	}
	shareReceiveSubjects = []string{
		"$JS.API.INFO", "$JS.API.STREAM.INFO.KV_ftwall-peers",
		"$JS.API.CONSUMER.CREATE.KV_ftwall-peers", "$JS.API.CONSUMER.CREATE.KV_ftwall-peers.>", "$JS.API.CONSUMER.DELETE.KV_ftwall-peers.>",
		"$JS.API.CONSUMER.MSG.NEXT.KV_ftwall-peers.>",
	}
)

// TestSharePermissions: per-gateway users with the README's publish and
// subscribe permissions: the publishing gateway works, a receive-only
// gateway applies what it learned and cannot write to the bucket.
func TestSharePermissions(t *testing.T) {
	lab.RequireRoot(t)
	if _, err := lab.NATSServerPath(); err != nil {
		t.Skipf("nats-server is not installed: %v", err)
	}
	core := lab.NewCoreT(t)
	out := &lab.Buffer{}
	users := []lab.NATSUser{
		{Name: "gw-a", Password: "pw-a", Publish: sharePublishSubjects, Subscribe: []string{"_INBOX.>"}},
		{Name: "gw-r", Password: "pw-r", Publish: shareReceiveSubjects, Subscribe: []string{"_INBOX.>"}},
	}
	cl, err := lab.StartNATSCluster(t.Context(), core, 3, t.TempDir(), out, lab.NATSOptions{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl.Close()
		if t.Failed() {
			t.Logf("NATS servers:\n%s", out.String())
		}
	})
	s := &shareLab{core: core, cluster: cl, out: out}
	a := s.addGateway(t, "gw-a", share.ModePeers, "--share-user", "gw-a", "--share-password", "pw-a")
	r := s.addGateway(t, "gw-r", share.ModeReceive, "--share-user", "gw-r", "--share-password", "pw-r")
	a.ping(t, []netip.Addr{a.l.Peers4[2]})
	waitFor(t, 5*time.Second, "the receive-only gateway applies A's peer", func() bool { return setHas(t, r.k, nft.SetPeers4, a.l.Peers4[2]) })
	if st := r.status(t); st.Published != 0 || st.AppliedPeers == 0 || !st.Connected {
		t.Errorf("receive-only gateway: %+v", st)
	}
	if strings.Contains(out.String(), "Violation - User") {
		t.Errorf("the gateways needed more than the README's permissions:\n%s", out.String())
	}
	// The read-only user cannot write to the bucket, whatever its client.
	js := sharetest.JetStream(t, strings.Join(cl.URLs(), ","), nats.SetCustomDialer(lab.Dialer{NS: core.NS}), nats.UserInfo("gw-r", "pw-r"))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "$KV.ftwall-peers."+share.Key(netip.MustParseAddr("198.51.100.40")), []byte(`{"v":1,"timeout":60}`)); err == nil {
		t.Error("the receive-only user published into the peers bucket")
	}
	time.Sleep(300 * time.Millisecond)
	if setHas(t, a.k, nft.SetPeers4, netip.MustParseAddr("198.51.100.40")) {
		t.Error("an entry the read-only user tried to publish reached gateway A")
	}
}

// TestShareREADMEPermissions: the README's server configuration grants
// the subjects TestSharePermissions proves enough.
func TestShareREADMEPermissions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "GATEWAY = {")
	j := strings.Index(text, "RECEIVER = {")
	k := strings.Index(text, "users: [")
	if i < 0 || j < i || k < j {
		t.Fatal("README lacks the GATEWAY and RECEIVER permissions of the NATS example")
	}
	for _, c := range []struct {
		block    string
		subjects []string
	}{{text[i:j], sharePublishSubjects}, {text[j:k], shareReceiveSubjects}} {
		for _, s := range append(c.subjects, "_INBOX.>") {
			if !strings.Contains(c.block, `"`+s+`"`) {
				t.Errorf("README's %s lacks %q", strings.Fields(c.block)[0], s)
			}
		}
		if n := strings.Count(c.block, `"$`) + strings.Count(c.block, `"_INBOX`); n != len(c.subjects)+1 {
			t.Errorf("README's %s grants %d subjects, the tests %d", strings.Fields(c.block)[0], n, len(c.subjects)+1)
		}
	}
}
