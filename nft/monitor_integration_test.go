package nft

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestKernelCheckAndMonitor: in a namespace of its own, the monitor reports
// others' changes to table inet ftwall (a deleted rule, flush ruleset) and
// not element writes or other tables; Check sees each change, Setup repairs
// it and names the sets it created empty.
func TestKernelCheckAndMonitor(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	cfg := integrationConfig()
	if _, err := k.Check(ctx); err == nil {
		t.Fatal("Check before Setup succeeded")
	}
	if _, err := k.Setup(ctx, cfg, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if d, err := k.Check(ctx); err != nil || !d.InSync || !d.Present {
		t.Fatalf("Check after Setup = %+v, %v", d, err)
	}
	m, err := k.WatchRuleset()
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan Change, 1024)
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, func(c Change) {
			select {
			case changes <- c:
			default:
			}
		})
	}()
	drain := func() []Change {
		var out []Change
		deadline := time.After(300 * time.Millisecond)
		for {
			select {
			case c := <-changes:
				out = append(out, c)
			case <-deadline:
				return out
			}
		}
	}
	// Element writes and other tables are not reported.
	if err := k.AddElements(ctx, SetPeers4, []Element{{Addr: addr("198.51.100.1")}}); err != nil {
		t.Fatal(err)
	}
	ns.mustRun(t, "nft", "add table inet other; add chain inet other c; add set inet other s { type ipv4_addr; }")
	if got := drain(); len(got) != 0 {
		t.Fatalf("changes reported for elements and another table: %+v", got)
	}

	// A deleted rule.
	out := ns.mustRun(t, "nft", "-a", "list", "chain", "inet", TableName, ChainForward)
	h := regexp.MustCompile(`# handle (\d+)`).FindAllStringSubmatch(out, -1)
	if len(h) < 2 {
		t.Fatalf("no rule handles in:\n%s", out)
	}
	ns.mustRun(t, "nft", "delete", "rule", "inet", TableName, ChainForward, "handle", h[len(h)-1][1])
	got := drain()
	if len(got) == 0 || got[0].What != "delrule" || got[0].PortID == 0 {
		t.Fatalf("changes after nft delete rule: %+v", got)
	}
	d, err := k.Check(ctx)
	if err != nil || d.InSync || !d.Present || len(d.MissingSets) != 0 {
		t.Fatalf("Check after nft delete rule = %+v, %v", d, err)
	}
	res, err := k.Setup(ctx, cfg, SetupOptions{})
	if err != nil || !res.Changed || len(res.NewSets) != 0 {
		t.Fatalf("Setup after nft delete rule = %+v, %v", res, err)
	}
	if elems, _ := k.Elements(ctx, SetPeers4); len(elems) != 1 {
		t.Errorf("peers4 after the repair of a rule: %v", elems)
	}
	if own := drain(); len(own) == 0 {
		t.Error("ftwall's own Setup was not reported")
	}

	// flush ruleset.
	ns.mustRun(t, "nft", "flush", "ruleset")
	got = drain()
	i := slices.IndexFunc(got, func(c Change) bool { return c.What == "deltable" })
	if i < 0 {
		t.Fatalf("changes after nft flush ruleset: %+v", got)
	}
	d, err = k.Check(ctx)
	if err != nil || d.Present || d.InSync || !slices.Equal(d.MissingSets, writableSets()) || !strings.Contains(strings.Join(d.Reasons, ";"), "table absent") {
		t.Fatalf("Check after nft flush ruleset = %+v, %v", d, err)
	}
	res, err = k.Setup(ctx, cfg, SetupOptions{})
	if err != nil || !res.Created || !slices.Equal(res.NewSets, writableSets()) {
		t.Fatalf("Setup after nft flush ruleset = %+v, %v", res, err)
	}
	if d, err := k.Check(ctx); err != nil || !d.InSync {
		t.Fatalf("Check after the repair = %+v, %v", d, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}
