package nft

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"
)

// state is what the kernel has of table inet ftwall.
type state struct {
	present bool
	sets    map[string]*nftables.Set    // named sets (anonymous ones left out)
	chains  []*nftables.Chain           // sorted: chainOrder, then others by name
	rules   map[string][]*nftables.Rule // by chain name, in order
}

// readState reads the table, its sets, chains and rules over c. It only ever
// asks about table inet ftwall, except that the kernel can only list the
// chains of all inet tables at once; other tables' chains are ignored.
func readState(ctx context.Context, c *conn) (*state, error) {
	st := &state{sets: map[string]*nftables.Set{}, rules: map[string][]*nftables.Rule{}}
	present, err := tablePresentConn(ctx, c)
	if err != nil || !present {
		return st, err
	}
	st.present = true
	wrap := func(what string, err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if isNotFound(err) { // the table vanished meanwhile
			return fmt.Errorf("%s: %w", what, ErrNoTable)
		}
		return kernelError(what, err)
	}
	sets, err := c.GetSets(table())
	if err != nil {
		return nil, wrap("read the sets of table inet "+TableName, err)
	}
	for _, s := range sets {
		if !s.Anonymous && !strings.HasPrefix(s.Name, "__") {
			st.sets[s.Name] = s
		}
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, wrap("read the chains of table inet "+TableName, err)
	}
	for _, ch := range chains {
		if ch.Table != nil && ch.Table.Name == TableName {
			st.chains = append(st.chains, ch)
		}
	}
	slices.SortFunc(st.chains, func(a, b *nftables.Chain) int {
		if d := chainRank(a.Name) - chainRank(b.Name); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, ch := range st.chains {
		rules, err := c.GetRules(table(), ch)
		if err != nil {
			return nil, wrap("read the rules of chain "+ch.Name, err)
		}
		st.rules[ch.Name] = rules
	}
	return st, nil
}

func chainRank(name string) int {
	if i := slices.Index(chainOrder(), name); i >= 0 {
		return i
	}
	return len(chainOrder())
}

func (st *state) chain(name string) *nftables.Chain {
	for _, c := range st.chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// sameSetDefinition reports whether the kernel's set has the definition we
// want (key type, flags, default timeout).
func sameSetDefinition(want, got *nftables.Set) bool {
	return got.KeyType.Name == want.KeyType.Name &&
		got.HasTimeout == want.HasTimeout &&
		got.Interval == want.Interval &&
		got.Constant == want.Constant &&
		got.IsMap == want.IsMap &&
		got.Dynamic == want.Dynamic &&
		(want.Size == 0 || got.Size == want.Size) &&
		sameTimeout(want.Timeout, got.Timeout)
}

// onlyTimeoutDiffers reports whether the two sets differ in their default
// timeout alone, both nonzero: elements that never expire exist only with a
// zero default, and an update in place would leave them so.
func onlyTimeoutDiffers(want, got *nftables.Set) bool {
	w := *want
	w.Timeout = got.Timeout
	return sameSetDefinition(&w, got) && want.Timeout != 0 && got.Timeout != 0
}

// jiffyTolerance covers the kernel keeping set timeouts in jiffies (at least
// 100 Hz): a timeout that is no multiple of the jiffy comes back rounded.
const jiffyTolerance = 10 * time.Millisecond

func sameTimeout(want, got time.Duration) bool {
	d := want - got
	return d > -jiffyTolerance && d < jiffyTolerance && (want == 0) == (got == 0)
}

// sameChainDefinition compares hook, priority, type and policy.
func sameChainDefinition(want, got *nftables.Chain) bool {
	if want.Hooknum == nil { // a regular chain
		return got.Hooknum == nil
	}
	if got.Hooknum == nil || got.Priority == nil || got.Policy == nil {
		return false
	}
	return *got.Hooknum == *want.Hooknum && *got.Priority == *want.Priority &&
		got.Type == want.Type && *got.Policy == *want.Policy
}

// diff compares the desired ruleset with the kernel's state.
type diff struct {
	inSync   bool            // nothing to do (apart from a reset)
	recreate map[string]bool // sets that exist with another definition
	// retime: sets whose default timeout alone changes, from one that
	// expires to another; the kernel updates such a set in place.
	retime  map[string]bool
	reasons []string // why the ruleset is not in sync, for the log
}

// compare diffs the desired ruleset with the kernel's state. With
// canRetime, a set whose nonzero default timeout changes to another nonzero
// one is updated in place instead of being recreated.
func compare(rs *ruleset, st *state, canRetime bool) diff {
	d := diff{recreate: map[string]bool{}, retime: map[string]bool{}}
	if !st.present {
		d.reasons = append(d.reasons, "table absent")
		return d
	}
	for _, s := range rs.sets {
		got, ok := st.sets[s.set.Name]
		switch {
		case !ok:
			d.reasons = append(d.reasons, "set "+s.set.Name+" missing")
		case !sameSetDefinition(s.set, got):
			if canRetime && onlyTimeoutDiffers(s.set, got) {
				d.retime[s.set.Name] = true
				d.reasons = append(d.reasons, "set "+s.set.Name+" default timeout differs")
				break
			}
			d.recreate[s.set.Name] = true
			d.reasons = append(d.reasons, "set "+s.set.Name+" definition differs")
		}
	}
	for name := range st.sets {
		if rs.set(name) == nil {
			d.reasons = append(d.reasons, "unknown set "+name)
		}
	}
	for _, c := range rs.chains {
		got := st.chain(c.chain.Name)
		if got == nil {
			d.reasons = append(d.reasons, "chain "+c.chain.Name+" missing")
			continue
		}
		if !sameChainDefinition(c.chain, got) {
			d.reasons = append(d.reasons, "chain "+c.chain.Name+" definition differs")
			continue
		}
		rules := st.rules[c.chain.Name]
		if len(rules) != len(c.rules) {
			d.reasons = append(d.reasons, fmt.Sprintf("chain %s has %d rules, want %d", c.chain.Name, len(rules), len(c.rules)))
			continue
		}
		for i, r := range rules {
			text, _ := commentFromUserData(r.UserData)
			if text != c.rules[i].comment(rs.fingerprint).String() {
				d.reasons = append(d.reasons, fmt.Sprintf("chain %s rule %d differs", c.chain.Name, i+1))
				break
			}
		}
	}
	for _, c := range st.chains {
		if rs.chain(c.Name) == nil {
			d.reasons = append(d.reasons, "unknown chain "+c.Name)
		}
	}
	d.inSync = len(d.reasons) == 0
	return d
}
