package service

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/internal/rtnl"
	"github.com/ftwall/ftwall/nft"
	"golang.org/x/sys/unix"
)

// fakeNeighbours is a neighbour table: address → MAC (nil: an incomplete
// entry); it counts lookups and resolve requests.
type fakeNeighbours struct {
	mu       sync.Mutex
	macs     map[netip.Addr][]byte
	lookups  map[netip.Addr]int
	resolves map[netip.Addr]int
	err      error
}

func newFakeNeighbours() *fakeNeighbours {
	return &fakeNeighbours{macs: map[netip.Addr][]byte{}, lookups: map[netip.Addr]int{}, resolves: map[netip.Addr]int{}}
}

func (f *fakeNeighbours) set(a netip.Addr, mac []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.macs[a] = mac
}

func (f *fakeNeighbours) Lookup(a netip.Addr, ifindex uint32) (rtnl.Entry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups[a]++
	if f.err != nil {
		return rtnl.Entry{}, false, f.err
	}
	mac, ok := f.macs[a]
	if !ok || ifindex != ifLAN {
		return rtnl.Entry{}, false, nil
	}
	if mac == nil {
		return rtnl.Entry{State: unix.NUD_INCOMPLETE}, true, nil
	}
	e := rtnl.Entry{State: unix.NUD_REACHABLE}
	e.HwLen = uint8(copy(e.HwAddr[:], mac))
	return e, true, nil
}

func (f *fakeNeighbours) Resolve(a netip.Addr, ifindex uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolves[a]++
	return nil
}

func (f *fakeNeighbours) counts(a netip.Addr) (lookups, resolves int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups[a], f.resolves[a]
}

