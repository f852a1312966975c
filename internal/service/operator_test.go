package service

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// peerB is a second peer.
var peerB = netip.MustParseAddrPort("198.51.100.8:1214")

// lastSetup returns the configuration of the last Setup call.
func lastSetup(t *testing.T, fw *nft.Fake) nft.Config {
	t.Helper()
	var cfg nft.Config
	found := false
	for _, c := range fw.Calls() {
		if c.Method == "Setup" {
			cfg, found = c.Config, true
		}
	}
	if !found {
		t.Fatal("no Setup call")
	}
	return cfg
}

func TestDryRunRefusesAnExistingTable(t *testing.T) {
	fw := nft.NewFake()
	cfg := baseConfig()
	if _, err := fw.Setup(context.Background(), cfg.Ruleset, nft.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	fw.AddElements(context.Background(), nft.SetPeers4, []nft.Element{{Addr: peer.Addr()}})
	cfg.DryRun = true
	svc, err := New(cfg, nil, Deps{Firewall: fw, Sender: &fakeSender{}, Interfaces: fakeIfaces{}, ProtectFiles: &ProtectFiles{}})
	if err != nil {
		t.Fatal(err)
	}
	err = svc.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ftwall teardown") {
		t.Fatalf("dry-run over an existing table: %v, want a refusal naming ftwall teardown", err)
	}
	if !has(t, fw, nft.SetPeers4, peer.Addr()) {
		t.Fatal("the refused dry-run changed the table")
	}
}

// TestDryRunSwitchedBySIGHUP: dry-run off by reload enforces at once, with
// the storefile's peers in the kernel; on again, it removes enforcement and
// writes nothing more.
func TestDryRunSwitchedBySIGHUP(t *testing.T) {
	path := writeStore(t, 3, time.Now().Add(-time.Hour))
	cfg := baseConfig()
	cfg.Store, cfg.DryRun = path, true
	dry := true
	cfg.Reload = func() (Config, error) {
		next := baseConfig()
		next.Store, next.DryRun = path, dry
		return next, nil
	}
	h := start(t, cfg)
	eventually(t, "inspecting", func() bool { return bytes.Contains(h.syncLogs(), []byte("inspecting")) })
	if !lastSetup(t, h.fw).Observe {
		t.Fatal("dry-run applied the enforcing ruleset")
	}
	if has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("11.0.0.1")) {
		t.Fatal("dry-run loaded the storefile into the kernel")
	}
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA"))); v != queue.Accept {
		t.Fatalf("dry-run verdict %v", v)
	}

	dry = false
	h.hup <- os.Interrupt
	eventually(t, "dry-run off", func() bool { return bytes.Contains(h.syncLogs(), []byte("dry-run turned off")) })
	if lastSetup(t, h.fw).Observe {
		t.Fatal("dry-run off kept the observe-only ruleset")
	}
	for _, a := range []string{"11.0.0.1", "11.0.0.2", "11.0.0.3"} {
		if !has(t, h.fw, nft.SetPeers4, netip.MustParseAddr(a)) {
			t.Errorf("storefile peer %s not in peers4 after dry-run off", a)
		}
	}
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA"))); v != queue.Drop {
		t.Fatalf("verdict after dry-run off %v, want drop", v)
	}
	eventually(t, "peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })

	dry = true
	h.hup <- os.Interrupt
	eventually(t, "dry-run on", func() bool { return bytes.Contains(h.syncLogs(), []byte("dry-run turned on")) })
	if !lastSetup(t, h.fw).Observe {
		t.Fatal("dry-run on kept the enforcing ruleset")
	}
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peerB, inspecttest.Ping("KaZaA"))); v != queue.Accept {
		t.Fatalf("verdict after dry-run on %v, want accept", v)
	}
	if has(t, h.fw, nft.SetPeers4, peerB.Addr()) {
		t.Fatal("dry-run (on again) wrote a peer")
	}
	h.stop(t)
	// Started in dry-run, stopped in dry-run: the table it created goes.
	if st, _ := h.fw.Status(context.Background(), 0); st.Present {
		t.Fatal("table left after a dry-run stop")
	}
}

func call(t *testing.T, dir string, req ctl.Request) ctl.Response {
	t.Helper()
	resp, err := ctl.Call(context.Background(), dir, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Op, err)
	}
	return resp
}

func doneOf(resp ctl.Response) string {
	var parts []string
	for _, r := range resp.Results {
		if r.Error != "" {
			parts = append(parts, r.Addr+"!"+r.Error)
		} else {
			parts = append(parts, r.Addr+"="+r.Done)
		}
	}
	return strings.Join(parts, ",")
}

