package nft

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func integrationConfig() Config {
	return Config{
		LAN:         []string{"lan0", "lan1"},
		PeerTimeout: 24 * time.Hour,
		TimeLock:    120 * time.Second,
		Queues:      1,
		Allow:       []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:ffff::/48")},
		Queue:       builtinQueue(),
	}
}

// v4s returns n addresses counting up from base (IPv4 or IPv6).
func v4s(base string, n int) []netip.Addr {
	a := netip.MustParseAddr(base)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = a
		a = a.Next()
	}
	return out
}

func elemsOf(addrs []netip.Addr, timeout time.Duration) []Element {
	out := make([]Element, len(addrs))
	for i, a := range addrs {
		out[i] = Element{Addr: a, Timeout: timeout}
	}
	return out
}

func mustSetup(t *testing.T, k *Kernel, cfg Config, opts SetupOptions) SetupResult {
	t.Helper()
	res, err := k.Setup(testCtx(t), cfg, opts)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return res
}

func mustElements(t *testing.T, k *Kernel, set string) []Element {
	t.Helper()
	els, err := k.Elements(testCtx(t), set)
	if err != nil {
		t.Fatalf("Elements(%s): %v", set, err)
	}
	slices.SortFunc(els, func(a, b Element) int { return a.Addr.Compare(b.Addr) })
	return els
}

func addrsOf(els []Element) []netip.Addr {
	out := make([]netip.Addr, len(els))
	for i, e := range els {
		out[i] = e.Addr
	}
	return out
}

// ruleComments returns the comments of the table's rules, chain by chain.
func ruleComments(t *testing.T, k *Kernel) []string {
	t.Helper()
	st, err := k.Status(testCtx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range st.Counters {
		out = append(out, c.Chain+" "+c.Comment)
	}
	return out
}

// wantComments is ruleComments for the ruleset of cfg.
func wantComments(t *testing.T, cfg Config, be Backend) []string {
	t.Helper()
	rs, err := buildRuleset(cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range rs.chains {
		for _, r := range c.rules {
			out = append(out, c.chain.Name+" "+r.comment(rs.fingerprint).String())
		}
	}
	return out
}

func TestIntegrationSetupCreatesTable(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	cfg := integrationConfig()
	res := mustSetup(t, k, cfg, SetupOptions{})
	if !res.Created || !res.Changed || res.Backend == BackendAuto {
		t.Fatalf("Setup = %+v", res)
	}
	out := ns.mustRun(t, "nft", "list", "set", "inet", "ftwall", "peers4")
	for _, want := range []string{"set peers4", "type ipv4_addr", "timeout 1d"} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list set inet ftwall peers4 lacks %q:\n%s", want, out)
		}
	}
	out = ns.mustRun(t, "nft", "list", "set", "inet", "ftwall", "lan_ifs")
	if !strings.Contains(out, `"lan0"`) || !strings.Contains(out, `"lan1"`) {
		t.Errorf("lan_ifs does not show the interface names:\n%s", out)
	}
	out = ns.mustRun(t, "nft", "list", "table", "inet", "ftwall")
	for _, want := range []string{
		"hook forward priority filter - 1; policy accept;",
		"hook input priority filter - 1; policy accept;",
		"@th,64,32 0x27000000 @th,104,8 0x80",
		"@ih,0,32",
		"tcp flags syn / fin,syn,rst,ack",
		"reject with tcp reset",
		"elements = { 192.0.2.0/24 }",
		`comment "peer-drop4: LAN to blocked IPv4 peer, drop [ftwall `,
		"hook forward priority filter; policy accept;",
		"update @locked4 { ip saddr }",
		"update @lock_rst4 { ip saddr limit rate over 900/second burst 100 packets }",
		"ct packets <= 6",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list table lacks %q", want)
		}
	}
	if got, want := ruleComments(t, k), wantComments(t, cfg, res.Backend); !reflect.DeepEqual(got, want) {
		t.Errorf("rules in the kernel:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if els := mustElements(t, k, SetAllow6); len(els) != 1 || els[0].Addr != netip.MustParseAddr("2001:db8:ffff::") {
		t.Errorf("allow6 = %v", els)
	}
}

