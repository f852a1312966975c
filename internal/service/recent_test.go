package service

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

// TestRepeatedEvidenceHeldByReader: a reader forwards a peer's evidence
// once per window; repeats only count. An unblock (pardon 0) makes the very
// next repeat count again, so the peer is learned again at once.
func TestRepeatedEvidenceHeldByReader(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the control socket serves root only: run as root")
	}
	dir := t.TempDir()
	cfg := baseConfig()
	cfg.RunDir = dir
	cfg.Ruleset.TimeLock = time.Hour
	h := start(t, cfg)
	ping := inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA"))
	for i := 0; i < 50; i++ {
		if v := h.q.send(t, queue.HookForward, ifLAN, ping); v != queue.Drop {
			t.Fatalf("ping %d: verdict %v", i, v)
		}
	}
	eventually(t, "peer in peers4", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	// One of 50 forwarded; a new run state (an interface refresh at
	// start) or a slow machine (-race, past the 1 s window) may forward
	// another.
	held := h.svc.stats.RepeatsHeld.Load()
	if held < 45 || held > 49 {
		t.Errorf("repeats held: %d of 50, want 49 (one forwarded)", held)
	}
	if got := h.svc.stats.PongsSent.Load(); got != 50 {
		t.Errorf("pongs sent: %d, want 50 (every ping answered)", got)
	}
	eventually(t, "socket", func() bool { _, err := os.Stat(ctl.SocketPath(dir)); return err == nil })
	call(t, dir, ctl.Request{Op: ctl.OpUnblock, Addrs: []string{peer.Addr().String()}, Pardon: 0})
	if has(t, h.fw, nft.SetPeers4, peer.Addr()) {
		t.Fatal("unblock left the peer in peers4")
	}
	h.q.send(t, queue.HookForward, ifLAN, ping)
	eventually(t, "peer learned again after the unblock", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	if got := h.svc.stats.RepeatsHeld.Load(); got != held {
		t.Errorf("the ping after the unblock was held as a repeat (%d held, %d before)", got, held)
	}
}

func TestRecentEvidenceWindowAndBounds(t *testing.T) {
	r := newRecentEvidence()
	st := &runState{}
	r.reset(st, 0)
	now := time.Unix(1000, 0)
	l := &learned{src: client.Addr(), inDev: ifLAN, hw: [8]byte{2, 0, 0, 0, 0, 1}, hwLen: 6}
	a := keyOf(l, peer.Addr())
	// The same peer in a packet of another source (a forger of the
	// client's address with its own MAC) is another key.
	forged := *l
	forged.hw[5] = 9
	if keyOf(&forged, peer.Addr()) == a {
		t.Fatal("a packet from another MAC shares the key")
	}
	if r.fresh(a, now, time.Second) {
		t.Fatal("fresh before forwarded")
	}
	r.forwarded(a, now)
	if !r.fresh(a, now.Add(999*time.Millisecond), time.Second) || r.fresh(a, now.Add(time.Second), time.Second) {
		t.Fatal("window")
	}
	r.reset(st, 1) // an operator request
	if r.fresh(a, now, time.Second) {
		t.Fatal("an epoch change did not empty the memory")
	}
	r.forwarded(a, now)
	r.reset(&runState{}, 1) // a reload
	if r.fresh(a, now, time.Second) {
		t.Fatal("a new run state did not empty the memory")
	}
	for i := 0; i < 3*recentMax; i++ {
		r.forwarded(keyOf(l, inspecttestAddr(i)), now)
	}
	if len(r.seen) > recentMax {
		t.Fatalf("%d addresses remembered, bound %d", len(r.seen), recentMax)
	}
}

func inspecttestAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
}
