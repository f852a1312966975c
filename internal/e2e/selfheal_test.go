package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// debianConf is an /etc/nftables.conf as Debian ships it: a flush of the
// whole ruleset, then the administrator's own table.
const debianConf = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
`

// TestSelfHealing: while `ftwall run --store` runs with peers saved in the
// storefile, peers learned since its last save and a client locked, others
// remove or change its table four ways (nft flush ruleset, nft delete
// table, a Debian-style nft -f reload, nft delete rule). After each, within
// 2 s the table is back with every peer and lock, a known peer is dropped
// again, the locked client's new TCP to the WAN is refused again, the
// repair is counted, and another table is left alone.
func TestSelfHealing(t *testing.T) {
	l := lab.NewT(t)
	echo, err := l.Internet.StartEchoTCP("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)

	// Saved before: peers seen ten minutes ago.
	path := filepath.Join(t.TempDir(), "peers")
	saved := append(append([]netip.Addr(nil), l.Peers4[10:15]...), l.Peers6[10:12]...)
	var b strings.Builder
	b.WriteString("# ftwall peers v1\n")
	seen := time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339)
	for _, a := range saved {
		fmt.Fprintf(&b, "%s %s udp-ping\n", ap(a, ftPort), seen)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	metrics := "127.0.0.1:9716"
	p := startRun(t, l, "--store", path, "--store-interval", "1h", "--peer-timeout", "1h", "--timelock", "5m", "--metrics-listen", metrics)

	// Learned now, after the last save.
	var nodes []netip.AddrPort
	learned := append(append([]netip.Addr(nil), l.Peers4[:3]...), l.Peers6[:2]...)
	for _, a := range learned {
		nodes = append(nodes, ap(a, ftPort))
	}
	runClient(t, l, ftsim.ClientOptions{Nodes: nodes, PingWait: 300 * time.Millisecond})
	peers := append(append([]netip.Addr(nil), saved...), learned...)
	locks := []netip.Addr{l.ClientIP4, l.ClientIP6}
	setOf := func(a netip.Addr, v4, v6 string) string {
		if a.Is4() {
			return v4
		}
		return v6
	}
	all := func() (missing []string) {
		for _, a := range peers {
			if !setHas(t, k, setOf(a, nft.SetPeers4, nft.SetPeers6), a) {
				missing = append(missing, "peer "+a.String())
			}
		}
		for _, a := range locks {
			if !setHas(t, k, setOf(a, nft.SetLocked4, nft.SetLocked6), a) {
				missing = append(missing, "lock "+a.String())
			}
		}
		return missing
	}
	present := func() bool {
		st, err := k.Status(t.Context(), 0)
		return err == nil && st.Present
	}
	waitFor(t, 5*time.Second, "peers learned and the client locked", func() bool { return len(all()) == 0 })
	if onDisk, _, err := store.Load(path); err != nil || len(onDisk) != len(saved) {
		t.Fatalf("storefile holds %d peers (%v), want the %d saved ones only: the learned ones are unsaved", len(onDisk), err, len(saved))
	}
	lockBefore, _ := elementOf(t, k, nft.SetLocked4, l.ClientIP4)
	if lockBefore.Comment == "" {
		t.Fatalf("lock element without a comment: %+v", lockBefore)
	}

	conf := filepath.Join(t.TempDir(), "nftables.conf")
	if err := os.WriteFile(conf, []byte(debianConf), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		do   func()
	}{
		{"nft flush ruleset", func() { nftCLI(t, l, "flush", "ruleset") }},
		{"nft delete table inet ftwall", func() { nftCLI(t, l, "delete", "table", "inet", nft.TableName) }},
		{"nft -f nftables.conf (flush ruleset, table inet filter)", func() { nftCLI(t, l, "-f", conf) }},
		{"nft delete rule (LAN to blocked IPv4 peer, drop)", func() {
			out := nftCLI(t, l, "-a", "list", "chain", "inet", nft.TableName, nft.ChainEnforceLAN)
			m := regexp.MustCompile(`comment "` + nft.RuleToPeers4 + `:[^"]*" # handle (\d+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no %s rule in:\n%s", nft.RuleToPeers4, out)
			}
			nftCLI(t, l, "delete", "rule", "inet", nft.TableName, nft.ChainEnforceLAN, "handle", m[1])
		}},
	}
	var report []string
	for i, c := range cases {
		c.do()
		t0 := time.Now()
		if !waitUntil(2*time.Second, func() bool { return present() && len(all()) == 0 }) {
			t.Fatalf("%s: 2 s later the table is present=%v and lacks %v", c.name, present(), all())
		}
		took := time.Since(t0)
		e, _ := elementOf(t, k, nft.SetLocked4, l.ClientIP4)
		if e.Comment != lockBefore.Comment || e.Expires > 5*time.Minute || e.Expires < 4*time.Minute {
			t.Errorf("%s: lock restored as %+v; want comment %q and its remaining time", c.name, e, lockBefore.Comment)
		}
		if e, _ := elementOf(t, k, nft.SetPeers4, saved[0]); e.Expires > 50*time.Minute+5*time.Second || e.Expires < 45*time.Minute {
			t.Errorf("%s: saved peer restored expiring in %v; want about 50m (seen 10m ago, 1h timeout)", c.name, e.Expires)
		}
		if e, _ := elementOf(t, k, nft.SetPeers4, learned[0]); e.Expires < 55*time.Minute {
			t.Errorf("%s: learned peer restored expiring in %v; want just under 1h", c.name, e.Expires)
		}
		// A known peer (saved) is dropped again, the internet reached.
		udpDropped(t, l.Client, l.Internet,
			flow{src: l.ClientIP4, dst: ap(saved[1], uint16(7000+2*i))},
			flow{src: l.ClientIP4, dst: ap(l.InternetIP4, uint16(7001+2*i))})
		// The locked client's new TCP towards the WAN is refused again.
		if res, conn := dialResult(l.Client, ap(l.InternetIP4, 9000)); res != "reset" {
			if conn != nil {
				conn.Close()
			}
			t.Errorf("%s: locked client → internet: %s; want reset", c.name, res)
		}
		if got := metricValue(t, l, metrics, "ftwall_table_repairs_total"); got != float64(i+1) {
			t.Errorf("%s: ftwall_table_repairs_total = %v, want %d", c.name, got, i+1)
		}
		if got := metricValue(t, l, metrics, "ftwall_table_present"); got != 1 {
			t.Errorf("%s: ftwall_table_present = %v, want 1", c.name, got)
		}
		report = append(report, fmt.Sprintf("%s: back with %d peers and %d locks after %v", c.name, len(peers), len(locks), took.Round(time.Millisecond)))
	}
	// The other table of the Debian reload is left alone.
	if out := nftCLI(t, l, "list", "table", "inet", "filter"); !strings.Contains(out, "chain forward") {
		t.Errorf("table inet filter changed:\n%s", out)
	}
	// No repair loop: the repairs' own writes repair nothing.
	time.Sleep(3 * time.Second)
	warns := regexp.MustCompile(`level=WARN msg="table inet ftwall was removed or changed by someone else[^\n]*`).FindAllString(p.out.String(), -1)
	if len(warns) != len(cases) {
		t.Errorf("%d repair warnings, want %d:\n%s", len(warns), len(cases), strings.Join(warns, "\n"))
	}
	if got := metricValue(t, l, metrics, "ftwall_table_repairs_total"); got != float64(len(cases)) {
		t.Errorf("ftwall_table_repairs_total = %v after 3 quiet seconds, want %d", got, len(cases))
	}
	for _, r := range report {
		t.Log(r)
	}
	for _, w := range warns {
		t.Log(w)
	}

	// A clean stop with --teardown-on-exit is not repaired.
	p.stop(t)
	p2 := startRun(t, l, "--store", path, "--teardown-on-exit")
	p2.stop(t)
	time.Sleep(1500 * time.Millisecond)
	if present() {
		t.Error("table present after a --teardown-on-exit stop")
	}
	if strings.Contains(p2.out.String(), "removed or changed by someone else") {
		t.Errorf("the service repaired its own teardown:\n%s", p2.out.String())
	}
}