func TestIntegrationSetupKeepsElements(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	cfg := integrationConfig()
	res := mustSetup(t, k, cfg, SetupOptions{})
	be := res.Backend

	fill := map[string][]Element{
		SetPeers4:  append(elemsOf(v4s("198.51.100.1", 10), 0), Element{Addr: netip.MustParseAddr("203.0.113.9"), Timeout: time.Hour}),
		SetPeers6:  elemsOf(v4s("2001:db8:100::1", 5), 0),
		SetLocked4: elemsOf(v4s("10.0.1.2", 3), 0),
		SetLocked6: elemsOf(v4s("fd00:1::2", 2), 10*time.Minute),
	}
	for set, els := range fill {
		if err := k.AddElements(ctx, set, els); err != nil {
			t.Fatalf("AddElements(%s): %v", set, err)
		}
	}
	before := map[string][]Element{}
	for set := range fill {
		before[set] = mustElements(t, k, set)
		if len(before[set]) != len(fill[set]) {
			t.Fatalf("set %s has %d elements, want %d", set, len(before[set]), len(fill[set]))
		}
	}
	// Elements with the default timeout report Timeout 0, others their own.
	for _, e := range before[SetPeers4] {
		want := time.Duration(0)
		if e.Addr == netip.MustParseAddr("203.0.113.9") {
			want = time.Hour
		}
		if e.Timeout != want || e.Expires <= 0 || e.Expires > 24*time.Hour {
			t.Errorf("peers4 element %+v", e)
		}
	}
	checkKept := func(stage string) {
		t.Helper()
		for set := range fill {
			got := mustElements(t, k, set)
			if !reflect.DeepEqual(addrsOf(got), addrsOf(before[set])) {
				t.Errorf("%s: set %s has %v, want %v", stage, set, addrsOf(got), addrsOf(before[set]))
				continue
			}
			for i, e := range got {
				if e.Expires > before[set][i].Expires || e.Expires <= 0 {
					t.Errorf("%s: set %s element %v expires in %v, before in %v", stage, set, e.Addr, e.Expires, before[set][i].Expires)
				}
			}
		}
	}

	// Same options: nothing changes.
	if res := mustSetup(t, k, cfg, SetupOptions{}); res.Changed || res.Created {
		t.Errorf("same options again: %+v", res)
	}
	checkKept("same options")
	if got, want := ruleComments(t, k), wantComments(t, cfg, be); !reflect.DeepEqual(got, want) {
		t.Errorf("rules changed by a no-op Setup")
	}

	// Changed options that keep the set definitions: chains replaced, elements kept.
	changed := cfg
	changed.LAN = []string{"lan0"}
	changed.WAN = []string{"wan0", "ppp0"}
	changed.Allow = []netip.Prefix{netip.MustParsePrefix("198.51.100.200/32")}
	changed.LockAction = LockDrop
	changed.QueueNum, changed.Queues = 3, 2
	if res := mustSetup(t, k, changed, SetupOptions{}); !res.Changed || res.Created {
		t.Errorf("changed options: %+v", res)
	}
	checkKept("changed options")
	if got, want := ruleComments(t, k), wantComments(t, changed, be); !reflect.DeepEqual(got, want) {
		t.Errorf("rules after change:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if els := mustElements(t, k, SetAllow4); len(els) != 1 || els[0].Addr != netip.MustParseAddr("198.51.100.200") {
		t.Errorf("allow4 after change = %v", els)
	}
	if els := mustElements(t, k, SetAllow6); len(els) != 0 {
		t.Errorf("allow6 after change = %v", els)
	}
	out := ns.mustRun(t, "nft", "list", "set", "inet", "ftwall", "wan_ifs")
	if !strings.Contains(out, `"wan0"`) || !strings.Contains(out, `"ppp0"`) {
		t.Errorf("wan_ifs:\n%s", out)
	}

	// New default timeouts. peers4/6 go from one nonzero timeout to another:
	// the kernel updates them in place (same set handle, elements never
	// leave the set). locked4/6 go to 0 (never expire): they are recreated
	// and refilled in the same batch, elements keeping their remaining
	// lifetime.
	retimed := changed
	retimed.PeerTimeout = 48 * time.Hour
	retimed.TimeLock = 0 // time-lock off: no lock rules, no input chain
	handles := map[string]uint64{SetPeers4: setHandle(t, k, SetPeers4), SetLocked4: setHandle(t, k, SetLocked4)}
	if res := mustSetup(t, k, retimed, SetupOptions{}); !res.Changed {
		t.Errorf("new timeouts: %+v", res)
	}
	if h := setHandle(t, k, SetPeers4); h != handles[SetPeers4] {
		t.Errorf("peers4 was recreated (handle %d → %d), not updated in place", handles[SetPeers4], h)
	}
	if h := setHandle(t, k, SetLocked4); h == handles[SetLocked4] {
		t.Errorf("locked4 kept its handle %d although its timeout went to 0", h)
	}
	checkKept("new timeouts")
	st, err := k.Status(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sets {
		want := map[string]time.Duration{SetPeers4: 48 * time.Hour, SetPeers6: 48 * time.Hour, SetPardon4: DefaultPardon, SetPardon6: DefaultPardon}[s.Name]
		if s.Timeout != want {
			t.Errorf("set %s default timeout %v, want %v", s.Name, s.Timeout, want)
		}
	}
	if got, want := ruleComments(t, k), wantComments(t, retimed, be); !reflect.DeepEqual(got, want) {
		t.Errorf("rules with the time-lock off:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out, err := ns.run(t, "nft", "list", "chain", "inet", "ftwall", "input"); err == nil {
		t.Errorf("input chain still there with the time-lock off:\n%s", out)
	}

	// And back: the input chain returns, elements stay.
	if res := mustSetup(t, k, cfg, SetupOptions{}); !res.Changed {
		t.Errorf("back to the first options: %+v", res)
	}
	checkKept("back")
	if got, want := ruleComments(t, k), wantComments(t, cfg, be); !reflect.DeepEqual(got, want) {
		t.Errorf("rules after going back differ")
	}
}

// TestIntegrationRetimeFallback makes Setup believe the kernel ignored an
// in-place timeout update (as kernels without set updates do): it must
// recreate the sets in a second batch and keep their elements.
func TestIntegrationRetimeFallback(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	cfg := integrationConfig()
	mustSetup(t, k, cfg, SetupOptions{})
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.1", 3), 0)); err != nil {
		t.Fatal(err)
	}
	h := setHandle(t, k, SetPeers4)
	k.ignoreRetime = true
	cfg.PeerTimeout += time.Hour
	if res := mustSetup(t, k, cfg, SetupOptions{}); !res.Changed {
		t.Errorf("Setup: %+v", res)
	}
	if !k.noSetRetime {
		t.Error("the fallback was not remembered")
	}
	if setHandle(t, k, SetPeers4) == h {
		t.Error("peers4 was not recreated by the fallback")
	}
	if els := mustElements(t, k, SetPeers4); len(els) != 3 {
		t.Errorf("peers4 after the fallback: %+v", els)
	}
	st, err := k.Status(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sets {
		if s.Name == SetPeers4 && s.Timeout != cfg.PeerTimeout {
			t.Errorf("peers4 default timeout %v, want %v", s.Timeout, cfg.PeerTimeout)
		}
	}
}

// setHandle returns the kernel's handle of a set of the table.
func setHandle(t *testing.T, k *Kernel, name string) uint64 {
	t.Helper()
	infos, err := k.readSetInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	si, ok := infos[name]
	if !ok || si.handle == 0 {
		t.Fatalf("set %s: %+v", name, si)
	}
	return si.handle
}

func TestIntegrationReset(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	cfg := integrationConfig()
	mustSetup(t, k, cfg, SetupOptions{})
	for _, set := range []string{SetPeers4, SetLocked4} {
		if err := k.AddElements(ctx, set, elemsOf(v4s("198.51.100.1", 4), 0)); err != nil {
			t.Fatal(err)
		}
	}
	for _, set := range []string{SetPeers6, SetLocked6} {
		if err := k.AddElements(ctx, set, elemsOf(v4s("2001:db8::1", 4), 0)); err != nil {
			t.Fatal(err)
		}
	}
	res := mustSetup(t, k, cfg, SetupOptions{Reset: true})
	if !res.Changed || res.Created {
		t.Errorf("reset: %+v", res)
	}
	for _, set := range []string{SetPeers4, SetPeers6, SetLocked4, SetLocked6} {
		if els := mustElements(t, k, set); len(els) != 0 {
			t.Errorf("set %s after reset: %v", set, els)
		}
	}
	if els := mustElements(t, k, SetAllow4); len(els) != 1 {
		t.Errorf("allow4 after reset: %v", els)
	}
	// Reset together with changed options.
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.1", 4), 0)); err != nil {
		t.Fatal(err)
	}
	cfg.PeerTimeout = time.Hour
	if res := mustSetup(t, k, cfg, SetupOptions{Reset: true}); !res.Changed {
		t.Errorf("reset with new options: %+v", res)
	}
	if els := mustElements(t, k, SetPeers4); len(els) != 0 {
		t.Errorf("peers4 after reset with new options: %v", els)
	}
}

func TestIntegrationTeardownTouchesNothingElse(t *testing.T) {
	ns := newNetNS(t)
	// Another program's table, in the same family and in another one.
	for _, cmd := range [][]string{
		{"nft", "add", "table", "inet", "other"},
		{"nft", "add", "chain", "inet", "other", "c1", "{ type filter hook forward priority 0; policy accept; }"},
		{"nft", "add", "set", "inet", "other", "s", "{ type ipv4_addr; }"},
		{"nft", "add", "element", "inet", "other", "s", "{ 192.0.2.1 }"},
		{"nft", "add", "rule", "inet", "other", "c1", "ip saddr @s counter drop"},
		{"nft", "add", "table", "ip", "ftwall"}, // same name, other family
	} {
		ns.mustRun(t, cmd...)
	}
	snapshot := func() string {
		return ns.mustRun(t, "nft", "list", "table", "inet", "other") + ns.mustRun(t, "nft", "list", "table", "ip", "ftwall")
	}
	orig := snapshot()

	k := ns.open(t)
	ctx := testCtx(t)
	mustSetup(t, k, integrationConfig(), SetupOptions{})
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.1", 3), 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Status(ctx, 5); err != nil {
		t.Fatal(err)
	}
	changed := integrationConfig()
	changed.PeerTimeout = time.Hour
	mustSetup(t, k, changed, SetupOptions{})
	if got := snapshot(); got != orig {
		t.Errorf("setup/status changed other tables:\nbefore:\n%s\nafter:\n%s", orig, got)
	}
	removed, err := k.Teardown(ctx)
	if err != nil || !removed {
		t.Fatalf("Teardown = %v, %v", removed, err)
	}
	if out := ns.mustRun(t, "nft", "list", "tables"); strings.Contains(out, "inet ftwall") || !strings.Contains(out, "inet other") || !strings.Contains(out, "ip ftwall") {
		t.Errorf("tables after teardown:\n%s", out)
	}
	if got := snapshot(); got != orig {
		t.Errorf("teardown changed other tables:\nbefore:\n%s\nafter:\n%s", orig, got)
	}
	removed, err = k.Teardown(ctx)
	if err != nil || removed {
		t.Errorf("second Teardown = %v, %v", removed, err)
	}
	st, err := k.Status(ctx, 5)
	if err != nil || st.Present || len(st.Sets) != 0 {
		t.Errorf("Status without table = %+v, %v", st, err)
	}
	if _, err := k.Elements(ctx, SetPeers4); !errors.Is(err, ErrNoTable) {
		t.Errorf("Elements without table: %v", err)
	}
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.1", 1), 0)); !errors.Is(err, ErrNoTable) {
		t.Errorf("AddElements without table: %v", err)
	}
	if err := k.DeleteElements(ctx, SetPeers4, v4s("198.51.100.1", 1)); !errors.Is(err, ErrNoTable) {
		t.Errorf("DeleteElements without table: %v", err)
	}
	// Writes work again once the table is back (no stale socket state).
	mustSetup(t, k, integrationConfig(), SetupOptions{})
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.1", 2), 0)); err != nil {
		t.Fatalf("AddElements after a failed one: %v", err)
	}
	if els := mustElements(t, k, SetPeers4); len(els) != 2 {
		t.Errorf("peers4 = %v", els)
	}
}

