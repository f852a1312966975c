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

	"github.com/ftwall/ftwall/internal/lab"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

// Interface indexes of the fake host.
const (
	ifLAN = 2
	ifWAN = 3
)

type fakeIfaces struct{}

func (fakeIfaces) Interfaces() ([]netIface, error) {
	return []netIface{
		{Index: 1, Name: "lo", Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Index: ifLAN, Name: "lan0", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("fd00:1::1/64")}},
		{Index: ifWAN, Name: "wan0", Addrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.1/24")}},
	}, nil
}

type sent struct {
	from, to netip.AddrPort
	payload  []byte
}

type fakeSender struct {
	mu      sync.Mutex
	sent    []sent
	discard bool // benchmarks: count nothing
}

func (f *fakeSender) SendUDP(src, dst netip.AddrPort, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.discard {
		return nil
	}
	f.sent = append(f.sent, sent{src, dst, bytes.Clone(payload)})
	return nil
}

func (f *fakeSender) all() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.sent...)
}

// fakeQueue feeds packets to the handler and records verdicts.
type fakeQueue struct {
	in       chan queue.Packet
	verdicts chan queue.Verdict
}

func (q *fakeQueue) Start(ctx context.Context, h queue.Handler) error {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-q.in:
				q.verdicts <- h(&p)
			}
		}
	}()
	return nil
}
func (q *fakeQueue) Close() error { return nil }

func (q *fakeQueue) send(t *testing.T, hook uint8, in uint32, pkt []byte) queue.Verdict {
	t.Helper()
	q.in <- queue.Packet{Hook: hook, InDev: in, Payload: pkt}
	select {
	case v := <-q.verdicts:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no verdict")
		return 0
	}
}

type harness struct {
	fw     *nft.Fake
	snd    *fakeSender
	q      *fakeQueue
	svc    *Service
	cancel context.CancelFunc
	done   chan error
	hup    chan os.Signal
	logs   *lab.Buffer

	// TCP time-lock probes: recorded; answered when probeAnswers is set.
	probeMu      sync.Mutex
	tcpProbes    []netip.AddrPort
	probeAnswers bool
}

func (h *harness) dial(ctx context.Context, src netip.Addr, dst netip.AddrPort) error {
	h.probeMu.Lock()
	defer h.probeMu.Unlock()
	h.tcpProbes = append(h.tcpProbes, dst)
	if h.probeAnswers {
		return nil
	}
	return errors.New("connection refused")
}

func (h *harness) answerTCPProbes(on bool) {
	h.probeMu.Lock()
	defer h.probeMu.Unlock()
	h.probeAnswers = on
}

func (h *harness) tcpProbeCount() int {
	h.probeMu.Lock()
	defer h.probeMu.Unlock()
	return len(h.tcpProbes)
}

func baseConfig() Config {
	return Config{
		Ruleset: nft.Config{
			LAN: []string{"lan0"}, PeerTimeout: 24 * time.Hour, TimeLock: 400 * time.Millisecond,
			Queues: 1, Allow: []netip.Prefix{netip.MustParsePrefix("198.51.100.200/32")},
		},
		LogLetters: "cp",
	}
}

func start(t testing.TB, cfg Config) *harness {
	t.Helper()
	return startWith(t, cfg, nft.NewFake())
}

func startWith(t testing.TB, cfg Config, fw *nft.Fake) *harness {
	t.Helper()
	return startDeps(t, cfg, fw, &ProtectFiles{})
}

