package nft

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/ftwall/ftwall/inspect"
)

// ruleset is the desired content of table inet ftwall for one Config and one
// queue backend, built with google/nftables types but not yet sent anywhere.
type ruleset struct {
	backend     Backend
	table       *nftables.Table
	sets        []*setSpec // named sets, in setNames order
	chains      []*chainSpec
	fingerprint string
	cfg         Config // what it was built from
}

// setSpec is a set with the elements the configuration gives it.
type setSpec struct {
	set *nftables.Set
	// dynamic sets (peers, locked) are filled at run time and keep their
	// elements across Setup; the others are refilled from the Config.
	dynamic bool
	elems   []nftables.SetElement
	ranges  []addrRange // the allow ranges behind elems, for rendering
}

type chainSpec struct {
	chain *nftables.Chain
	rules []*ruleSpec
}

// ruleSpec is one rule: anonymous sets it needs, its expressions and its
// comment.
type ruleSpec struct {
	id, desc string
	anon     []*setSpec
	exprs    []expr.Any
}

// comment returns the rule's comment for the ruleset's fingerprint.
func (r *ruleSpec) comment(fp string) ruleComment {
	return ruleComment{ID: r.id, Description: r.desc, Fingerprint: fp}
}

// set returns the named set spec.
func (rs *ruleset) set(name string) *setSpec {
	for _, s := range rs.sets {
		if s.set.Name == name {
			return s
		}
	}
	return nil
}

// chain returns the chain spec or nil.
func (rs *ruleset) chain(name string) *chainSpec {
	for _, c := range rs.chains {
		if c.chain.Name == name {
			return c
		}
	}
	return nil
}

// builder assigns set IDs, which only need to be unique within one batch.
// google/nftables would otherwise take them from a package-level counter
// that is not safe for concurrent use.
type builder struct {
	table  *nftables.Table
	nextID uint32
}

func (b *builder) id() uint32 {
	b.nextID++
	return b.nextID
}

