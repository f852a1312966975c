package e2e

// Issue 2: ftwall's table with real packets. Every test builds its own lab,
// installs the table in the router namespace and checks what client, client2
// and the internet namespace see.

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

func TestSetupListsSetsWithNftCLI(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	cfg := baseConfig(l)
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	k, res := setup(t, l, cfg)
	t.Logf("queue backend in use: %s", res.Backend)
	if res.Backend != nft.BackendNative && res.Backend != nft.BackendCompat {
		t.Errorf("setup reports backend %s, want native or compat", res.Backend)
	}
	if !res.Created {
		t.Error("first setup in a fresh namespace reports Created=false")
	}

	for _, set := range []string{nft.SetPeers4, nft.SetPeers6, nft.SetLocked4, nft.SetLocked6, nft.SetAllow4, nft.SetAllow6} {
		out := nftCLI(t, l, "list", "set", "inet", nft.TableName, set)
		if !strings.Contains(out, "set "+set+" {") {
			t.Errorf("nft list set inet ftwall %s printed no such set:\n%s", set, out)
		}
	}
	if out := nftCLI(t, l, "list", "set", "inet", nft.TableName, nft.SetAllow4); !strings.Contains(out, "192.0.2.0/24") {
		t.Errorf("allow4 lacks the allowlisted 192.0.2.0/24:\n%s", out)
	}
	if out := nftCLI(t, l, "list", "set", "inet", nft.TableName, nft.SetAllow6); !strings.Contains(out, "2001:db8:ffff::/48") {
		t.Errorf("allow6 lacks the allowlisted 2001:db8:ffff::/48:\n%s", out)
	}

	// An element added with the CLI is what the library reads, with the
	// set's default timeout running.
	for _, f := range families(l) {
		peer := f.peers[3]
		addElementCLI(t, l, f.setPeers, peer)
		if out := nftCLI(t, l, "list", "set", "inet", nft.TableName, f.setPeers); !strings.Contains(out, peer.String()) {
			t.Errorf("nft list set %s lacks %s after nft add element:\n%s", f.setPeers, peer, out)
		}
		elems, err := k.Elements(t.Context(), f.setPeers)
		if err != nil {
			t.Fatal(err)
		}
		if len(elems) != 1 || elems[0].Addr != peer {
			t.Fatalf("%s holds %+v, want just %s", f.setPeers, elems, peer)
		}
		if e := elems[0].Expires; e <= 23*time.Hour || e > 24*time.Hour {
			t.Errorf("%s element %s expires in %s, want just under the 24h peer timeout", f.setPeers, peer, e)
		}
	}
}

func TestBlockedPeer(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	k, _ := setup(t, l, baseConfig(l))
	for _, f := range families(l) {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel() // the families use different addresses, sets and rules
			bad, good := f.peers[4], f.peers[5]
			tcpWorks(t, l.Client, netip.Addr{}, bad) // the table alone blocks nothing

			addElementCLI(t, l, f.setPeers, bad)
			if !hasElement(t, k, f.setPeers, bad) {
				t.Fatalf("%s lacks %s after nft add element", f.setPeers, bad)
			}
			to, from := counter(t, k, f.ruleToPeers), counter(t, k, f.ruleFromPeers)

			// LAN → blocked peer: dropped, TCP and UDP; other peers unaffected.
			tcpTimesOut(t, l.Client, netip.Addr{}, bad)
			tcpWorks(t, l.Client, netip.Addr{}, good)
			udpDropped(t, l.Client, l.Internet,
				flow{f.client, netip.AddrPortFrom(bad, 9001)},
				flow{f.client, netip.AddrPortFrom(good, 9001)})
			if err := l.Client.Ping(t.Context(), good); err != nil {
				t.Errorf("ping to the unblocked peer: %v", err)
			}
			pctx, cancel := context.WithTimeout(t.Context(), dropWait)
			if l.Client.Ping(pctx, bad) == nil {
				t.Errorf("ping to the blocked peer %s got an answer", bad)
			}
			cancel()

			// Blocked peer → LAN: dropped too.
			tcpTimesOut(t, l.Internet, bad, f.client)
			tcpWorks(t, l.Internet, good, f.client)
			udpDropped(t, l.Internet, l.Client,
				flow{bad, netip.AddrPortFrom(f.client, 9002)},
				flow{good, netip.AddrPortFrom(f.client, 9002)})

			if got := counter(t, k, f.ruleToPeers); got.Packets < to.Packets+2 {
				t.Errorf("rule %s counted %d packets, want at least %d (a SYN and a datagram)", f.ruleToPeers, got.Packets, to.Packets+2)
			}
			if got := counter(t, k, f.ruleFromPeers); got.Packets < from.Packets+2 {
				t.Errorf("rule %s counted %d packets, want at least %d (a SYN and a datagram)", f.ruleFromPeers, got.Packets, from.Packets+2)
			}
		})
	}
}

