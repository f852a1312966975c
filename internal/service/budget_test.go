package service

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

func TestPeerBudget(t *testing.T) {
	cfg := baseConfig()
	cfg.PeerBudget, cfg.PeerBudgetRate = 10, 1
	h := start(t, cfg)
	greedy := netip.MustParseAddrPort("10.0.1.66:3531")
	for i := range 30 {
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + i)}), 1214)
		h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(greedy, dst, inspecttest.Ping("KaZaA")))
	}
	// Another client is not held back by the first one's excess.
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, netip.MustParseAddrPort("198.51.100.250:1214"), inspecttest.Ping("KaZaA")))
	eventually(t, "the other client's peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.250")) })
	time.Sleep(100 * time.Millisecond)
	elems, err := h.fw.Elements(t.Context(), nft.SetPeers4)
	if err != nil {
		t.Fatal(err)
	}
	// 10 at once, perhaps one more refilled meanwhile, plus the other client's.
	if n := len(elems); n < 11 || n > 12 {
		t.Errorf("%d peers learned, want the budget of 10 (+1 refill) and the other client's 1", n)
	}
	if n := bytes.Count(h.syncLogs(), []byte("over its peer budget")); n != 1 {
		t.Errorf("%d budget warnings, want 1:\n%s", n, h.syncLogs())
	}
	// Peers already known are refreshed whatever the budget says.
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(greedy, netip.MustParseAddrPort("198.51.100.100:1214"), inspecttest.Ping("KaZaA")))
	h.stop(t)
	if !bytes.Contains(h.syncLogs(), []byte("peers_over_budget=")) || bytes.Contains(h.syncLogs(), []byte("peers_over_budget=0")) {
		t.Errorf("the exit line does not count the peers over budget")
	}
}