// TestOperatorRequests drives block, unblock and unlock through the control
// socket of a running service, and checks the kernel, the storefile, the
// pardon and the service's memory.
func TestOperatorRequests(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the control socket serves root only: run as root")
	}
	dir := t.TempDir()
	path := writeStore(t, 1, time.Now().Add(-time.Hour))
	cfg := baseConfig()
	cfg.Store, cfg.RunDir = path, dir
	cfg.Ruleset.TimeLock = time.Hour
	h := start(t, cfg)
	eventually(t, "socket", func() bool { _, err := os.Stat(ctl.SocketPath(dir)); return err == nil })
	if pid, held, _ := ctl.Holder(dir); !held || pid != os.Getpid() {
		t.Fatalf("lock held %v by %d", held, pid)
	}
	info := call(t, dir, ctl.Request{Op: ctl.OpInfo}).Info
	if info == nil || info.PID != os.Getpid() || info.DryRun || info.Backend == "" || len(info.LAN) != 1 || info.Fingerprint == "" {
		t.Fatalf("info %+v", info)
	}

	// block: a public address is blocked and stored; a LAN one refused.
	blocked := netip.MustParseAddr("203.0.113.50")
	resp := call(t, dir, ctl.Request{Op: ctl.OpBlock, Addrs: []string{blocked.String(), "10.0.1.9", "nonsense"}, Reason: "abuse desk ticket 7"})
	if got := doneOf(resp); !strings.Contains(got, "203.0.113.50=blocked") || !strings.Contains(got, "10.0.1.9!not blocked") || !strings.Contains(got, "nonsense!not an IPv4") {
		t.Fatalf("block results %s", got)
	}
	if !has(t, h.fw, nft.SetPeers4, blocked) {
		t.Fatal("blocked address not in peers4")
	}

	// A learned peer and a locked client.
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	eventually(t, "client locked", func() bool { return has(t, h.fw, nft.SetLocked4, client.Addr()) })

	// unblock the learned peer and a stored one.
	resp = call(t, dir, ctl.Request{Op: ctl.OpUnblock, Addrs: []string{peer.Addr().String(), "11.0.0.1", "192.0.2.99"}, Pardon: time.Hour})
	if got := doneOf(resp); got != "198.51.100.7=unblocked,11.0.0.1=unblocked,192.0.2.99=was not blocked" {
		t.Fatalf("unblock results %s", got)
	}
	if has(t, h.fw, nft.SetPeers4, peer.Addr()) || has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("11.0.0.1")) {
		t.Fatal("unblocked peer still in peers4")
	}
	if !has(t, h.fw, nft.SetPardon4, peer.Addr()) {
		t.Fatal("unblocked peer not pardoned in the kernel")
	}
	// The pardon holds: the same evidence again teaches nothing.
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	resp = call(t, dir, ctl.Request{Op: ctl.OpInfo}) // served after the evidence
	if has(t, h.fw, nft.SetPeers4, peer.Addr()) {
		t.Fatal("a pardoned peer was learned again")
	}

	// unlock the client.
	resp = call(t, dir, ctl.Request{Op: ctl.OpUnlock, Addrs: []string{client.Addr().String()}, Pardon: time.Hour})
	if got := doneOf(resp); got != "10.0.1.2=unlocked" {
		t.Fatalf("unlock results %s", got)
	}
	if has(t, h.fw, nft.SetLocked4, client.Addr()) {
		t.Fatal("unlocked client still in locked4")
	}
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peerB, inspecttest.Ping("KaZaA")))
	call(t, dir, ctl.Request{Op: ctl.OpInfo})
	if has(t, h.fw, nft.SetLocked4, client.Addr()) {
		t.Fatal("a pardoned client was locked again")
	}
	h.stop(t)

	// The storefile: the blocked address is in, the unblocked ones are not.
	got, _, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	in := map[netip.Addr]string{}
	for _, p := range got {
		in[p.Addr] = p.Reason
	}
	if in[blocked] != "manual/abuse desk ticket 7" {
		t.Errorf("blocked address in the storefile with reason %q", in[blocked])
	}
	for _, a := range []netip.Addr{peer.Addr(), netip.MustParseAddr("11.0.0.1")} {
		if _, ok := in[a]; ok {
			t.Errorf("unblocked %s still in the storefile", a)
		}
	}
	if _, held, _ := ctl.Holder(dir); held {
		t.Error("lock still held after the service stopped")
	}

	// A restart keeps the pardon (it is in the kernel's pardon set).
	h2 := startWith(t, cfg, h.fw)
	eventually(t, "socket again", func() bool {
		_, err := ctl.Call(context.Background(), dir, ctl.Request{Op: ctl.OpInfo})
		return err == nil
	})
	h2.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	call(t, dir, ctl.Request{Op: ctl.OpInfo})
	if has(t, h2.fw, nft.SetPeers4, peer.Addr()) {
		t.Fatal("a pardoned peer was learned after a restart")
	}
}

func TestSecondRunRefused(t *testing.T) {
	dir := t.TempDir()
	o, err := ctl.Acquire(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Release()
	cfg := baseConfig()
	cfg.RunDir = dir
	svc, err := New(cfg, nil, Deps{Firewall: nft.NewFake(), Sender: &fakeSender{}, Interfaces: fakeIfaces{}, ProtectFiles: &ProtectFiles{}})
	if err != nil {
		t.Fatal(err)
	}
	err = svc.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another ftwall run owns the table") {
		t.Fatalf("second run: %v", err)
	}
}
