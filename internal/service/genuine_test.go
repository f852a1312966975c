package service

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

// Behaviour of the genuine giFT client (issue 15) at the service level, with
// the fake firewall; the lab tests run the same against the kernel.

var otherOpener = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func openerPkt(src, dst netip.AddrPort, payload []byte) []byte {
	return inspecttest.TCP(src, dst, payload)
}

// A session opener from a client the inspector has just seen pinging is
// dropped and its node learned, though that node was never pinged.
func TestSessionOpenerOfKnownClient(t *testing.T) {
	h := start(t, baseConfig())
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	node := netip.MustParseAddrPort("198.51.100.9:1214")
	if v := h.q.send(t, queue.HookForward, ifLAN, openerPkt(client, node, otherOpener)); v != queue.Drop {
		t.Fatalf("opener of a known client: %v, want drop", v)
	}
	eventually(t, "opener's node in peers4", func() bool { return has(t, h.fw, nft.SetPeers4, node.Addr()) })
}

// An opener that comes before the client's first ping (giFT connects
// before it pings) is held back once; its retransmission, after the ping, is
// evidence. A neighbour's 12-byte first payload passes the second time and
// teaches nothing.
func TestSessionOpenerBeforeRecognition(t *testing.T) {
	h := start(t, baseConfig())
	node := netip.MustParseAddrPort("198.51.100.10:1214")
	if v := h.q.send(t, queue.HookForward, ifLAN, openerPkt(client, node, otherOpener)); v != queue.Drop {
		t.Fatalf("first opener of an unknown client: %v, want drop (held once)", v)
	}
	neighbour := netip.MustParseAddrPort("10.0.1.3:5555")
	other := netip.MustParseAddrPort("198.51.100.11:443")
	if v := h.q.send(t, queue.HookForward, ifLAN, openerPkt(neighbour, other, otherOpener)); v != queue.Drop {
		t.Fatalf("neighbour's first 12-byte payload: %v, want drop (held once)", v)
	}
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	if v := h.q.send(t, queue.HookForward, ifLAN, openerPkt(client, node, otherOpener)); v != queue.Drop {
		t.Fatalf("retransmitted opener of the now known client: %v, want drop", v)
	}
	eventually(t, "opener's node in peers4", func() bool { return has(t, h.fw, nft.SetPeers4, node.Addr()) })
	if v := h.q.send(t, queue.HookForward, ifLAN, openerPkt(neighbour, other, otherOpener)); v != queue.Accept {
		t.Fatalf("neighbour's retransmission: %v, want accept", v)
	}
	time.Sleep(50 * time.Millisecond)
	if has(t, h.fw, nft.SetPeers4, other.Addr()) || has(t, h.fw, nft.SetLocked4, neighbour.Addr()) {
		t.Fatal("a neighbour's 12-byte first payload taught something")
	}
	if n := h.svc.stats.OpenersHeld.Load(); n != 2 {
		t.Errorf("%d openers held, want 2", n)
	}
}

// giFT's own opener bytes are evidence by themselves.
func TestGiFTOpenerAlone(t *testing.T) {
	h := start(t, baseConfig())
	node := netip.MustParseAddrPort("198.51.100.12:1214")
	gift := []byte{0xfa, 0x00, 0xb6, 0x2b, 9, 9, 9, 9, 8, 8, 8, 8}
	if v := h.q.send(t, queue.HookForward, ifLAN, openerPkt(client, node, gift)); v != queue.Drop {
		t.Fatalf("giFT opener: %v, want drop", v)
	}
	eventually(t, "node learned", func() bool { return has(t, h.fw, nft.SetPeers4, node.Addr()) })
	eventually(t, "client locked", func() bool { return has(t, h.fw, nft.SetLocked4, client.Addr()) })
}