// startDeps is startWith reading protected addresses from files.
func startDeps(t testing.TB, cfg Config, fw *nft.Fake, files *ProtectFiles) *harness {
	t.Helper()
	h := &harness{fw: fw, snd: &fakeSender{}, q: &fakeQueue{in: make(chan queue.Packet), verdicts: make(chan queue.Verdict)},
		done: make(chan error, 1), hup: make(chan os.Signal, 1), logs: &lab.Buffer{}}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := New(cfg, log, Deps{
		Firewall: h.fw, Sender: h.snd, Interfaces: fakeIfaces{}, Signals: h.hup,
		OpenQueue: func(queue.Config) (packetSource, error) { return h.q, nil },
		DialProbe: h.dial, ProtectFiles: files,
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

func (h *harness) stop(t testing.TB) {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run did not stop")
	}
}

func has(t *testing.T, fw *nft.Fake, set string, a netip.Addr) bool {
	t.Helper()
	elems, err := fw.Elements(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range elems {
		if e.Addr == a {
			return true
		}
	}
	return false
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	client  = netip.MustParseAddrPort("10.0.1.2:3456")
	peer    = netip.MustParseAddrPort("198.51.100.7:1214")
	peer6   = netip.MustParseAddrPort("[2001:db8:100::7]:1214")
	client6 = netip.MustParseAddrPort("[fd00:1::2]:3456")
)

func TestPingIsDroppedLearnedAndAnswered(t *testing.T) {
	h := start(t, baseConfig())
	v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	if v != queue.Drop {
		t.Fatalf("ping verdict %v, want drop", v)
	}
	eventually(t, "peer in peers4", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	eventually(t, "client in locked4", func() bool { return has(t, h.fw, nft.SetLocked4, client.Addr()) })
	s := h.snd.all()
	if len(s) == 0 || s[0].from != peer || s[0].to != client || s[0].payload[0] != fasttrack.MsgNodePong {
		t.Fatalf("spoofed pong: %+v", s)
	}
}

func TestNotFromLANIsNotEvidence(t *testing.T) {
	h := start(t, baseConfig())
	// The same ping shape arriving on the WAN interface teaches nothing.
	v := h.q.send(t, queue.HookForward, ifWAN, inspecttest.UDP(netip.MustParseAddrPort("203.0.113.9:1"), peer, inspecttest.Ping("KaZaA")))
	if v != queue.Accept {
		t.Fatalf("verdict %v, want accept", v)
	}
	// A LAN ping afterwards is learned; the WAN one never was.
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client6, peer6, inspecttest.Ping("KaZaA")))
	eventually(t, "peer6 learned", func() bool { return has(t, h.fw, nft.SetPeers6, peer6.Addr()) })
	eventually(t, "client6 locked", func() bool { return has(t, h.fw, nft.SetLocked6, client6.Addr()) })
	if has(t, h.fw, nft.SetPeers4, peer.Addr()) {
		t.Fatal("a ping from the WAN side put its destination in peers4")
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	cfg := baseConfig()
	cfg.DryRun = true
	h := start(t, cfg)
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA"))); v != queue.Accept {
		t.Fatalf("dry-run verdict %v, want accept", v)
	}
	// The handler hands nothing to the control goroutine in dry-run: a
	// reload request behind the ping is served after it.
	if has(t, h.fw, nft.SetPeers4, peer.Addr()) || has(t, h.fw, nft.SetLocked4, client.Addr()) {
		t.Fatal("dry run wrote set elements")
	}
	h.stop(t)
	if st, err := h.fw.Status(context.Background(), 0); err != nil || st.Present {
		t.Fatalf("dry run left the table it created: present %v, err %v", st != nil && st.Present, err)
	}
	if len(h.snd.all()) != 0 {
		t.Fatal("dry run sent a pong")
	}
}

func TestNoUDPBlockAcceptsButLearns(t *testing.T) {
	cfg := baseConfig()
	cfg.NoUDPBlock = true
	h := start(t, cfg)
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA"))); v != queue.Accept {
		t.Fatalf("verdict %v, want accept", v)
	}
	eventually(t, "peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
}

func TestTimeLockProbeAndLapse(t *testing.T) {
	h := start(t, baseConfig()) // timelock 400ms: probe at ~200ms
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("fileshare")))
	var probe sent
	eventually(t, "probe sent", func() bool {
		for _, s := range h.snd.all() {
			if s.payload[0] == fasttrack.MsgNodePing {
				probe = s
				return true
			}
		}
		return false
	})
	if probe.from != netip.MustParseAddrPort("10.0.1.1:1214") || probe.to != client {
		t.Fatalf("probe %v → %v, want 10.0.1.1:1214 → %v", probe.from, probe.to, client)
	}
	if !bytes.Equal(probe.payload, fasttrack.AppendPing(nil, "fileshare")) {
		t.Fatalf("probe payload %q", probe.payload)
	}
	// The client's answer arrives on the input hook: dropped (nobody
	// listens) but counted as evidence.
	ans := inspecttest.UDP(client, netip.MustParseAddrPort("10.0.1.1:1214"), inspecttest.NodePong(1))
	if v := h.q.send(t, queue.HookInput, ifLAN, ans); v != queue.Drop {
		t.Fatalf("probe answer verdict %v, want drop", v)
	}
	if h.svc.stats.ProbeAnswers.Load() != 1 {
		t.Fatalf("probe answers %d", h.svc.stats.ProbeAnswers.Load())
	}
	// Without more answers the client lapses and the log says so.
	eventually(t, "client vanished", func() bool {
		return bytes.Contains(h.syncLogs(), []byte("client vanished"))
	})
}

