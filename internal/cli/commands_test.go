package cli

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/nft"
)

func TestSetupCheckNeedsNoRoot(t *testing.T) {
	h := newHarness(t)
	h.capNetAdmin = false
	h.e.hasCapability = func(capability) (bool, error) {
		t.Error("setup --check checked capabilities")
		return false, nil
	}
	h.e.openFirewall = func() (nft.Firewall, error) {
		t.Error("setup --check opened the firewall")
		return nil, os.ErrPermission
	}
	// A missing interface is an error (a typo would protect nothing)...
	if code := h.run("setup", "--check", "--lan", "lan0,lan9"); code != ExitUsage || !strings.Contains(h.stderr.String(), `--lan: interface "lan9" does not exist`) {
		t.Errorf("setup --check with a missing interface: exit %d, stderr %q", code, h.stderr.String())
	}
	// ... and a warning with --allow-missing-interfaces.
	out := h.mustRun("setup", "--check", "--allow-missing-interfaces", "--lan", "lan0,lan9", "--wan", "wan7", "--allow", "192.0.2.0/24")
	if !strings.HasPrefix(out, "configuration is valid (nothing was changed)\n") {
		t.Errorf("stdout = %q", out)
	}
	for _, want := range []string{"--lan lan0, lan9 (flag)", "--wan wan7 (flag)", "--allow 192.0.2.0/24 (flag)", "--peer-timeout 24h0m0s (default)", "--reset false (default)"} {
		if !hasLine(out, want) {
			t.Errorf("stdout lacks a line %q:\n%s", want, out)
		}
	}
	wantErr := "ftwall: warning: --lan: interface \"lan9\" does not exist (yet); its rules match once it appears\n" +
		"ftwall: warning: --wan: interface \"wan7\" does not exist (yet); its rules match once it appears\n"
	if h.stderr.String() != wantErr {
		t.Errorf("stderr = %q, want %q", h.stderr.String(), wantErr)
	}

	h.mustRun("setup", "--check", "--json", "--lan", "lan0")
	var rep checkReport
	decodeJSON(t, h.stdout.Bytes(), &rep)
	if !rep.Valid || len(rep.Warnings) != 0 || len(rep.Options) != 14 {
		t.Errorf("check report = %+v", rep)
	}

	// A failing check is still a usage error, and still without the kernel.
	if code := h.run("setup", "--check", "--lan", "lan0", "--queue", "65536"); code != ExitUsage {
		t.Errorf("bad value with --check: exit %d", code)
	}
	// run --check validates run's options too.
	if code := h.run("run", "--check", "--lan", "lan0", "--pong", "7"); code != ExitUsage {
		t.Errorf("run --check with a bad pong: exit %d", code)
	}
	out = h.mustRun("run", "--check", "--lan", "lan0", "--pong", "supernode")
	if !hasLine(out, "--pong supernode (flag)") || !hasLine(out, "--log cp (default)") || len(h.ran) != 0 {
		t.Errorf("run --check: ran %d, stdout:\n%s", len(h.ran), out)
	}
}

func TestSetupInterfaceListFailureIsAWarning(t *testing.T) {
	h := newHarness(t)
	h.e.interfaceNames = func() ([]string, error) { return nil, os.ErrPermission }
	h.mustRun("setup", "--check", "--lan", "lan0")
	if !strings.Contains(h.stderr.String(), "ftwall: warning: cannot check whether the interfaces exist") {
		t.Errorf("stderr = %q", h.stderr.String())
	}
}