// The TCP probe keeps a client locked that ignores the UDP probe (giFT), and
// the lock lapses once the probe is refused.
func TestTCPProbeKeepsLock(t *testing.T) {
	cfg := baseConfig() // timelock 400ms
	h := start(t, cfg)
	h.answerTCPProbes(true)
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "three TCP probes", func() bool { return h.tcpProbeCount() >= 3 })
	if bytes.Contains(h.syncLogs(), []byte("client vanished")) {
		t.Fatal("the lock lapsed while the client answered TCP probes")
	}
	if h.tcpProbes[0] != client {
		t.Fatalf("TCP probe to %v, want %v (the port of its pings)", h.tcpProbes[0], client)
	}
	h.answerTCPProbes(false)
	eventually(t, "client vanished", func() bool { return bytes.Contains(h.syncLogs(), []byte("client vanished")) })
}

// A lock the kernel refreshed by itself (refused connections) does not lapse
// in the tracker.
func TestLockKeptByKernel(t *testing.T) {
	h := start(t, baseConfig()) // timelock 400ms
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "client locked", func() bool { return has(t, h.fw, nft.SetLocked4, client.Addr()) })
	// The kernel's "update @locked4" restarts the element's countdown:
	// here, re-adding it does the same.
	for i := 0; i < 10; i++ {
		if err := h.fw.AddElements(context.Background(), nft.SetLocked4, []nft.Element{{Addr: client.Addr()}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if bytes.Contains(h.syncLogs(), []byte("client vanished")) {
		t.Fatalf("the lock lapsed while the kernel kept it:\n%s", h.syncLogs())
	}
	if !bytes.Contains(h.syncLogs(), []byte("lock kept by the kernel")) {
		t.Fatal("no kernel refresh was taken")
	}
	eventually(t, "client vanished after the kernel stopped refreshing", func() bool {
		return bytes.Contains(h.syncLogs(), []byte("client vanished"))
	})
}

// Peers a killed run left only in the kernel are saved at the next start.
func TestKernelPeersSavedAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peers")
	fw := nft.NewFake()
	cfg := baseConfig()
	cfg.Store = path
	if _, err := fw.Setup(context.Background(), cfg.Ruleset, nft.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fw.AddElements(context.Background(), nft.SetPeers4, []nft.Element{{Addr: peer.Addr()}}); err != nil {
		t.Fatal(err)
	}
	h := startWith(t, cfg, fw)
	eventually(t, "storefile written", func() bool {
		b, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(b), peer.Addr().String())
	})
	h.stop(t)

	// A second start finds nothing newer than the storefile's last save
	// (its modification time, set a little ahead here as if the element
	// had been refreshed long before that save).
	later := time.Now().Add(10 * time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	h2 := startWith(t, cfg, fw)
	// Stop only once the start (and its storefile load) is over.
	eventually(t, "service inspecting", func() bool { return bytes.Contains(h2.syncLogs(), []byte("msg=inspecting")) })
	if bytes.Contains(h2.syncLogs(), []byte("peers found in the kernel saved")) {
		t.Fatalf("peers saved again after a clean stop:\n%s", h2.syncLogs())
	}
}

func TestOpenerHoldBounded(t *testing.T) {
	h := newOpenerHold()
	now := time.Unix(1000, 0)
	a := netip.MustParseAddrPort("10.0.1.2:1000")
	for i := range maxHeldOpeners + 10 {
		if !h.hold(a, netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), uint16(i+1)), now) {
			t.Fatalf("flow %d not held the first time", i)
		}
	}
	if len(h.seen) > maxHeldOpeners || len(h.order) > 2*maxHeldOpeners {
		t.Fatalf("table not bounded: %d flows, %d in order", len(h.seen), len(h.order))
	}
	// The newest flow is released the second time, and held again only
	// after holdTTL.
	last := netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), uint16(maxHeldOpeners+10))
	if h.hold(a, last, now) {
		t.Fatal("retransmission held again")
	}
	if !h.hold(a, last, now.Add(holdTTL)) {
		t.Fatal("a new opener of the same flow after holdTTL not held")
	}
	if h.hold(a, last, now.Add(holdTTL+time.Second)) {
		t.Fatal("its retransmission held")
	}
}