// buildRuleset returns the ruleset for cfg with queue backend be (native or
// compat).
func buildRuleset(cfg Config, be Backend) (*ruleset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if be != BackendNative && be != BackendCompat {
		return nil, fmt.Errorf("queue backend must be native or compat to build a ruleset, not %s", be)
	}
	b := &builder{table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}}
	rs := &ruleset{backend: be, table: b.table, cfg: cfg}

	allow4, allow6 := splitAllow(cfg.Allow)
	peers4 := b.timeoutSet(SetPeers4, nftables.TypeIPAddr, cfg.PeerTimeout)
	peers6 := b.timeoutSet(SetPeers6, nftables.TypeIP6Addr, cfg.PeerTimeout)
	locked4 := b.timeoutSet(SetLocked4, nftables.TypeIPAddr, cfg.TimeLock)
	locked6 := b.timeoutSet(SetLocked6, nftables.TypeIP6Addr, cfg.TimeLock)
	pardon4 := b.timeoutSet(SetPardon4, nftables.TypeIPAddr, DefaultPardon)
	pardon6 := b.timeoutSet(SetPardon6, nftables.TypeIP6Addr, DefaultPardon)
	// Rules refresh the locks themselves (update @locked4): flag dynamic,
	// which needs a size.
	for _, l := range []*setSpec{locked4, locked6} {
		l.set.Dynamic, l.set.Size = true, LockSetSize
	}
	// Bounded peer sets: a LAN host cannot make the kernel hold more.
	for _, p := range []*setSpec{peers4, peers6} {
		p.set.Size = cfg.maxPeers()
	}
	allowSet4 := b.intervalSet(SetAllow4, nftables.TypeIPAddr, mergeRanges(allow4))
	allowSet6 := b.intervalSet(SetAllow6, nftables.TypeIP6Addr, mergeRanges(allow6))
	lanSet := b.ifnameSet(SetLAN, cfg.LAN)
	wanSet := b.ifnameSet(SetWAN, cfg.WAN)
	rs.sets = []*setSpec{peers4, peers6, locked4, locked6, pardon4, pardon6, allowSet4, allowSet6, lanSet, wanSet}
	fromLAN := matchIfaces(expr.MetaKeyIIFNAME, lanSet.set, false)
	// WAN is the interfaces named, or every interface that is not LAN.
	fromWAN, toWAN := matchIfaces(expr.MetaKeyIIFNAME, lanSet.set, true), matchIfaces(expr.MetaKeyOIFNAME, lanSet.set, true)
	if len(cfg.WAN) > 0 {
		fromWAN, toWAN = matchIfaces(expr.MetaKeyIIFNAME, wanSet.set, false), matchIfaces(expr.MetaKeyOIFNAME, wanSet.set, false)
	}
	queue := queueExpr(be, cfg.QueueNum, cfg.Queues)

	fwd := &chainSpec{chain: &nftables.Chain{
		Name: ChainForward, Table: b.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(ChainPriority),
		Policy: policyRef(nftables.ChainPolicyAccept),
	}}
	// The LAN rules live in a regular chain that the forward chain jumps to
	// (goto) for packets from a LAN interface: one interface lookup per
	// packet instead of one per rule. (Setup creates every chain before the
	// first rule, so the goto target exists.)
	lan := &chainSpec{chain: &nftables.Chain{Name: ChainFromLAN, Table: b.table}}
	// Enforcement is a second base chain after the inspection chain: an
	// accept (the inspector's, or queue bypass while none runs) ends only
	// the base chain that gave it, so a candidate to a known peer still
	// meets the drops below.
	enf := &chainSpec{chain: &nftables.Chain{
		Name: ChainEnforce, Table: b.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(ChainEnforcePriority),
		Policy: policyRef(nftables.ChainPolicyAccept),
	}}
	enfLAN := &chainSpec{chain: &nftables.Chain{Name: ChainEnforceLAN, Table: b.table}}
	lanTCP := &chainSpec{chain: &nftables.Chain{Name: ChainFromLANTCP, Table: b.table}}
	lanUDP := &chainSpec{chain: &nftables.Chain{Name: ChainFromLANUDP, Table: b.table}}
	rs.chains = append(rs.chains, fwd, lan, lanTCP, lanUDP, enf, enfLAN)

	// a. Allowlisted addresses are never dropped, reset or locked: every
	// rule that acts (e, d, f) checks source and destination against the
	// allowlist after its own set matched, so only packets that would be
	// acted on pay for the interval lookups (the allowlist can hold tens of
	// thousands of prefixes; a lookup per forwarded packet costs 2 to 3 µs
	// at 40,000). Candidates to or from an allowlisted address are still
	// queued; the inspector (inspect.Decide) learns nothing from them and
	// accepts them. A family without allowlisted prefixes gets no checks.
	hasAllow := [2]bool{}
	for _, p := range cfg.Allow {
		hasAllow[btoi(p.Addr().Is6())] = true
	}
	notAllowed := func(v6 bool) []expr.Any {
		if !hasAllow[btoi(v6)] {
			return nil
		}
		set := allowSet4
		if v6 {
			set = allowSet6
		}
		return concat(matchAddrNotInSet(v6, true, set.set), matchAddrNotInSet(v6, false, set.set))
	}

	// Everything from a LAN interface continues in from_lan (b, c) and
	// enforce_lan (f, d); the rest meets e below.
	fwd.rules = append(fwd.rules, &ruleSpec{
		id:   RuleFromLAN,
		desc: "from a LAN interface, to chain " + ChainFromLAN,
		exprs: concat(fromLAN,
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictGoto, Chain: ChainFromLAN}}),
	})
	enf.rules = append(enf.rules, &ruleSpec{
		id:   RuleEnforceLAN,
		desc: "from a LAN interface, to chain " + ChainEnforceLAN,
		exprs: concat(fromLAN,
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictGoto, Chain: ChainEnforceLAN}}),
	})

	// b. The detectors' prefilters: candidates from the LAN, to the
	// inspector, in a chain per transport that from_lan dispatches to.
	for _, t := range []struct {
		l4         uint8
		c          *chainSpec
		rule, name string
	}{{inspect.ProtoTCP, lanTCP, RuleLANTCP, "TCP"}, {inspect.ProtoUDP, lanUDP, RuleLANUDP, "UDP"}} {
		qs := forwardRules(cfg.Queue, t.l4)
		if first, ok := firstBytes(qs); ok && t.l4 == inspect.ProtoUDP {
			t.c.rules = append(t.c.rules, firstByteGate(b, first))
		}
		for _, q := range qs {
			t.c.rules = append(t.c.rules, queueRule(b, q, nil, false, queue))
		}
		if len(qs) == 0 {
			rs.chains = slices.DeleteFunc(rs.chains, func(c *chainSpec) bool { return c == t.c })
			continue
		}
		lan.rules = append(lan.rules, &ruleSpec{
			id:    t.rule,
			desc:  t.name + ", to chain " + t.c.chain.Name,
			exprs: concat(matchL4Proto(t.l4), []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictGoto, Chain: t.c.chain.Name}}),
		})
	}

	// f. New TCP connections of time-locked clients towards the WAN. This
	// rule stands before the peer drops (d, e) so that a locked client's
	// connection to a known peer is reset too and fails fast, as to any
	// other WAN address: a reset sends the client back to UDP mode, a
	// silent drop would leave it waiting for a timeout.
	locks := lockSets{locked: [2]*setSpec{locked4, locked6}}
	if cfg.TimeLock > 0 {
		if cfg.LockAction != LockDrop {
			locks.meter = [2]*setSpec{
				b.meterSet(SetLockReset4, nftables.TypeIPAddr),
				b.meterSet(SetLockReset6, nftables.TypeIP6Addr),
			}
			rs.sets = append(rs.sets, locks.meter[0], locks.meter[1])
		}
		rs.chains = append(rs.chains, lockRefuseChains(b, cfg.LockAction, locks)...)
		for _, v6 := range []bool{false, true} {
			set, id, fam := locked4, RuleLock4, "IPv4"
			if v6 {
				set, id, fam = locked6, RuleLock6, "IPv6"
			}
			r := &ruleSpec{id: id, desc: fmt.Sprintf("new TCP of time-locked %s client to WAN, to chain %s", fam, lockRefuseChain(v6))}
			r.exprs = concat(matchNFProto(v6), matchL4Proto(unix.IPPROTO_TCP), matchTCPSyn(),
				matchAddrInSet(v6, true, set.set), toWAN, notAllowed(v6),
				[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictGoto, Chain: lockRefuseChain(v6)}})
			enfLAN.rules = append(enfLAN.rules, r)
		}
	}

	// d. LAN towards a blocked peer.
	rs.chains = append(rs.chains, peerDropChains(b, cfg.TimeLock > 0, locks)...)
	for _, v6 := range []bool{false, true} {
		set, id, fam, chain := peers4, RuleToPeers4, "IPv4", ChainPeerDrop4
		if v6 {
			set, id, fam, chain = peers6, RuleToPeers6, "IPv6", ChainPeerDrop6
		}
		r := &ruleSpec{id: id, desc: fmt.Sprintf("LAN to blocked %s peer, to chain %s", fam, chain)}
		r.exprs = concat(matchNFProto(v6), matchAddrInSet(v6, false, set.set), notAllowed(v6),
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictGoto, Chain: chain}})
		enfLAN.rules = append(enfLAN.rules, r)
	}

	// e. WAN from a blocked peer.
	for _, v6 := range []bool{false, true} {
		set, id, fam := peers4, RuleFromPeers4, "IPv4"
		if v6 {
			set, id, fam = peers6, RuleFromPeers6, "IPv6"
		}
		r := &ruleSpec{id: id, desc: fmt.Sprintf("WAN from blocked %s peer, drop", fam)}
		r.exprs = concat(matchNFProto(v6), matchAddrInSet(v6, true, set.set), fromWAN, notAllowed(v6),
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}})
		enf.rules = append(enf.rules, r)
	}

	// f. (continued) The input chain for the time-lock: the answers to
	// time-lock probes, from the LAN.
	var input []QueueRule
	for _, q := range cfg.Queue {
		if q.Hook == inspect.HookInput {
			input = append(input, q)
		}
	}
	if cfg.TimeLock > 0 && len(input) > 0 {
		in := &chainSpec{chain: &nftables.Chain{
			Name: ChainInput, Table: b.table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(ChainPriority),
			Policy: policyRef(nftables.ChainPolicyAccept),
		}}
		for _, q := range input {
			in.rules = append(in.rules, queueRule(b, q, fromLAN, true, queue))
		}
		rs.chains = append(rs.chains, in)
	}

	if cfg.Observe {
		// Dry-run: only what queues candidates to the inspector; nothing
		// drops, resets or locks. The sets stay (empty) so that turning
		// dry-run off only adds chains.
		keep := rs.chains[:0]
		for _, c := range rs.chains {
			if n := c.chain.Name; n == ChainForward || n == ChainFromLAN || n == ChainFromLANTCP || n == ChainFromLANUDP || n == ChainInput {
				keep = append(keep, c)
			}
		}
		rs.chains = keep
		sets := rs.sets[:0]
		for _, st := range rs.sets {
			if n := st.set.Name; n != SetLockReset4 && n != SetLockReset6 {
				sets = append(sets, st)
			}
		}
		rs.sets = sets
	}

	sum := sha256.Sum256([]byte(rs.render(false)))
	rs.fingerprint = hex.EncodeToString(sum[:6])
	for _, c := range rs.chains {
		for _, r := range c.rules {
			if _, err := commentUserData(r.comment(rs.fingerprint).String()); err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.id, err)
			}
		}
	}
	return rs, nil
}