func TestIntegrationProbe(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	probed, err := k.ProbeBackend(ctx)
	if err != nil {
		t.Fatalf("ProbeBackend: %v", err)
	}
	t.Logf("probed queue backend: %s", probed)
	if probed != BackendNative && probed != BackendCompat {
		t.Fatalf("ProbeBackend = %v", probed)
	}
	if out := ns.mustRun(t, "nft", "list", "tables"); strings.TrimSpace(out) != "" {
		t.Errorf("the probe left tables behind:\n%s", out)
	}
	for _, be := range []Backend{BackendCompat, BackendNative} {
		t.Run(be.String(), func(t *testing.T) {
			if be == BackendNative && probed != BackendNative {
				t.Skipf("native backend not tested: this kernel lacks the nftables queue expression (CONFIG_NFT_QUEUE / module nft_queue), the probe chose %s", probed)
			}
			cfg := integrationConfig()
			cfg.Backend = be
			cfg.Queues, cfg.QueueNum = 2, 7
			res := mustSetup(t, k, cfg, SetupOptions{})
			if res.Backend != be {
				t.Errorf("Setup backend %s, want %s", res.Backend, be)
			}
			st, err := k.Status(ctx, 0)
			if err != nil || st.Backend != be {
				t.Errorf("Status backend %v (%v), want %s", st.Backend, err, be)
			}
			if err == nil && (st.QueueNum != 7 || st.Queues != 2) {
				t.Errorf("Status queues %d+%d, want 7+2", st.QueueNum, st.Queues)
			}
		})
	}
	cfg := integrationConfig()
	if res := mustSetup(t, k, cfg, SetupOptions{}); res.Backend != probed {
		t.Errorf("auto chose %s, the probe %s", res.Backend, probed)
	}
}