func (h *harness) syncLogs() []byte { return []byte(h.logs.String()) }

func TestReloadKeepsOldConfigOnError(t *testing.T) {
	cfg := baseConfig()
	calls := 0
	cfg.Reload = func() (Config, error) {
		calls++
		if calls == 1 {
			return Config{}, errors.New("line 3: bad CIDR")
		}
		next := baseConfig()
		next.Ruleset.Allow = append(next.Ruleset.Allow, netip.MustParsePrefix("198.51.100.7/32"))
		return next, nil
	}
	h := start(t, cfg)
	h.hup <- os.Interrupt
	eventually(t, "reload refused", func() bool { return bytes.Contains(h.syncLogs(), []byte("stays in force")) })
	h.hup <- os.Interrupt
	eventually(t, "reload applied", func() bool { return bytes.Contains(h.syncLogs(), []byte("configuration reloaded")) })
	// 198.51.100.7 is allowlisted now: a ping to it teaches nothing.
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	h.stop(t)
	if has(t, h.fw, nft.SetPeers4, peer.Addr()) {
		t.Fatal("allowlisted peer learned after reload")
	}
}

func TestTableRemovedIsRecreated(t *testing.T) {
	h := start(t, baseConfig())
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	// Someone flushes the ruleset.
	if _, err := h.fw.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := netip.MustParseAddrPort("198.51.100.8:1214")
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client6, netip.MustParseAddrPort("[2001:db8:100::8]:1214"), inspecttest.Ping("KaZaA")))
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(netip.MustParseAddrPort("10.0.1.3:5000"), other, inspecttest.Ping("KaZaA")))
	eventually(t, "table re-created with the new peer", func() bool {
		st, err := h.fw.Status(context.Background(), 0)
		return err == nil && st.Present && has(t, h.fw, nft.SetPeers4, other.Addr())
	})
	// Logged once the elements are restored.
	eventually(t, "re-creating the table logged", func() bool { return bytes.Contains(h.syncLogs(), []byte("re-created")) })
}

// After a restart, a locked client whose element carries its port in the
// comment is probed again; the lock element written carries the comment.
func TestRestartKeepsProbingFromElementComment(t *testing.T) {
	cfg := baseConfig()
	fw := nft.NewFake()
	ctx := context.Background()
	if _, err := fw.Setup(ctx, cfg.Ruleset, nft.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fw.AddElements(ctx, nft.SetLocked4, []nft.Element{{Addr: client.Addr(), Comment: "port=4321 net=fileshare"}}); err != nil {
		t.Fatal(err)
	}
	h := startWith(t, cfg, fw)
	eventually(t, "probe to the restored client", func() bool {
		for _, s := range h.snd.all() {
			if s.to == netip.MustParseAddrPort("10.0.1.2:4321") && bytes.Equal(s.payload, fasttrack.AppendPing(nil, "fileshare")) {
				return true
			}
		}
		return false
	})
	if !bytes.Contains(h.syncLogs(), []byte("probeable=1")) {
		t.Error("restore did not report the probeable client")
	}
	// New evidence writes the element with the client's port.
	other := netip.MustParseAddrPort("10.0.1.3:5555")
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(other, peer, inspecttest.Ping("Grokster")))
	eventually(t, "lock element with comment", func() bool {
		elems, _ := h.fw.Elements(ctx, nft.SetLocked4)
		for _, e := range elems {
			if e.Addr == other.Addr() && e.Comment == "proto=fasttrack port=5555 tag=Grokster" {
				return true
			}
		}
		return false
	})
}