func policyRef(p nftables.ChainPolicy) *nftables.ChainPolicy { return &p }

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// timeoutSet is a dynamic address set with per-element timeouts and default
// timeout d (0 = elements without their own timeout never expire).
func (b *builder) timeoutSet(name string, t nftables.SetDatatype, d time.Duration) *setSpec {
	return &setSpec{dynamic: true, set: &nftables.Set{
		Table: b.table, ID: b.id(), Name: name, KeyType: t,
		HasTimeout: true, Timeout: d, KeyByteOrder: binaryutil.BigEndian,
	}}
}

// ifnameSet is a set of interface names. It is a named set rather than an
// anonymous one because nft shows the names only with host byte order in the
// set's metadata, which google/nftables writes for named sets alone.
func (b *builder) ifnameSet(name string, names []string) *setSpec {
	s := &setSpec{set: &nftables.Set{
		Table: b.table, ID: b.id(), Name: name, KeyType: nftables.TypeIFName,
		KeyByteOrder: binaryutil.NativeEndian,
	}}
	for _, n := range sortedCopy(names) {
		s.elems = append(s.elems, nftables.SetElement{Key: ifnameKey(n)})
	}
	return s
}

// intervalSet is an address interval set holding ranges.
func (b *builder) intervalSet(name string, t nftables.SetDatatype, ranges []addrRange) *setSpec {
	s := &setSpec{
		set: &nftables.Set{
			Table: b.table, ID: b.id(), Name: name, KeyType: t,
			Interval: true, KeyByteOrder: binaryutil.BigEndian,
		},
		ranges: ranges,
	}
	s.elems = intervalElements(ranges)
	return s
}