func TestLockedClient(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	k, _ := setup(t, l, baseConfig(l))
	for _, f := range families(l) {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel() // the families use different addresses, sets and rules
			peerA, peerB := f.peers[6], f.peers[7]
			ctx, cancel := context.WithTimeout(t.Context(), step)
			established, err := l.Client.DialTCP(ctx, "tcp", echoAddr(peerA))
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			defer established.Close()
			if err := lab.RoundTrip(established, []byte("before the lock"), step); err != nil {
				t.Fatal(err)
			}

			addElementCLI(t, l, f.setLocked, f.client)
			if !hasElement(t, k, f.setLocked, f.client) {
				t.Fatalf("%s lacks %s after nft add element", f.setLocked, f.client)
			}
			before := counter(t, k, f.ruleLock)

			tcpRefused(t, l.Client, peerB)
			tcpRefused(t, l.Client, peerA)
			if got := counter(t, k, f.ruleLock); got.Packets < before.Packets+2 {
				t.Errorf("rule %s counted %d packets, want at least %d", f.ruleLock, got.Packets, before.Packets+2)
			}
			if err := lab.RoundTrip(established, []byte("after the lock"), step); err != nil {
				t.Errorf("the connection established before the lock must keep working: %v", err)
			}
			udpWorks(t, l.Client, l.Internet, netip.AddrPortFrom(peerB, 9003))

			// LAN ↔ LAN traffic is not the lock's business.
			tcpWorks(t, l.Client, netip.Addr{}, f.client2)
			tcpWorks(t, l.Client2, netip.Addr{}, f.client)
			udpWorks(t, l.Client, l.Client2, netip.AddrPortFrom(f.client2, 9004))
			if err := l.Client.Ping(t.Context(), f.client2); err != nil {
				t.Errorf("locked client → client2: %v", err)
			}
			// Another LAN client is not locked.
			tcpWorks(t, l.Client2, netip.Addr{}, peerB)
		})
	}
}

func TestAllowlist(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	cfg := baseConfig(l)
	fams := families(l)
	for _, f := range fams {
		cfg.Allow = append(cfg.Allow, f.host(f.peers[9]), f.host(f.client2))
	}
	_, _ = setup(t, l, cfg)
	for _, f := range fams {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel() // the families use different addresses, sets and rules
			allowed, other, blocked := f.peers[9], f.peers[10], f.peers[11]

			// An allowlisted peer in the peers set stays reachable both ways;
			// a peer that is not allowlisted is blocked (the control).
			addElementCLI(t, l, f.setPeers, allowed)
			addElementCLI(t, l, f.setPeers, blocked)
			tcpWorks(t, l.Client, netip.Addr{}, allowed)
			tcpWorks(t, l.Internet, allowed, f.client)
			udpDropped(t, l.Internet, l.Client,
				flow{blocked, netip.AddrPortFrom(f.client, 9005)},
				flow{allowed, netip.AddrPortFrom(f.client, 9005)})
			tcpTimesOut(t, l.Client, netip.Addr{}, blocked)

			// An allowlisted client in the locked set can still connect.
			addElementCLI(t, l, f.setLocked, f.client2)
			tcpWorks(t, l.Client2, netip.Addr{}, other)

			// A locked client may still connect to an allowlisted destination,
			// and only there.
			addElementCLI(t, l, f.setLocked, f.client)
			tcpWorks(t, l.Client, netip.Addr{}, allowed)
			tcpRefused(t, l.Client, other)
		})
	}
}

func TestLockActionDrop(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	cfg := baseConfig(l)
	cfg.LockAction = nft.LockDrop
	k, _ := setup(t, l, cfg)
	for _, f := range families(l) {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel() // the families use different addresses, sets and rules
			peer := f.peers[12]
			addElementCLI(t, l, f.setLocked, f.client)
			before := counter(t, k, f.ruleLock)
			tcpTimesOut(t, l.Client, netip.Addr{}, peer)
			if got := counter(t, k, f.ruleLock); got.Packets <= before.Packets {
				t.Errorf("rule %s did not count the dropped SYN (%d packets before and after)", f.ruleLock, got.Packets)
			}
			udpWorks(t, l.Client, l.Internet, netip.AddrPortFrom(peer, 9006))
			tcpWorks(t, l.Client2, netip.Addr{}, peer)
		})
	}
}

