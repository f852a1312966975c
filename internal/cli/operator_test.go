package cli

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

func hasElem(t *testing.T, fw nft.Firewall, set, addr string) bool {
	t.Helper()
	elems, err := fw.Elements(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range elems {
		if e.Addr == netip.MustParseAddr(addr) {
			return true
		}
	}
	return false
}

// TestOperatorDirect: with no service running, block, unblock, unlock and
// list act on the kernel (here the fake) and the storefile themselves.
func TestOperatorDirect(t *testing.T) {
	h := newHarness(t)
	path := filepath.Join(t.TempDir(), "peers")
	os.WriteFile(path, []byte(store.Header+"\n198.51.100.9:1214 2024-05-01T12:00:00Z fasttrack/udp ping\n"), 0o600)
	h.mustRun("setup", "--lan", "lan0", "--allow", "203.0.113.0/24")
	ctx := context.Background()
	h.fw.AddElements(ctx, nft.SetPeers4, []nft.Element{{Addr: netip.MustParseAddr("198.51.100.9")}})
	h.fw.AddElements(ctx, nft.SetLocked4, []nft.Element{{Addr: netip.MustParseAddr("10.0.1.2")}})

	out := h.mustRun("block", "--store", path, "--reason", "ticket 7", "198.51.100.1", "2001:db8:100::1")
	if out != "198.51.100.1: blocked\n2001:db8:100::1: blocked\n" {
		t.Errorf("block output %q", out)
	}
	if !hasElem(t, h.fw, nft.SetPeers4, "198.51.100.1") || !hasElem(t, h.fw, nft.SetPeers6, "2001:db8:100::1") {
		t.Fatal("blocked addresses not in the sets")
	}
	// Refused: allowlisted, private; the command fails after the rest.
	if code := h.run("block", "--allow", "203.0.113.0/24", "203.0.113.5", "10.1.1.1", "198.51.100.2"); code != 1 {
		t.Errorf("block of refused addresses: exit %d", code)
	}
	if !strings.Contains(h.stdout.String(), "203.0.113.5: not blocked") || !strings.Contains(h.stdout.String(), "198.51.100.2: blocked") {
		t.Errorf("block output %q", h.stdout.String())
	}
	if code := h.run("block", "nonsense"); code != 2 || !strings.Contains(h.stderr.String(), "not an IPv4 or IPv6 address") {
		t.Errorf("block nonsense: exit %d, %q", code, h.stderr.String())
	}
	if code := h.run("block", "--reason", "a\nb", "198.51.100.3"); code != 2 {
		t.Errorf("block with a newline in the reason: exit %d", code)
	}

	out = h.mustRun("unblock", "--store", path, "--json", "198.51.100.9", "198.51.100.77")
	if !strings.Contains(out, `"via": "direct"`) || !strings.Contains(out, `"done": "unblocked"`) || !strings.Contains(out, `"done": "was not blocked"`) {
		t.Errorf("unblock output %s", out)
	}
	if hasElem(t, h.fw, nft.SetPeers4, "198.51.100.9") || !hasElem(t, h.fw, nft.SetPardon4, "198.51.100.9") {
		t.Fatal("unblocked peer still blocked, or not pardoned")
	}
	peers, _, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range peers {
		got = append(got, p.Addr.String()+" "+p.Reason)
	}
	if strings.Join(got, ",") != "198.51.100.1 manual/ticket 7,2001:db8:100::1 manual/ticket 7" {
		t.Errorf("storefile after block and unblock: %v", got)
	}

	h.mustRun("unlock", "--pardon", "0", "10.0.1.2")
	if hasElem(t, h.fw, nft.SetLocked4, "10.0.1.2") || hasElem(t, h.fw, nft.SetPardon4, "10.0.1.2") {
		t.Fatal("unlock --pardon 0 left the lock or pardoned")
	}

	out = h.mustRun("list", "peers")
	if !strings.Contains(out, "198.51.100.1") || !strings.Contains(out, "manual: ticket 7") || strings.Contains(out, "198.51.100.9") {
		t.Errorf("list peers:\n%s", out)
	}
	out = h.mustRun("list", "pardoned", "--json")
	if !strings.Contains(out, `"addr":"198.51.100.9"`) || !strings.Contains(out, `"addr":"198.51.100.77"`) || strings.Count(out, "\n") != 2 {
		t.Errorf("list pardoned --json:\n%s", out)
	}
	if code := h.run("list", "everything"); code != 2 {
		t.Errorf("list everything: exit %d", code)
	}

	// No table: block refuses, unblock still edits the storefile.
	h.mustRun("teardown")
	if code := h.run("block", "198.51.100.4"); code != 1 || !strings.Contains(h.stderr.String(), "is not present") {
		t.Errorf("block without a table: exit %d %q", code, h.stderr.String())
	}
	h.mustRun("unblock", "--store", path, "198.51.100.1")
	peers, _, _ = store.Load(path)
	if len(peers) != 1 || peers[0].Addr.String() != "2001:db8:100::1" {
		t.Errorf("storefile after an unblock without table: %v", peers)
	}
	if code := h.run("list", "peers"); code != ExitAbsent {
		t.Errorf("list without a table: exit %d", code)
	}
}

// fakeService holds the harness's run directory and answers on its
// control socket the way ftwall run does.
func fakeService(t *testing.T, h *harness, handle ctl.Handler) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("the control socket serves root only: run as root")
	}
	o, err := ctl.Acquire(h.runDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ctl.Listen(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, handle); close(done) }()
	t.Cleanup(func() { cancel(); <-done; o.Release() })
}