func TestSetupResults(t *testing.T) {
	h := newHarness(t)
	if out := h.mustRun("setup", "--lan", "lan0"); out != "created table inet ftwall (queue backend: compat)\n" {
		t.Errorf("first setup: %q", out)
	}
	if out := h.mustRun("setup", "--lan", "lan0"); out != "table inet ftwall unchanged (queue backend: compat)\n" {
		t.Errorf("same setup: %q", out)
	}
	ctx := context.Background()
	if err := h.fw.AddElements(ctx, nft.SetPeers4, []nft.Element{{Addr: netip.MustParseAddr("198.51.100.7")}, {Addr: netip.MustParseAddr("198.51.100.8")}}); err != nil {
		t.Fatal(err)
	}
	if err := h.fw.AddElements(ctx, nft.SetLocked6, []nft.Element{{Addr: netip.MustParseAddr("fd00:1::2")}}); err != nil {
		t.Fatal(err)
	}
	if out := h.mustRun("setup", "--lan", "lan0", "--peer-timeout", "12h"); out != "updated table inet ftwall, 3 elements kept (queue backend: compat)\n" {
		t.Errorf("changed setup: %q", out)
	}
	h.mustRun("setup", "--lan", "lan0", "--peer-timeout", "12h", "--reset", "--json")
	var rep setupReport
	decodeJSON(t, h.stdout.Bytes(), &rep)
	want := setupReport{Table: "inet ftwall", Result: "updated", Backend: "compat", ElementsKept: 0, Reset: true, Warnings: []string{}}
	if rep.Table != want.Table || rep.Result != want.Result || rep.Backend != want.Backend || rep.ElementsKept != 0 || !rep.Reset || rep.Warnings == nil {
		t.Errorf("reset report = %+v, want %+v", rep, want)
	}
	if out := h.mustRun("setup", "--lan", "lan0", "--peer-timeout", "12h", "--reset"); out != "updated table inet ftwall, peer and lock sets emptied (queue backend: compat)\n" {
		t.Errorf("reset setup: %q", out)
	}

	// The configuration reached the firewall as given.
	var last nft.Config
	for _, c := range h.fw.Calls() {
		if c.Method == "Setup" {
			last = c.Config
		}
	}
	if last.PeerTimeout != 12*time.Hour || last.LAN[0] != "lan0" || last.Queues != 1 {
		t.Errorf("last Setup config = %+v", last)
	}
	if h.closed != h.opened || h.opened == 0 {
		t.Errorf("opened %d firewalls, closed %d", h.opened, h.closed)
	}
}

func TestSetupKernelErrors(t *testing.T) {
	h := newHarness(t)
	h.fw.FailNext("Setup", errTest("apply table inet ftwall (the batch is atomic: nothing was changed): no such file or directory"))
	if code := h.run("setup", "--lan", "lan0"); code != ExitRuntime {
		t.Errorf("exit %d", code)
	}
	checkOneLine(t, h.stderr.String(), "ftwall: apply table inet ftwall: apply table inet ftwall (the batch is atomic")
	if h.closed != 1 {
		t.Errorf("firewall not closed after an error: %d", h.closed)
	}
	h.run("setup", "--lan", "lan0", "--backend", "native")
	checkOneLine(t, h.stderr.String(), "no native nftables queue expression")
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestTeardown(t *testing.T) {
	h := newHarness(t)
	if out := h.mustRun("teardown"); out != "table inet ftwall is not present; nothing to do\n" {
		t.Errorf("teardown of nothing: %q", out)
	}
	h.mustRun("setup", "--lan", "lan0")
	if out := h.mustRun("teardown"); out != "removed table inet ftwall\n" {
		t.Errorf("teardown: %q", out)
	}
	if out := h.mustRun("teardown"); out != "table inet ftwall is not present; nothing to do\n" {
		t.Errorf("second teardown: %q", out)
	}
	// A broken configuration file does not stand in the way of teardown.
	h.mustRun("--config", writeFile(t, "bad.yaml", "lan: [\n"), "teardown")
}

// statusFixture builds a table in the fake with a fixed clock: elements
// with known remaining lifetimes and counters.
func statusFixture(t *testing.T, h *harness) {
	t.Helper()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	h.fw.SetClock(func() time.Time { return now })
	h.mustRun("setup", "--lan", "lan0,lan1", "--wan", "wan0", "--allow", "192.0.2.0/24,203.0.113.9,2001:db8:ffff::/48", "--timelock", "2m")
	// lan1 went away since; a reader is bound to queue 0.
	h.ifaces = []string{"lo", "lan0", "wan0"}
	h.bound = map[uint16]uint32{0: 4242}
	ctx := context.Background()
	add := func(set string, els ...nft.Element) {
		if err := h.fw.AddElements(ctx, set, els); err != nil {
			t.Fatal(err)
		}
	}
	ip := netip.MustParseAddr
	add(nft.SetPeers4, nft.Element{Addr: ip("198.51.100.7")}, nft.Element{Addr: ip("198.51.100.20"), Timeout: 90 * time.Minute}, nft.Element{Addr: ip("198.51.100.3")})
	add(nft.SetPeers6, nft.Element{Addr: ip("2001:db8:100::1")})
	add(nft.SetLocked4, nft.Element{Addr: ip("10.0.1.2")})
	now = now.Add(1500 * time.Millisecond)
	add(nft.SetLocked4, nft.Element{Addr: ip("10.0.2.2")})
	now = now.Add(30 * time.Second)
	h.fw.SetCounter(nft.RuleToPeers4, nft.CounterValue{Packets: 120, Bytes: 7200})
	h.fw.SetCounter(nft.RuleToPeers6, nft.CounterValue{Packets: 3, Bytes: 240})
	h.fw.SetCounter(nft.RuleFromPeers4, nft.CounterValue{Packets: 9, Bytes: 540})
	h.fw.SetCounter(nft.RuleLock4, nft.CounterValue{Packets: 17, Bytes: 1020})
	h.fw.SetCounter(nft.QueueRuleID(fasttrack.Protocol, "ping"), nft.CounterValue{Packets: 4000, Bytes: 192000})
	h.fw.SetCounter(nft.QueueRuleID(fasttrack.Protocol, "http"), nft.CounterValue{Packets: 12, Bytes: 5000})
}

// golden compares got with testdata/name; UPDATE_GOLDEN=1 rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestStatusGolden(t *testing.T) {
	h := newHarness(t)
	statusFixture(t, h)
	golden(t, "status.txt", h.mustRun("status", "--sample", "2"))
	golden(t, "status.json", h.mustRun("status", "--json", "--sample", "2"))
	golden(t, "status-nosample.txt", h.mustRun("status", "--sample", "0"))

	h.mustRun("teardown")
	// An absent table: the report, exit status 3, no error line.
	for _, c := range []struct{ file, json string }{{"status-absent.txt", ""}, {"status-absent.json", "--json"}} {
		args := []string{"status"}
		if c.json != "" {
			args = append(args, c.json)
		}
		if code := h.run(args...); code != ExitAbsent || h.stderr.Len() != 0 {
			t.Errorf("ftwall %v with the table absent: exit %d, stderr %q; want %d and nothing", args, code, h.stderr.String(), ExitAbsent)
		}
		golden(t, c.file, h.stdout.String())
	}
}