func TestSetupTwiceKeepsElements(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	cfg := baseConfig(l)
	k, _ := setup(t, l, cfg)
	fams := families(l)
	for _, f := range fams {
		if err := k.AddElements(t.Context(), f.setPeers, []nft.Element{{Addr: f.peers[13], Timeout: time.Hour}}); err != nil {
			t.Fatal(err)
		}
		if err := k.AddElements(t.Context(), f.setLocked, []nft.Element{{Addr: f.client}}); err != nil {
			t.Fatal(err)
		}
	}

	res, err := k.Setup(t.Context(), cfg, nft.SetupOptions{})
	if err != nil {
		t.Fatalf("second setup, same configuration: %v", err)
	}
	if res.Created || res.Changed {
		t.Errorf("the same configuration again reports %+v, want neither created nor changed", res)
	}
	cfg.LockAction = nft.LockDrop
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")}
	if res, err = k.Setup(t.Context(), cfg, nft.SetupOptions{}); err != nil {
		t.Fatalf("third setup, changed configuration: %v", err)
	}
	if res.Created || !res.Changed {
		t.Errorf("a changed configuration reports %+v, want changed, not created", res)
	}

	for _, f := range fams {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel() // the families use different addresses, sets and rules
			elems, err := k.Elements(t.Context(), f.setPeers)
			if err != nil {
				t.Fatal(err)
			}
			if len(elems) != 1 || elems[0].Addr != f.peers[13] || elems[0].Expires <= 0 || elems[0].Expires > time.Hour {
				t.Errorf("%s after setups: %+v, want %s with its 1h countdown still running", f.setPeers, elems, f.peers[13])
			}
			if !hasElement(t, k, f.setLocked, f.client) {
				t.Errorf("%s lost %s", f.setLocked, f.client)
			}
			if out := nftCLI(t, l, "list", "set", "inet", nft.TableName, f.setPeers); !strings.Contains(out, f.peers[13].String()) {
				t.Errorf("nft list set %s lacks %s:\n%s", f.setPeers, f.peers[13], out)
			}
			// The kept elements are in force under the new rules: the peer is
			// dropped, the lock now drops instead of resetting.
			tcpTimesOut(t, l.Client2, netip.Addr{}, f.peers[13])
			tcpTimesOut(t, l.Client, netip.Addr{}, f.peers[14])
			tcpWorks(t, l.Client2, netip.Addr{}, f.peers[14])
		})
	}
}

func TestTeardownRestoresConnectivity(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	k, _ := setup(t, l, baseConfig(l))
	fams := families(l)
	for _, f := range fams {
		addElementCLI(t, l, f.setPeers, f.peers[15])
		addElementCLI(t, l, f.setLocked, f.client)
		tcpTimesOut(t, l.Client2, netip.Addr{}, f.peers[15])
		tcpRefused(t, l.Client, f.peers[16])
	}

	removed, err := k.Teardown(t.Context())
	if err != nil {
		t.Fatalf("teardown: %v", err)
	}
	if !removed {
		t.Error("teardown of an installed table reports removed=false")
	}
	if out := nftCLI(t, l, "list", "tables"); strings.Contains(out, nft.TableName) {
		t.Errorf("after teardown the router still lists:\n%s", out)
	}
	st, err := k.Status(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Present {
		t.Error("status after teardown reports the table present")
	}

	for _, f := range fams {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel() // the families use different addresses, sets and rules
			tcpWorks(t, l.Client, netip.Addr{}, f.peers[15])
			tcpWorks(t, l.Client, netip.Addr{}, f.peers[16])
			tcpWorks(t, l.Internet, f.peers[15], f.client)
			udpWorks(t, l.Client, l.Internet, netip.AddrPortFrom(f.peers[15], 9007))
		})
	}

	if removed, err := k.Teardown(t.Context()); err != nil || removed {
		t.Errorf("second teardown = %v, %v; want false, nil", removed, err)
	}
}