// TestOneOwner: while a service holds the run directory, setup with other
// options and teardown refuse naming it, setup with its options changes
// nothing, and the operator commands go through its socket.
func TestOneOwner(t *testing.T) {
	h := newHarness(t)
	h.mustRun("setup", "--lan", "lan0")
	// The fingerprint the fake applied is what the service reports.
	var fp string
	for _, c := range h.fw.Calls() {
		if c.Method == "Setup" {
			fp, _ = nft.Fingerprint(c.Config, nft.BackendCompat)
		}
	}
	var got []ctl.Request
	fakeService(t, h, func(_ context.Context, req ctl.Request) ctl.Response {
		got = append(got, req)
		if req.Op == ctl.OpInfo {
			return ctl.Response{Info: &ctl.Info{PID: 4711, Version: "0.1.0", Backend: "compat", Fingerprint: fp, Started: time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)}}
		}
		return ctl.Response{Results: []ctl.Result{{Addr: req.Addrs[0], Done: req.Op + "ed by the service"}}}
	})
	if out := h.mustRun("setup", "--lan", "lan0"); !strings.Contains(out, "unchanged: ftwall run (pid") {
		t.Errorf("setup with the service's options: %q", out)
	}
	for _, args := range [][]string{{"setup", "--lan", "lan1"}, {"setup", "--lan", "lan0", "--reset"}, {"teardown"}} {
		if code := h.run(args...); code != 1 || !strings.Contains(h.stderr.String(), "owns table inet ftwall") || !strings.Contains(h.stderr.String(), "systemctl") {
			t.Errorf("ftwall %v under a running service: exit %d, %q", args, code, h.stderr.String())
		}
	}
	if st, _ := h.fw.Status(context.Background(), 0); !st.Present {
		t.Fatal("a refused teardown removed the table")
	}
	out := h.mustRun("unblock", "198.51.100.9")
	if out != "198.51.100.9: unblocked by the service\n" || got[len(got)-1].Op != ctl.OpUnblock || got[len(got)-1].Pardon != defaultPardon {
		t.Errorf("unblock through the service: %q, request %+v", out, got[len(got)-1])
	}
	out = h.mustRun("status", "--sample", "0")
	if !strings.Contains(out, "service: ftwall run 0.1.0, pid ") {
		t.Errorf("status under a running service:\n%s", out)
	}
}