func TestIntegrationStatus(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	cfg := integrationConfig()
	res := mustSetup(t, k, cfg, SetupOptions{})
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.1", 50), 0)); err != nil {
		t.Fatal(err)
	}
	if err := k.AddElements(ctx, SetPeers6, elemsOf(v4s("2001:db8:100::1", 20), time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := k.AddElements(ctx, SetLocked4, elemsOf(v4s("10.0.1.2", 3), 0)); err != nil {
		t.Fatal(err)
	}
	st, err := k.Status(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Present || st.Backend != res.Backend {
		t.Errorf("status present %v backend %v", st.Present, st.Backend)
	}
	if !slices.Equal(st.Interfaces.LAN, sortedCopy(cfg.LAN)) || !slices.Equal(st.Interfaces.WAN, sortedCopy(cfg.WAN)) {
		t.Errorf("status interfaces %+v, want LAN %v WAN %v", st.Interfaces, cfg.LAN, cfg.WAN)
	}
	if st.QueueNum != cfg.QueueNum || st.Queues != max(cfg.Queues, 1) {
		t.Errorf("status queues %d+%d, want %d+%d", st.QueueNum, st.Queues, cfg.QueueNum, cfg.Queues)
	}
	want := map[string]struct {
		count, sample int
		timeout       time.Duration
	}{
		SetPeers4: {50, 10, 24 * time.Hour}, SetPeers6: {20, 10, 24 * time.Hour},
		SetLocked4: {3, 3, 2 * time.Minute}, SetLocked6: {0, 0, 2 * time.Minute},
		SetPardon4: {0, 0, DefaultPardon}, SetPardon6: {0, 0, DefaultPardon},
		SetAllow4: {1, 1, 0}, SetAllow6: {1, 1, 0},
	}
	if len(st.Sets) != len(want) {
		t.Errorf("%d sets", len(st.Sets))
	}
	for _, s := range st.Sets {
		w := want[s.Name]
		if s.Count != w.count || len(s.Sample) != w.sample || s.Timeout != w.timeout {
			t.Errorf("set %s: count %d sample %d timeout %v, want %+v", s.Name, s.Count, len(s.Sample), s.Timeout, w)
		}
		if !slices.IsSortedFunc(s.Sample, func(a, b Element) int { return a.Addr.Compare(b.Addr) }) {
			t.Errorf("set %s sample not sorted", s.Name)
		}
		for _, e := range s.Sample {
			limit := s.Timeout
			if e.Timeout != 0 {
				limit = e.Timeout
			}
			if s.Timeout != 0 && (e.Expires <= 0 || e.Expires > limit) {
				t.Errorf("set %s element %v expires in %v (timeout %v)", s.Name, e.Addr, e.Expires, limit)
			}
		}
	}
	// Without the kernel's element count, Status counts by reading the sets.
	k.ignoreSetCount = true
	counted, err := k.Status(ctx, 10)
	k.ignoreSetCount = false
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(setCounts(counted), setCounts(st)) {
		t.Errorf("counted %v, kernel counts %v", setCounts(counted), setCounts(st))
	}
	var rules []string
	for _, c := range st.Counters {
		rules = append(rules, c.Rule)
	}
	var wantRules []string
	for _, c := range wantComments(t, cfg, st.Backend) {
		wantRules = append(wantRules, strings.SplitN(strings.Fields(c)[1], ":", 2)[0])
	}
	if !reflect.DeepEqual(rules, wantRules) {
		t.Errorf("counters of rules %v, want %v", rules, wantRules)
	}
	if st.Queued != (CounterValue{}) || st.DroppedToPeers != (CounterValue{}) {
		t.Errorf("counters without traffic: %+v %+v", st.Queued, st.DroppedToPeers)
	}
}

func setCounts(st *Status) map[string]int {
	out := map[string]int{}
	for _, s := range st.Sets {
		out[s.Name] = s.Count
	}
	return out
}

// Status must stay fast and small with a million elements: it reads the
// kernel's element count and only the sample.
func TestIntegrationStatusMillion(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	mustSetup(t, k, integrationConfig(), SetupOptions{})
	infos, err := k.readSetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 1_000_000
	if !infos[SetPeers4].hasCount {
		n = 100_000
		t.Logf("this kernel does not report set element counts (NFTA_SET_COUNT): Status counts by reading the set, so this test uses %d elements", n)
	}
	all := v4s("100.0.0.0", n)
	start := time.Now()
	for lo := 0; lo < n; lo += 100_000 {
		if err := k.AddElements(ctx, SetPeers4, elemsOf(all[lo:min(lo+100_000, n)], 0)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d elements added in batches of 100,000 in %v", n, time.Since(start))
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start = time.Now()
	st, err := k.Status(ctx, 20)
	took := time.Since(start)
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("Status with %d elements: %v, %d KiB allocated", n, took, alloc>>10)
	if st.Sets[0].Name != SetPeers4 || st.Sets[0].Count != n || len(st.Sets[0].Sample) != 20 {
		t.Errorf("peers4 status: count %d, sample %d", st.Sets[0].Count, len(st.Sets[0].Sample))
	}
	if alloc > 32<<20 {
		t.Errorf("Status allocated %d MiB for %d elements: not bounded", alloc>>20, n)
	}
}

func TestIntegrationRefreshRestartsCountdown(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	mustSetup(t, k, integrationConfig(), SetupOptions{})
	a := netip.MustParseAddr("10.0.1.2")
	e := []Element{{Addr: a, Timeout: 30 * time.Second}}
	if err := k.AddElements(ctx, SetLocked4, e); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	first := mustElements(t, k, SetLocked4)
	if err := k.AddElements(ctx, SetLocked4, e); err != nil {
		t.Fatal(err)
	}
	second := mustElements(t, k, SetLocked4)
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("elements %v / %v", first, second)
	}
	t.Logf("expires before refresh %v, after %v", first[0].Expires, second[0].Expires)
	if second[0].Expires <= first[0].Expires {
		t.Errorf("refresh did not restart the countdown: %v before, %v after", first[0].Expires, second[0].Expires)
	}
	if second[0].Timeout != 30*time.Second {
		t.Errorf("timeout %v", second[0].Timeout)
	}
	// A refresh may change an element's timeout.
	if err := k.AddElements(ctx, SetLocked4, []Element{{Addr: a, Timeout: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	if third := mustElements(t, k, SetLocked4); third[0].Timeout != time.Hour || third[0].Expires <= 30*time.Second {
		t.Errorf("after refresh with a new timeout: %+v", third[0])
	}
}

func TestIntegrationManyElementsOneBatch(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	mustSetup(t, k, integrationConfig(), SetupOptions{})
	v4 := v4s("198.18.0.1", 25_000)
	v6 := v4s("2001:db8:200::1", 6_000)
	start := time.Now()
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4, 0)); err != nil {
		t.Fatalf("AddElements 25,000 IPv4: %v", err)
	}
	t.Logf("25,000 IPv4 elements in one batch: %v", time.Since(start))
	start = time.Now()
	if err := k.AddElements(ctx, SetPeers6, elemsOf(v6, time.Hour)); err != nil {
		t.Fatalf("AddElements 6,000 IPv6: %v", err)
	}
	t.Logf("6,000 IPv6 elements in one batch: %v", time.Since(start))
	if got := mustElements(t, k, SetPeers4); !reflect.DeepEqual(addrsOf(got), v4) {
		t.Errorf("peers4 has %d elements, want %d", len(got), len(v4))
	}
	if got := mustElements(t, k, SetPeers6); !reflect.DeepEqual(addrsOf(got), v6) {
		t.Errorf("peers6 has %d elements, want %d", len(got), len(v6))
	}
	// Delete 3,000 present and 3,000 absent addresses at once.
	del := append(slices.Clone(v6[:3000]), v4s("2001:db8:300::1", 3000)...)
	if err := k.DeleteElements(ctx, SetPeers6, del); err != nil {
		t.Fatalf("DeleteElements: %v", err)
	}
	if got := mustElements(t, k, SetPeers6); !reflect.DeepEqual(addrsOf(got), v6[3000:]) {
		t.Errorf("peers6 after delete has %d elements, want %d", len(got), len(v6)-3000)
	}
	// Changing the default timeout where the kernel cannot update a set in
	// place (simulated) carries all of them over in one batch.
	cfg := integrationConfig()
	cfg.PeerTimeout = 12 * time.Hour
	k.ignoreRetime = true
	start = time.Now()
	mustSetup(t, k, cfg, SetupOptions{})
	t.Logf("setup recreating peers4/peers6 with %d elements (after an ignored in-place update): %v", len(v4)+len(v6)-3000, time.Since(start))
	got := mustElements(t, k, SetPeers4)
	if len(got) != len(v4) {
		t.Fatalf("peers4 after the timeout change has %d elements, want %d", len(got), len(v4))
	}
	for _, e := range got[:10] {
		if e.Expires <= 12*time.Hour || e.Expires > 24*time.Hour {
			t.Errorf("element %v expires in %v: not its remaining lifetime", e.Addr, e.Expires)
		}
	}
}

func TestIntegrationFailedBatchKeepsRuleset(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	cfg := integrationConfig()
	res := mustSetup(t, k, cfg, SetupOptions{})
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.1", 5), 0)); err != nil {
		t.Fatal(err)
	}
	listChains := func() string {
		return ns.mustRun(t, "nft", "list", "chain", "inet", "ftwall", "forward") + ns.mustRun(t, "nft", "list", "chain", "inet", "ftwall", "input")
	}
	chainsBefore, commentsBefore := listChains(), ruleComments(t, k)
	check := func(stage string) {
		t.Helper()
		if got := listChains(); got != chainsBefore {
			t.Errorf("%s: chains changed:\n%s\nwant:\n%s", stage, got, chainsBefore)
		}
		if got := ruleComments(t, k); !reflect.DeepEqual(got, commentsBefore) {
			t.Errorf("%s: rules changed", stage)
		}
		if els := mustElements(t, k, SetPeers4); len(els) != 5 {
			t.Errorf("%s: peers4 has %d elements", stage, len(els))
		}
		if els := mustElements(t, k, SetAllow4); len(els) != 1 {
			t.Errorf("%s: allow4 has %d elements", stage, len(els))
		}
	}

	// A change whose batch the kernel rejects at its very end: the NFQUEUE
	// target with a 4-byte info is refused (EINVAL).
	changed := cfg
	changed.PeerTimeout = time.Hour // recreates sets too
	changed.Allow = nil
	changed.LAN = []string{"eth9"}
	k.beforeFlush = func(c *nftables.Conn) {
		info := xt.Unknown([]byte{0, 0, 1, 0})
		c.AddRule(&nftables.Rule{Table: table(), Chain: &nftables.Chain{Name: ChainForward, Table: table()},
			Exprs: []expr.Any{&expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}}})
	}
	_, err := k.Setup(ctx, changed, SetupOptions{Reset: true})
	k.beforeFlush = nil
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("Setup with a broken batch: %v", err)
	}
	t.Logf("broken batch: %v", err)
	check("broken batch")

	// Forcing the native backend on a kernel without nft_queue fails the same way.
	if res.Backend == BackendCompat {
		changed.Backend = BackendNative
		_, err := k.Setup(ctx, changed, SetupOptions{})
		if err == nil || !strings.Contains(err.Error(), "nft_queue") {
			t.Fatalf("native Setup without nft_queue: %v", err)
		}
		t.Logf("native without nft_queue: %v", err)
		check("native without nft_queue")
	}
	if res := mustSetup(t, k, cfg, SetupOptions{}); res.Changed {
		t.Errorf("the original options are no longer in place: %+v", res)
	}
}

func TestIntegrationOpenAndClose(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if _, err := k.Setup(ctx, integrationConfig(), SetupOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Setup after Close: %v", err)
	}
	if _, err := k.Status(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Status after Close: %v", err)
	}
	if _, err := Open(WithNetNS(-1)); err == nil {
		t.Error("Open with a negative fd succeeded")
	}
	k2 := ns.open(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k2.Status(cancelled, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Status with a cancelled context: %v", err)
	}
	if _, err := k2.Setup(ctx, Config{}, SetupOptions{}); err == nil || !strings.Contains(err.Error(), "--lan") {
		t.Errorf("Setup with an invalid config: %v", err)
	}
	if err := k2.AddElements(ctx, SetAllow4, nil); err == nil {
		t.Error("AddElements to allow4 accepted")
	}
}

// The kernel keeps set timeouts in jiffies; an odd value must not make every
// Setup recreate the sets.
func TestIntegrationOddTimeoutIsStable(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	cfg := integrationConfig()
	cfg.TimeLock = 1001 * time.Millisecond
	cfg.PeerTimeout = 86_399_999 * time.Millisecond
	mustSetup(t, k, cfg, SetupOptions{})
	if res := mustSetup(t, k, cfg, SetupOptions{}); res.Changed {
		t.Errorf("odd timeouts: second Setup changed the table: %+v", res)
	}
}

// A table inet ftwall changed by hand (an extra rule, an extra chain, a chain
// on the wrong priority) is put right by Setup, keeping the elements.
func TestIntegrationSetupRepairsTamperedTable(t *testing.T) {
	ns := newNetNS(t)
	ns.mustRun(t, "nft", "add", "table", "inet", "ftwall")
	ns.mustRun(t, "nft", "add", "chain", "inet", "ftwall", "input", "{ type filter hook input priority 10; policy accept; }")
	ns.mustRun(t, "nft", "add", "set", "inet", "ftwall", "stale", "{ type ipv4_addr; }")
	k := ns.open(t)
	ctx := testCtx(t)
	cfg := integrationConfig()
	res := mustSetup(t, k, cfg, SetupOptions{})
	if res.Created || !res.Changed {
		t.Errorf("Setup over a hand-made table: %+v", res)
	}
	if out := ns.mustRun(t, "nft", "list", "chain", "inet", "ftwall", "input"); !strings.Contains(out, "priority filter - 1") {
		t.Errorf("input chain not replaced:\n%s", out)
	}
	if _, err := ns.run(t, "nft", "list", "set", "inet", "ftwall", "stale"); err == nil {
		t.Error("unknown set stale kept")
	}
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.1", 3), 0)); err != nil {
		t.Fatal(err)
	}
	ns.mustRun(t, "nft", "add", "rule", "inet", "ftwall", "forward", "counter", "accept")
	ns.mustRun(t, "nft", "add", "chain", "inet", "ftwall", "extra")
	if res := mustSetup(t, k, cfg, SetupOptions{}); !res.Changed {
		t.Errorf("Setup after tampering: %+v", res)
	}
	if got, want := ruleComments(t, k), wantComments(t, cfg, res.Backend); !reflect.DeepEqual(got, want) {
		t.Errorf("rules after repair:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := ns.run(t, "nft", "list", "chain", "inet", "ftwall", "extra"); err == nil {
		t.Error("unknown chain extra kept")
	}
	if els := mustElements(t, k, SetPeers4); len(els) != 3 {
		t.Errorf("peers4 after repair: %v", els)
	}
	if res := mustSetup(t, k, cfg, SetupOptions{}); res.Changed {
		t.Errorf("Setup after repair not idempotent: %+v", res)
	}
}

func TestIntegrationLoadElements(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	mustSetup(t, k, integrationConfig(), SetupOptions{})
	// One element is there already, with the same timeout: loading must not
	// restart its countdown (a plain add; the kernel updates an element's
	// timeout only when it differs).
	old := netip.MustParseAddr("10.1.0.1")
	if err := k.AddElements(ctx, SetPeers4, []Element{{Addr: old, Timeout: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	addrs := v4s("10.1.0.1", 3*loadBatch+17) // several batches, the first address included
	if err := k.LoadElements(ctx, SetPeers4, elemsOf(addrs, time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := mustElements(t, k, SetPeers4)
	if len(got) != len(addrs) {
		t.Fatalf("%d elements after loading %d", len(got), len(addrs))
	}
	for _, e := range got {
		switch {
		case e.Addr == old && e.Expires > time.Hour-time.Second:
			t.Errorf("loading restarted an existing element's countdown: %+v", e)
		case e.Addr != old && (e.Timeout != time.Hour || e.Expires < 59*time.Minute):
			t.Fatalf("loaded element %+v; want a 1h timeout", e)
		}
	}
	// The same address twice in one load (a storefile out of order with a
	// duplicate): the later, longer timeout is the one that stays.
	dup := netip.MustParseAddr("10.9.0.1")
	if err := k.LoadElements(ctx, SetPeers4, []Element{{Addr: dup, Timeout: time.Minute}, {Addr: dup, Timeout: 2 * time.Hour}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range mustElements(t, k, SetPeers4) {
		if e.Addr == dup && (e.Timeout != 2*time.Hour || e.Expires < time.Hour) {
			t.Errorf("duplicate in one load: %+v, want the later 2h timeout", e)
		}
	}
	if err := k.LoadElements(ctx, SetAllow4, elemsOf(addrs[:1], 0)); err == nil {
		t.Error("LoadElements into allow4 accepted")
	}
}

func TestIntegrationElementComment(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	mustSetup(t, k, integrationConfig(), SetupOptions{})
	a := netip.MustParseAddr("10.0.1.2")
	if err := k.AddElements(ctx, SetLocked4, []Element{{Addr: a, Comment: "port=3456 net=KaZaA"}}); err != nil {
		t.Fatal(err)
	}
	got := mustElements(t, k, SetLocked4)
	if len(got) != 1 || got[0].Comment != "port=3456 net=KaZaA" {
		t.Fatalf("elements %+v", got)
	}
	if out := ns.mustRun(t, "nft", "list", "set", "inet", "ftwall", SetLocked4); !strings.Contains(out, `comment "port=3456 net=KaZaA"`) {
		t.Errorf("nft does not show the element comment:\n%s", out)
	}
	// A refresh with another comment replaces it.
	if err := k.AddElements(ctx, SetLocked4, []Element{{Addr: a, Comment: "port=4000 net=fileshare"}}); err != nil {
		t.Fatal(err)
	}
	if got := mustElements(t, k, SetLocked4); got[0].Comment != "port=4000 net=fileshare" {
		t.Errorf("after refresh: %+v", got)
	}
	if err := k.AddElements(ctx, SetLocked4, []Element{{Addr: a, Comment: strings.Repeat("x", 300)}}); err == nil {
		t.Error("a 300-byte comment was accepted")
	}
}

// TestIntegrationPeerSetFull: with MaxPeers 3 the kernel takes three peers,
// refuses a fourth with ErrSetFull (the whole batch), and still refreshes
// the three it holds.
func TestIntegrationPeerSetFull(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	cfg := integrationConfig()
	cfg.MaxPeers = 3
	mustSetup(t, k, cfg, SetupOptions{})
	var three []Element
	for i := range 3 {
		three = append(three, Element{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})})
	}
	if err := k.AddElements(ctx, SetPeers4, three); err != nil {
		t.Fatal(err)
	}
	err := k.AddElements(ctx, SetPeers4, []Element{three[0], {Addr: netip.MustParseAddr("198.51.100.9")}})
	if !errors.Is(err, ErrSetFull) {
		t.Fatalf("a fourth peer: %v, want ErrSetFull", err)
	}
	if err := k.AddElements(ctx, SetPeers4, three); err != nil {
		t.Errorf("refreshing the peers of a full set: %v", err)
	}
	if n := len(mustElements(t, k, SetPeers4)); n != 3 {
		t.Errorf("%d elements", n)
	}
	if out := ns.mustRun(t, "nft", "list", "set", "inet", "ftwall", SetPeers4); !strings.Contains(out, "size 3") {
		t.Errorf("nft does not show the size:\n%s", out)
	}
}