func TestStatusJSONStable(t *testing.T) {
	h := newHarness(t)
	statusFixture(t, h)
	h.mustRun("status", "--json")
	var rep statusReport
	decodeJSON(t, h.stdout.Bytes(), &rep)
	if !rep.Present || rep.Backend != "compat" || rep.Table != "inet ftwall" {
		t.Fatalf("report = %+v", rep)
	}
	counts := map[string]int{}
	for _, s := range rep.Sets {
		counts[s.Name] = s.Count
		if s.Name == nft.SetLocked4 {
			if s.TimeoutSeconds != 120 || len(s.Elements) != 2 || s.Elements[0].ExpiresSeconds != 88.5 || s.Elements[1].ExpiresSeconds != 90 {
				t.Errorf("locked4 = %+v", s)
			}
		}
	}
	want := map[string]int{"peers4": 3, "peers6": 1, "locked4": 2, "locked6": 0, "allow4": 2, "allow6": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("count of %s = %d, want %d", k, counts[k], v)
		}
	}
	if rep.Counters.DroppedToPeers.Packets != 123 || rep.Counters.Queued.Packets != 4012 || rep.Counters.LockRejects.Packets != 17 {
		t.Errorf("counters = %+v", rep.Counters)
	}
	// Default sample is 10: every peer element is listed.
	for _, s := range rep.Sets {
		if s.Name == nft.SetPeers4 && len(s.Elements) != 3 {
			t.Errorf("peers4 sample = %d elements, want 3", len(s.Elements))
		}
	}
	if len(rep.Rules) == 0 {
		t.Error("no rule counters")
	}
	// FTWALL_SAMPLE and the file's sample apply too.
	t.Setenv("FTWALL_SAMPLE", "1")
	h.mustRun("status", "--json")
	decodeJSON(t, h.stdout.Bytes(), &rep)
	for _, s := range rep.Sets {
		if len(s.Elements) > 1 {
			t.Errorf("FTWALL_SAMPLE=1: %s has %d elements", s.Name, len(s.Elements))
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for sec, want := range map[float64]string{
		0: "-", 0.25: "250ms", 1: "1s", 59.4: "59s", 59.6: "1m", 120: "2m", 5400: "1h30m", 86400: "24h", 90061: "25h1m1s",
	} {
		if got := humanDuration(sec, "-"); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", sec, got, want)
		}
	}
}

// hasLine reports whether text has a line whose space-separated fields are
// those of want (tables align with a varying number of spaces).
func hasLine(text, want string) bool {
	w := strings.Join(strings.Fields(want), " ")
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Join(strings.Fields(l), " ") == w {
			return true
		}
	}
	return false
}
