package service

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

func TestParseProtectedFiles(t *testing.T) {
	resolv := []byte("# generated\nsearch lab\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver fe80::1%eth0\nnameserver bogus\noptions edns0\n")
	if got := parseResolvConf(resolv); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53"), netip.MustParseAddr("fe80::1")}) {
		t.Errorf("resolv.conf: %v", got)
	}
	route4 := []byte("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"wan0\t00000000\t027100CB\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"lan0\t0001000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
	if got := parseRoute4(route4); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("203.0.113.2")}) {
		t.Errorf("route: %v", got)
	}
	route6 := []byte("00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000100000000000000000002 00000400 00000001 00000000 00000003     wan0\n" +
		"fd000001000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     lan0\n")
	if got := parseRoute6(route6); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("2001:db8:1::2")}) {
		t.Errorf("ipv6_route: %v", got)
	}
	got := withEmbeddings([]netip.Prefix{netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")})
	for _, want := range []string{"64:ff9b::c633:6407/128", "2002:c633:6407::/48", "64:ff9b::c000:200/120", "2002:c000:200::/40"} {
		if !slices.Contains(got, netip.MustParsePrefix(want)) {
			t.Errorf("embeddings %v lack %s", got, want)
		}
	}
}

// TestProtectedNeverPeers: the resolver, the default gateway, --protect and
// the NAT64 and 6to4 forms of an allowlisted address are never learned.
func TestProtectedNeverPeers(t *testing.T) {
	dir := t.TempDir()
	files := ProtectFiles{ResolvConf: filepath.Join(dir, "resolv.conf"), Route4: filepath.Join(dir, "route")}
	if err := os.WriteFile(files.ResolvConf, []byte("nameserver 198.51.100.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files.Route4, []byte("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nwan0\t00000000\t027100CB\t0003\t0\t0\t0\t00000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig() // --allow 198.51.100.200
	cfg.Protect = []netip.Prefix{netip.MustParsePrefix("192.0.2.99/32")}
	h := startDeps(t, cfg, nft.NewFake(), &files)
	var st *runState
	eventually(t, "running", func() bool { st = h.svc.state.Load(); return st != nil })
	for _, a := range []string{"198.51.100.53", "203.0.113.2", "192.0.2.99", "64:ff9b::c633:64c8", "2002:c633:64c8::1", "64:ff9b::c000:263"} {
		if st.settings.PeerCandidate(netip.MustParseAddr(a)) {
			t.Errorf("%s is a peer candidate", a)
		}
	}
	ping := inspecttest.Ping("KaZaA")
	for _, dst := range []string{"198.51.100.53:1214", "203.0.113.2:1214", "[64:ff9b::c633:64c8]:1214"} {
		src := client
		if netip.MustParseAddrPort(dst).Addr().Is6() {
			src = netip.MustParseAddrPort("[fd00:1::2]:3531")
		}
		h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(src, netip.MustParseAddrPort(dst), ping))
	}
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, ping))
	eventually(t, "an ordinary peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6} {
		elems, _ := h.fw.Elements(t.Context(), set)
		for _, e := range elems {
			if e.Addr != peer.Addr() {
				t.Errorf("%s holds protected %v", set, e.Addr)
			}
		}
	}
}