// startNeigh starts a service whose neighbour table is nb.
func startNeigh(t *testing.T, cfg Config, nb neighbourTable, w func() (ifaceWatcher, error), ifs interfaceLister) *harness {
	t.Helper()
	h := &harness{fw: nft.NewFake(), snd: &fakeSender{}, q: &fakeQueue{in: make(chan queue.Packet), verdicts: make(chan queue.Verdict)},
		done: make(chan error, 1), hup: make(chan os.Signal, 1), logs: &lab.Buffer{}}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if w == nil {
		w = func() (ifaceWatcher, error) { return nil, errors.New("no watcher in this test") }
	}
	if ifs == nil {
		ifs = fakeIfaces{}
	}
	svc, err := New(cfg, log, Deps{
		Firewall: h.fw, Sender: h.snd, Interfaces: ifs, Signals: h.hup,
		OpenQueue: func(queue.Config) (packetSource, error) { return h.q, nil },
		DialProbe: h.dial, ProtectFiles: &ProtectFiles{},
		Neighbours:      func() (neighbourTable, error) { return nb, nil },
		WatchInterfaces: w,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- svc.Run(ctx) }()
	t.Cleanup(func() { h.stop(t) })
	return h
}

var (
	victimMAC   = []byte{0x02, 0, 0, 0, 0, 0x02}
	attackerMAC = []byte{0x02, 0, 0, 0, 0, 0x66}
)

// sendFrom queues a packet from a LAN host whose frame carried mac.
func (q *fakeQueue) sendFrom(t *testing.T, mac []byte, pkt []byte) queue.Verdict {
	t.Helper()
	p := queue.Packet{Hook: queue.HookForward, InDev: ifLAN, Payload: pkt}
	p.HwLen = uint8(copy(p.HwAddr[:], mac))
	q.in <- p
	select {
	case v := <-q.verdicts:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no verdict")
		return 0
	}
}

// TestForgedSourceTeachesNothing: evidence whose frame MAC differs from
// the neighbour table's, or whose source the table does not hold, locks
// nobody and teaches nothing; the same evidence from the right MAC does.
func TestForgedSourceTeachesNothing(t *testing.T) {
	nb := newFakeNeighbours()
	nb.set(client.Addr(), victimMAC)
	nb.set(client6.Addr(), victimMAC)
	h := startNeigh(t, baseConfig(), nb, nil, nil)
	unused := netip.MustParseAddrPort("10.0.1.99:3456")
	forged := []struct {
		src  netip.AddrPort
		mac  []byte
		peer netip.AddrPort
	}{
		{client, attackerMAC, netip.MustParseAddrPort("198.51.100.31:1214")},
		{client6, attackerMAC, netip.MustParseAddrPort("[2001:db8:100::31]:1214")},
		{unused, attackerMAC, netip.MustParseAddrPort("198.51.100.32:1214")},
	}
	for _, f := range forged {
		h.q.sendFrom(t, f.mac, inspecttest.UDP(f.src, f.peer, inspecttest.Ping("KaZaA")))
	}
	// Controls, after the forged ones: the victim's own pings.
	h.q.sendFrom(t, victimMAC, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	h.q.sendFrom(t, victimMAC, inspecttest.UDP(client6, peer6, inspecttest.Ping("KaZaA")))
	eventually(t, "the genuine pings learned and locked", func() bool {
		return has(t, h.fw, nft.SetPeers4, peer.Addr()) && has(t, h.fw, nft.SetPeers6, peer6.Addr())
	})
	for _, f := range forged {
		set := nft.SetPeers4
		if f.peer.Addr().Is6() {
			set = nft.SetPeers6
		}
		if has(t, h.fw, set, f.peer.Addr()) {
			t.Errorf("forged ping from %v (MAC %x) taught %v", f.src, f.mac, f.peer)
		}
	}
	if has(t, h.fw, nft.SetLocked4, unused.Addr()) {
		t.Error("an unresolved source was locked")
	}
	if _, r := nb.counts(unused.Addr()); r != 1 {
		t.Errorf("%d resolve requests for the unresolved source, want 1", r)
	}
	if n := bytes.Count(h.syncLogs(), []byte("forged source address")); n != 2 {
		t.Errorf("%d forged-source warnings, want 2:\n%s", n, h.syncLogs())
	}
	h.stop(t)
	if !bytes.Contains(h.syncLogs(), []byte("forged_mac_mismatch=2 forged_unresolved=1")) {
		t.Errorf("the exit line does not count the forged sources:\n%s", h.syncLogs())
	}
}

// TestForgedSourceLocksNobody: a forged ping in the victim's name does not
// lock the victim (nothing else locks it here).
func TestForgedSourceLocksNobody(t *testing.T) {
	nb := newFakeNeighbours()
	nb.set(client.Addr(), victimMAC)
	h := startNeigh(t, baseConfig(), nb, nil, nil)
	h.q.sendFrom(t, attackerMAC, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	// A genuine ping of another client orders the batches: once its
	// peer is in, the forged item was applied.
	other := netip.MustParseAddrPort("10.0.1.3:3456")
	nb.set(other.Addr(), attackerMAC)
	h.q.sendFrom(t, attackerMAC, inspecttest.UDP(other, netip.MustParseAddrPort("198.51.100.40:1214"), inspecttest.Ping("KaZaA")))
	eventually(t, "the attacker's own ping learned", func() bool { return has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.40")) })
	if has(t, h.fw, nft.SetLocked4, client.Addr()) || has(t, h.fw, nft.SetPeers4, peer.Addr()) {
		t.Error("a forged ping locked the victim or taught its peer")
	}
	if !has(t, h.fw, nft.SetLocked4, other.Addr()) {
		t.Error("the attacker's own ping did not lock it")
	}
}

// TestNoMACNoCheck: packets without a MAC (tun, ppp) skip the check and
// ask nothing.
func TestNoMACNoCheck(t *testing.T) {
	nb := newFakeNeighbours()
	h := startNeigh(t, baseConfig(), nb, nil, nil)
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	if l, r := nb.counts(client.Addr()); l != 0 || r != 0 {
		t.Errorf("%d lookups, %d resolves for a packet without a MAC", l, r)
	}
}

// TestOffLinkSourceNotChecked: a source outside the LAN prefixes (a host
// behind a downstream router on the LAN, arriving with that router's MAC)
// is not checked: no lookup, its evidence is used.
func TestOffLinkSourceNotChecked(t *testing.T) {
	nb := newFakeNeighbours()
	h := startNeigh(t, baseConfig(), nb, nil, nil)
	behind := netip.MustParseAddrPort("10.9.0.5:3456")
	h.q.sendFrom(t, attackerMAC, inspecttest.UDP(behind, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	if l, r := nb.counts(behind.Addr()); l != 0 || r != 0 {
		t.Errorf("%d lookups, %d resolves for an off-link source", l, r)
	}
}

// TestMACCheckCache: answers are cached (one lookup for many packets); a
// disagreement is asked again at most once a second; a MAC that changed
// in the table is taken after that; entries expire after neighTTL;
// resolution is asked for at most once a second per address; a lookup
// error leaves evidence unchecked.
func TestMACCheckCache(t *testing.T) {
	nb := newFakeNeighbours()
	var logs lab.Buffer
	m := newMACCheck(slog.New(slog.NewTextHandler(&logs, nil)), func() (neighbourTable, error) { return nb, nil })
	a, b := client.Addr(), netip.MustParseAddr("10.0.1.50")
	nb.set(a, victimMAC)
	t0 := time.Unix(1000, 0)
	for i := range 100 {
		if v := m.check(a, ifLAN, victimMAC, t0.Add(time.Duration(i)*time.Millisecond)); v != sourceAgrees {
			t.Fatalf("check %d: %v", i, v)
		}
	}
	if l, _ := nb.counts(a); l != 1 {
		t.Errorf("%d lookups for 100 packets in 100 ms, want 1", l)
	}
	// Mismatches within a second: one more lookup.
	for i := range 100 {
		if v := m.check(a, ifLAN, attackerMAC, t0.Add(2*time.Second+time.Duration(i)*time.Millisecond)); v != sourceMismatch {
			t.Fatalf("mismatch %d: %v", i, v)
		}
	}
	if l, _ := nb.counts(a); l != 2 {
		t.Errorf("%d lookups, want 2 (one re-ask for the mismatches)", l)
	}
	// The host changed its NIC: the new MAC is believed after a re-ask.
	nb.set(a, attackerMAC)
	if v := m.check(a, ifLAN, attackerMAC, t0.Add(2500*time.Millisecond)); v != sourceMismatch {
		t.Errorf("within a second of the last re-ask: %v, want mismatch", v)
	}
	if v := m.check(a, ifLAN, attackerMAC, t0.Add(3500*time.Millisecond)); v != sourceAgrees {
		t.Errorf("a second later: %v, want agree", v)
	}
	// TTL: a cached agreement is asked again after neighTTL.
	before, _ := nb.counts(a)
	m.check(a, ifLAN, attackerMAC, t0.Add(3500*time.Millisecond+neighTTL))
	if l, _ := nb.counts(a); l != before+1 {
		t.Errorf("no lookup after the TTL (%d, %d)", before, l)
	}
	// Unresolved: resolution asked once a second at most.
	for i := range 30 {
		if v := m.check(b, ifLAN, victimMAC, t0.Add(time.Duration(i)*100*time.Millisecond)); v != sourceUnresolved {
			t.Fatalf("unresolved %d: %v", i, v)
		}
	}
	if l, r := nb.counts(b); r != 3 || l != 3 {
		t.Errorf("%d lookups, %d resolves in 3 s, want 3 and 3", l, r)
	}
	// Incomplete entries count as absent.
	nb.set(b, nil)
	if v := m.check(b, ifLAN, victimMAC, t0.Add(10*time.Second)); v != sourceUnresolved {
		t.Errorf("incomplete entry: %v", v)
	}
	// Resolved meanwhile: the next packet a second later is checked.
	nb.set(b, victimMAC)
	if v := m.check(b, ifLAN, victimMAC, t0.Add(11*time.Second)); v != sourceAgrees {
		t.Errorf("after resolution: %v", v)
	}
	// Lookup errors: unchecked, one warning.
	nb.err = errors.New("netlink broke")
	c := netip.MustParseAddr("10.0.1.51")
	for i := range 5 {
		if v := m.check(c, ifLAN, victimMAC, t0.Add(time.Duration(i)*time.Second)); v != sourceUnchecked {
			t.Errorf("lookup error: %v", v)
		}
	}
	if n := bytes.Count([]byte(logs.String()), []byte("MAC check skipped")); n != 1 {
		t.Errorf("%d lookup-error warnings, want 1", n)
	}
	// Bounded: the cache never holds more than neighCacheMax answers.
	nb.err = nil
	for i := range neighCacheMax + 10 {
		m.check(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), ifLAN, victimMAC, t0)
	}
	if len(m.cache) > neighCacheMax {
		t.Errorf("cache holds %d answers", len(m.cache))
	}
}

// TestBudgetByMAC: one host's many IPv6 addresses (one MAC) share one peer
// budget; another host (another MAC) has its own.
func TestBudgetByMAC(t *testing.T) {
	nb := newFakeNeighbours()
	cfg := baseConfig()
	cfg.PeerBudget, cfg.PeerBudgetRate = 10, 1
	h := startNeigh(t, cfg, nb, nil, nil)
	for i := range 30 {
		src := netip.AddrPortFrom(netip.AddrFrom16([16]byte{0xfd, 0, 0, 1, 15: byte(10 + i)}), 3531)
		nb.set(src.Addr(), attackerMAC)
		dst := netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 1, 0, 14: 1, 15: byte(i)}), 1214)
		h.q.sendFrom(t, attackerMAC, inspecttest.UDP(src, dst, inspecttest.Ping("KaZaA")))
	}
	nb.set(client6.Addr(), victimMAC)
	h.q.sendFrom(t, victimMAC, inspecttest.UDP(client6, peer6, inspecttest.Ping("KaZaA")))
	eventually(t, "the other host's peer learned", func() bool { return has(t, h.fw, nft.SetPeers6, peer6.Addr()) })
	elems, err := h.fw.Elements(t.Context(), nft.SetPeers6)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(elems); n < 11 || n > 12 {
		t.Errorf("%d peers learned from 30 addresses of one MAC and 1 of another; want the budget of 10 (+1 refill) and 1", n)
	}
	if n := bytes.Count(h.syncLogs(), []byte("over its peer budget")); n != 1 || !bytes.Contains(h.syncLogs(), []byte("mac=02:00:00:00:00:66")) {
		t.Errorf("%d budget warnings, want 1 naming the MAC:\n%s", n, h.syncLogs())
	}
}

// mutableIfaces is an interface list a test changes.
type mutableIfaces struct {
	mu  sync.Mutex
	wan []netip.Prefix
}

func (m *mutableIfaces) Interfaces() ([]netIface, error) {
	ifs, _ := fakeIfaces{}.Interfaces()
	m.mu.Lock()
	defer m.mu.Unlock()
	ifs[2].Addrs = append(append([]netip.Prefix(nil), ifs[2].Addrs...), m.wan...)
	return ifs, nil
}

// fakeWatcher delivers an event whenever the test says so.
type fakeWatcher struct {
	events  chan struct{}
	running sync.WaitGroup
}

func (w *fakeWatcher) Run(ctx context.Context, changed func()) error {
	defer w.running.Done()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.events:
			changed()
		}
	}
}

// TestAddressEventRefreshesOwn: after an address event, an address just
// added to the WAN interface is own and never a peer; the watcher stops
// with the service.
func TestAddressEventRefreshesOwn(t *testing.T) {
	ifs := &mutableIfaces{}
	w := &fakeWatcher{events: make(chan struct{})}
	w.running.Add(1)
	h := startNeigh(t, baseConfig(), newFakeNeighbours(), func() (ifaceWatcher, error) { return w, nil }, ifs)
	added := netip.MustParseAddr("198.51.100.77")
	ifs.mu.Lock()
	ifs.wan = []netip.Prefix{netip.PrefixFrom(added, 24)}
	ifs.mu.Unlock()
	select {
	case w.events <- struct{}{}:
	case <-time.After(5 * time.Second):
		t.Fatal("the service did not start the watcher")
	}
	eventually(t, "the interfaces re-read", func() bool { return h.svc.state.Load().settings.IsOwn(added) })
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, netip.AddrPortFrom(added, 1214), inspecttest.Ping("KaZaA")))
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "the control peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	if has(t, h.fw, nft.SetPeers4, added) {
		t.Error("an own address added after start became a peer")
	}
	h.stop(t)
	w.running.Wait() // returns: Run stopped the watcher
}

// TestWatcherFailureIsNotFatal: a subscription that fails is one warning.
func TestWatcherFailureIsNotFatal(t *testing.T) {
	h := startNeigh(t, baseConfig(), newFakeNeighbours(), nil, nil)
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	if n := bytes.Count(h.syncLogs(), []byte("address and link changes are not followed")); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}
