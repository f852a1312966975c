package nft

import (
	"bytes"
	"encoding/binary"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func goldenConfigs() map[string]struct {
	cfg Config
	be  Backend
} {
	return map[string]struct {
		cfg Config
		be  Backend
	}{
		"minimal-compat": {validConfig(), BackendCompat},
		"full-native": {Config{
			LAN: []string{"lan1", "lan0"}, WAN: []string{"wan0"},
			Allow: []netip.Prefix{
				netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("192.0.2.128/25"),
				netip.MustParsePrefix("192.0.2.0/25"), netip.MustParsePrefix("10.0.0.0/8"),
				netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("2001:db8::/32"),
				netip.MustParsePrefix("2001:db8:ffff::1/128"), netip.MustParsePrefix("ffff::/16"),
			},
			PeerTimeout: 0, TimeLock: time.Minute, LockAction: LockDrop,
			QueueNum: 5, Queues: 4, Backend: BackendNative, Queue: builtinQueue(),
		}, BackendNative},
		"fanout-compat-notimelock": {Config{
			LAN: []string{"br-lan"}, WAN: []string{"wan1", "ppp0"},
			Allow:       []netip.Prefix{netip.MustParsePrefix("0.0.0.0/1")},
			PeerTimeout: 90 * time.Minute, TimeLock: 0, QueueNum: 100, Queues: 2, Queue: builtinQueue(),
		}, BackendCompat},
		// ftwall run --dry-run: the queue rules alone.
		"observe-native": func() struct {
			cfg Config
			be  Backend
		} {
			c := validConfig()
			c.Observe = true
			return struct {
				cfg Config
				be  Backend
			}{c, BackendNative}
		}(),
	}
}

func TestRulesetGolden(t *testing.T) {
	for name, tc := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			rs, err := buildRuleset(tc.cfg, tc.be)
			if err != nil {
				t.Fatal(err)
			}
			got := rs.render(true)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./nft -run TestRulesetGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("ruleset differs from %s (rerun with -update after checking the change):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff lists the lines that differ, for readable failures.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}

func TestRulesetRuleOrder(t *testing.T) {
	cfg := validConfig()
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("2001:db8:10::/48")}
	rs, err := buildRuleset(cfg, BackendCompat)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(chain string) []string {
		var out []string
		for _, r := range rs.chain(chain).rules {
			out = append(out, r.id)
		}
		return out
	}
	// The forward chain inspects: allowlist, then every packet from a LAN
	// interface goes on in from_lan, which only queues candidates.
	wantFwd := []string{RuleFromLAN}
	if got := ids(ChainForward); !slices.Equal(got, wantFwd) {
		t.Errorf("forward rules %v, want %v", got, wantFwd)
	}
	// from_lan holds the stream-start rules, then every detector's forward
	// prefilters, in the detectors' order; input their probe-answer
	// prefilters.
	// from_lan sends each transport to its own chain.
	var wantTCP, wantUDP, wantIn []string
	for _, q := range cfg.Queue {
		switch {
		case q.Hook != inspect.HookForward:
			wantIn = append(wantIn, q.ID())
		case q.L4 == inspect.ProtoTCP:
			wantTCP = append(wantTCP, q.ID())
		default:
			wantUDP = append(wantUDP, q.ID())
		}
	}
	if wantTCP[0] != "queue-stream-more" || wantTCP[1] != "queue-stream-start" || wantUDP[0] != ruleFTPing || !slices.Contains(wantIn, ruleFTPong) {
		t.Fatalf("built-in prefilters %v %v %v", wantTCP, wantUDP, wantIn)
	}
	if got, want := ids(ChainFromLAN), []string{RuleLANTCP, RuleLANUDP}; !slices.Equal(got, want) {
		t.Errorf("from_lan rules %v, want %v", got, want)
	}
	if got := ids(ChainFromLANTCP); !slices.Equal(got, wantTCP) {
		t.Errorf("from_lan_tcp rules %v, want %v", got, wantTCP)
	}
	// The UDP chain first leaves for a first payload byte that no queue
	// rule takes.
	wantUDP = append([]string{RuleUDPOther}, wantUDP...)
	if got := ids(ChainFromLANUDP); !slices.Equal(got, wantUDP) {
		t.Errorf("from_lan_udp rules %v, want %v", got, wantUDP)
	}
	// In a chain of one transport no rule tests the transport again.
	for _, ch := range []string{ChainFromLANTCP, ChainFromLANUDP} {
		for _, r := range rs.chain(ch).rules {
			for _, e := range r.exprs {
				if m, ok := e.(*expr.Meta); ok && m.Key == expr.MetaKeyL4PROTO {
					t.Errorf("%s: rule %s tests the transport", ch, r.id)
				}
			}
		}
	}
	// The enforce chain, a base chain of its own after forward (an accept
	// there, by the inspector or by queue bypass, does not skip it):
	// LAN packets to enforce_lan, the rest meets the drops from blocked
	// peers.
	wantEnf := []string{RuleEnforceLAN, RuleFromPeers4, RuleFromPeers6}
	if got := ids(ChainEnforce); !slices.Equal(got, wantEnf) {
		t.Errorf("enforce rules %v, want %v", got, wantEnf)
	}
	fwdPrio, enfPrio := *rs.chain(ChainForward).chain.Priority, *rs.chain(ChainEnforce).chain.Priority
	if enfPrio <= fwdPrio {
		t.Errorf("enforce priority %d is not after forward's %d", enfPrio, fwdPrio)
	}
	// enforce_lan: the lock rules stand before the peer drops: a locked
	// client's new connection to a known peer is reset, like any other.
	if got, want := ids(ChainEnforceLAN), []string{RuleLock4, RuleLock6, RuleToPeers4, RuleToPeers6}; !slices.Equal(got, want) {
		t.Errorf("enforce_lan rules %v, want %v", got, want)
	}
	// A locked client's TCP to a known peer is refused like its new
	// connections (a reset ends a FastTrack session established before the
	// peer was known); its other packets refresh its lock.
	if got, want := ids(ChainPeerDrop4), []string{RulePeerReset4, RulePeerSeen4, RulePeerDrop4}; !slices.Equal(got, want) {
		t.Errorf("peer_drop4 rules %v, want %v", got, want)
	}
	if got, want := ids(ChainLockRefuse6), []string{RuleLockSeen6, RuleLockLimit6, RuleRefuse6}; !slices.Equal(got, want) {
		t.Errorf("lock_refuse6 rules %v, want %v", got, want)
	}
	in := ids(ChainInput)
	goTo := rs.chain(ChainForward).rules[0].exprs
	if v, ok := goTo[len(goTo)-1].(*expr.Verdict); !ok || v.Kind != expr.VerdictGoto || v.Chain != ChainFromLAN {
		t.Errorf("the from-lan rule ends with %#v, want goto %s", goTo[len(goTo)-1], ChainFromLAN)
	}
	// The allowlist is checked by the rules that act, after their own set
	// matched (no lookup per forwarded packet), and only for a family
	// with allowlisted prefixes.
	rs4, err2 := buildRuleset(Config{LAN: []string{"lan0"}, PeerTimeout: time.Hour, TimeLock: time.Minute, Queues: 1,
		Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}}, BackendCompat)
	if err2 != nil {
		t.Fatal(err2)
	}
	allowLookups := func(rs *ruleset, chain, id string) (n int) {
		for _, r := range rs.chain(chain).rules {
			if r.id != id {
				continue
			}
			for _, e := range r.exprs {
				if l, ok := e.(*expr.Lookup); ok && l.Invert && (l.SetName == SetAllow4 || l.SetName == SetAllow6) {
					n++
				}
			}
		}
		return n
	}
	for _, c := range []struct {
		chain, id string
		want      int
	}{
		{ChainEnforceLAN, RuleLock4, 2}, {ChainEnforceLAN, RuleLock6, 0},
		{ChainEnforceLAN, RuleToPeers4, 2}, {ChainEnforceLAN, RuleToPeers6, 0},
		{ChainEnforce, RuleFromPeers4, 2}, {ChainEnforce, RuleFromPeers6, 0},
	} {
		if got := allowLookups(rs4, c.chain, c.id); got != c.want {
			t.Errorf("IPv4-only allowlist: %s has %d allowlist checks, want %d", c.id, got, c.want)
		}
	}
	if got := allowLookups(rs, ChainEnforce, RuleFromPeers6); got != 2 {
		t.Errorf("%s has %d allowlist checks, want 2", RuleFromPeers6, got)
	}
	if !slices.Equal(in, wantIn) {
		t.Errorf("input rules %v", in)
	}
	c := rs.chain(ChainForward).chain
	if *c.Priority != -1 || *c.Hooknum != *rs.chain(ChainForward).chain.Hooknum {
		t.Errorf("forward chain priority %d", *c.Priority)
	}

	cfg = validConfig()
	cfg.TimeLock = 0
	rs, err = buildRuleset(cfg, BackendCompat)
	if err != nil {
		t.Fatal(err)
	}
	if rs.chain(ChainInput) != nil {
		t.Error("input chain present with the time-lock off")
	}
	if rs.chain(ChainLockRefuse4) != nil || rs.set(SetLockReset4) != nil {
		t.Error("lock refusal chain or reset meter present with the time-lock off")
	}
	for _, r := range rs.chain(ChainEnforceLAN).rules {
		if r.id == RuleLock4 || r.id == RuleLock6 {
			t.Errorf("rule %s present with the time-lock off", r.id)
		}
	}
}

// Every rule counts, and everything a rule matches on follows the family
// check for network header payloads.
func TestRulesetRuleShape(t *testing.T) {
	for name, tc := range goldenConfigs() {
		rs, err := buildRuleset(tc.cfg, tc.be)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rs.chains {
			for _, r := range c.rules {
				counters, nfproto := 0, false
				for _, e := range r.exprs {
					switch e := e.(type) {
					case *expr.Counter:
						counters++
					case *expr.Meta:
						if e.Key == expr.MetaKeyNFPROTO {
							nfproto = true
						}
					case *expr.Payload:
						if e.Base == expr.PayloadBaseNetworkHeader && !nfproto {
							t.Errorf("%s: rule %s loads the network header before meta nfproto", name, r.id)
						}
					}
				}
				if counters != 1 {
					t.Errorf("%s: rule %s has %d counters", name, r.id, counters)
				}
				if len(r.comment(rs.fingerprint).String()) > maxCommentLen {
					t.Errorf("%s: rule %s comment too long", name, r.id)
				}
			}
		}
	}
}

func TestQueueStatement(t *testing.T) {
	for _, tc := range []struct {
		num, total uint16
		flags      uint16
	}{{0, 1, nfqFlagBypass}, {7, 4, nfqFlagBypass | nfqFlagCPUFanout}, {65535, 1, nfqFlagBypass}} {
		tg, ok := queueExpr(BackendCompat, tc.num, tc.total).(*expr.Target)
		if !ok || tg.Name != "NFQUEUE" || tg.Rev != 3 {
			t.Fatalf("compat queue %#v", tg)
		}
		info := []byte(*tg.Info.(*xt.Unknown))
		want := binary.NativeEndian.AppendUint16(nil, tc.num)
		want = binary.NativeEndian.AppendUint16(want, tc.total)
		want = binary.NativeEndian.AppendUint16(want, tc.flags)
		want = append(want, 0, 0)
		if !bytes.Equal(info, want) {
			t.Errorf("NFQUEUE info %x, want %x", info, want)
		}
		q, ok := queueExpr(BackendNative, tc.num, tc.total).(*expr.Queue)
		if !ok || q.Num != tc.num || q.Total != tc.total || q.Flag&expr.QueueFlagBypass == 0 ||
			(q.Flag&expr.QueueFlagFanout != 0) != (tc.total > 1) {
			t.Errorf("native queue %#v", q)
		}
		for _, b := range []Backend{BackendNative, BackendCompat} {
			if got, ok := queueBackendOf(queueExpr(b, tc.num, tc.total)); !ok || got != b {
				t.Errorf("queueBackendOf(%s) = %v %v", b, got, ok)
			}
		}
	}
	if _, ok := queueBackendOf(&expr.Counter{}); ok {
		t.Error("a counter counts as a queue statement")
	}
}

func TestFingerprint(t *testing.T) {
	fp := func(c Config, be Backend) string {
		t.Helper()
		rs, err := buildRuleset(c, be)
		if err != nil {
			t.Fatal(err)
		}
		return rs.fingerprint
	}
	base := validConfig()
	base.LAN = []string{"lan0", "lan1"}
	base.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	ref := fp(base, BackendCompat)
	if fp(base, BackendCompat) != ref {
		t.Fatal("fingerprint is not deterministic")
	}

	same := base
	same.LAN = []string{"lan1", "lan0"}
	same.Allow = []netip.Prefix{netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("192.0.2.0/25"), netip.MustParsePrefix("192.0.2.128/25")}
	same.Backend = BackendCompat // the resolved backend matters, not the option
	if got := fp(same, BackendCompat); got != ref {
		t.Errorf("order of --lan / equivalent --allow changed the fingerprint %s -> %s", ref, got)
	}

	changes := map[string]func(*Config){
		"lan":          func(c *Config) { c.LAN = []string{"lan0"} },
		"wan":          func(c *Config) { c.WAN = []string{"wan0"} },
		"allow":        func(c *Config) { c.Allow = c.Allow[:1] },
		"peer timeout": func(c *Config) { c.PeerTimeout = time.Hour },
		"timelock":     func(c *Config) { c.TimeLock = time.Minute },
		"lock action":  func(c *Config) { c.LockAction = LockDrop },
		"queue":        func(c *Config) { c.QueueNum = 1 },
		"queues":       func(c *Config) { c.Queues = 2 },
	}
	for name, mod := range changes {
		c := base
		c.LAN, c.Allow = slices.Clone(base.LAN), slices.Clone(base.Allow)
		mod(&c)
		if fp(c, BackendCompat) == ref {
			t.Errorf("changing %s kept the fingerprint", name)
		}
	}
	if fp(base, BackendNative) == ref {
		t.Error("changing the backend kept the fingerprint")
	}
}

func TestBuildRulesetRejects(t *testing.T) {
	if _, err := buildRuleset(Config{}, BackendCompat); err == nil {
		t.Error("invalid config accepted")
	}
	if _, err := buildRuleset(validConfig(), BackendAuto); err == nil {
		t.Error("backend auto accepted for building")
	}
}