// intervalElements encodes ranges the way nft does: a start element, and an
// interval-end element one past the last address unless that overflows.
func intervalElements(ranges []addrRange) []nftables.SetElement {
	var out []nftables.SetElement
	for _, r := range ranges {
		out = append(out, nftables.SetElement{Key: r.First.AsSlice()})
		if next := r.Last.Next(); next.IsValid() {
			out = append(out, nftables.SetElement{Key: next.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}

// constSet is an anonymous constant set of keys of type t, valid only within
// the batch that adds it and bound to the rule that uses it.
func (b *builder) constSet(t nftables.SetDatatype, keys [][]byte) *setSpec {
	s := &setSpec{set: &nftables.Set{
		Table: b.table, ID: b.id(), Name: "__set%d", KeyType: t,
		Anonymous: true, Constant: true,
	}}
	for _, k := range keys {
		s.elems = append(s.elems, nftables.SetElement{Key: k})
	}
	return s
}

// matchIfaces matches the in- or output interface name against a set of
// interface names, or its negation.
func matchIfaces(key expr.MetaKey, set *nftables.Set, invert bool) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: reg1},
		&expr.Lookup{SourceRegister: reg1, SetName: set.Name, SetID: set.ID, Invert: invert},
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Fingerprint is the fingerprint of the ruleset that cfg builds with queue
// backend be (native or compat), as the rule comments carry it: two
// configurations with the same fingerprint build the same table.
func Fingerprint(cfg Config, be Backend) (string, error) {
	rs, err := buildRuleset(cfg, be)
	if err != nil {
		return "", err
	}
	return rs.fingerprint, nil
}