// TestQueueCompatBypass installs the compat (xtables NFQUEUE) backend with no
// queue reader: candidate packets must still pass (bypass) and be counted by
// their queue rule.
func TestQueueCompatBypass(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	cfg := baseConfig(l)
	cfg.Backend = nft.BackendCompat
	k, res := setup(t, l, cfg)
	if res.Backend != nft.BackendCompat {
		t.Fatalf("setup with the compat backend reports backend %s", res.Backend)
	}
	st, err := k.Status(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Backend != nft.BackendCompat {
		t.Errorf("status reads backend %s from the rules, want compat", st.Backend)
	}
	checkQueueBypass(t, l, k)
}

// TestQueueNative does the same with the nftables queue expression, where
// the kernel has it. Where it does not, setup with it must fail without
// leaving anything behind, and the test is skipped with the reason.
func TestQueueNative(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	cfg := baseConfig(l)
	cfg.Backend = nft.BackendNative
	k := openRouter(t, l)
	probed, err := k.ProbeBackend(t.Context())
	if err != nil {
		t.Fatalf("probe the queue backend: %v", err)
	}
	if probed != nft.BackendNative {
		_, err := k.Setup(t.Context(), cfg, nft.SetupOptions{})
		if err == nil {
			t.Fatalf("the probe chose %s, yet setup with the native backend succeeded", probed)
		}
		if out := nftCLI(t, l, "list", "tables"); strings.Contains(out, nft.TableName) {
			t.Fatalf("a failed setup left a table behind:\n%s", out)
		}
		t.Skipf("native queue backend not exercised: this kernel lacks the nftables queue expression (probe chose %s; setup with native says: %v)", probed, err)
	}
	res, err := k.Setup(t.Context(), cfg, nft.SetupOptions{})
	if err != nil {
		t.Fatalf("setup with the native backend: %v", err)
	}
	if res.Backend != nft.BackendNative {
		t.Fatalf("setup with the native backend reports backend %s", res.Backend)
	}
	checkQueueBypass(t, l, k)
}

func checkQueueBypass(t *testing.T, l *lab.Lab, k *nft.Kernel) {
	t.Helper()
	ping := string(fasttrack.AppendPing(nil, "KaZaA"))
	for _, f := range families(l) {
		t.Run(f.name, func(t *testing.T) {
			sink := newUDPSink(t, l.Internet, netip.AddrPortFrom(f.peers[17], 1214))

			before := counter(t, k, nft.QueueRuleID(fasttrack.Protocol, "ping"))
			otherBefore := counter(t, k, nft.RuleUDPOther)
			sendUDP(t, l.Client, f.client, sink.addr(), ping)
			sink.expect(t, f.client, ping)
			after := counter(t, k, nft.QueueRuleID(fasttrack.Protocol, "ping"))
			if after.Packets != before.Packets+1 {
				t.Errorf("rule %s counted %d packets for one FastTrack ping, want %d", nft.QueueRuleID(fasttrack.Protocol, "ping"), after.Packets, before.Packets+1)
			}
			if got := counter(t, k, nft.RuleUDPOther); got != otherBefore {
				t.Errorf("rule %s let a FastTrack ping leave before the queue rules: %+v → %+v", nft.RuleUDPOther, otherBefore, got)
			}

			// Other UDP is not a candidate: one whose first byte no queue
			// rule takes leaves the UDP chain at its first rule; one that
			// starts like a KRPC message ('d') meets the queue rules and
			// fails them.
			sendUDP(t, l.Client, f.client, sink.addr(), "not a FastTrack ping")
			sink.expect(t, f.client, "not a FastTrack ping")
			sendUDP(t, l.Client, f.client, sink.addr(), "definitely no KRPC")
			sink.expect(t, f.client, "definitely no KRPC")
			if got := counter(t, k, nft.QueueRuleID(fasttrack.Protocol, "ping")); got != after {
				t.Errorf("rule %s counted ordinary UDP: %+v → %+v", nft.QueueRuleID(fasttrack.Protocol, "ping"), after, got)
			}
			if got := counter(t, k, nft.RuleUDPOther); got.Packets != otherBefore.Packets+1 {
				t.Errorf("rule %s counted %d packets for one datagram starting 'n' and one starting 'd', want %d", nft.RuleUDPOther, got.Packets, otherBefore.Packets+1)
			}
			st, err := k.Status(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range st.Counters {
				if strings.HasPrefix(c.Rule, nft.QueueRulePrefix) && c.Chain == nft.ChainFromLANUDP && c.Rule != nft.QueueRuleID(fasttrack.Protocol, "ping") && c.Packets != 0 {
					t.Errorf("rule %s queued ordinary UDP: %+v", c.Rule, c.CounterValue)
				}
			}

			// An HTTP-looking TCP segment is queued too, and passes. The
			// first of a connection is queued by the stream-start rule.
			httpRule := nft.QueueRuleID(nft.StreamProtocol, "start")
			httpBefore := counter(t, k, httpRule)
			ctx, cancel := context.WithTimeout(t.Context(), step)
			defer cancel()
			c, err := l.Client.DialTCP(ctx, "tcp", echoAddr(f.peers[17]))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := fmt.Sprintf("GET /.hash=%040x HTTP/1.1\r\nX-Kazaa-Username: e2e\r\n\r\n", 42)
			if err := lab.RoundTrip(c, []byte(req), step); err != nil {
				t.Errorf("an HTTP request must pass the queue rule with no reader: %v", err)
			}
			if got := counter(t, k, httpRule); got.Packets <= httpBefore.Packets {
				t.Errorf("rule %s did not count the HTTP request (%d packets before and after)", httpRule, got.Packets)
			}
		})
	}
}
