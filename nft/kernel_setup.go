package nft

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/nftables"
)

// Setup creates or updates table inet ftwall for cfg in one atomic batch.
//
// The same cfg again changes nothing. Otherwise every rule of the table is
// replaced in the same batch that updates the sets, so packets see either
// the old or the new ruleset. Set elements are kept: a set whose default
// timeout changes from one nonzero value to another is updated in place (its
// elements untouched); a set whose definition changes otherwise (a default
// timeout to or from 0) is read, recreated and refilled in that batch, where
// elements keep their remaining lifetime and elements that never expired get
// the new default. opts.Reset empties the peers and locked sets
// instead. The allow sets always get exactly cfg.Allow.
func (k *Kernel) Setup(ctx context.Context, cfg Config, opts SetupOptions) (SetupResult, error) {
	if err := cfg.Validate(); err != nil {
		return SetupResult{}, err
	}
	k.writeM.Lock()
	defer k.writeM.Unlock()
	return k.setupLocked(ctx, cfg, opts)
}

// setupLocked is Setup with k.writeM held.
func (k *Kernel) setupLocked(ctx context.Context, cfg Config, opts SetupOptions) (SetupResult, error) {
	if err := k.check(ctx); err != nil {
		return SetupResult{}, err
	}
	be := cfg.Backend
	if be == BackendAuto {
		var err error
		if be, err = k.probe(ctx); err != nil {
			return SetupResult{}, err
		}
	}
	rs, err := buildRuleset(cfg, be)
	if err != nil {
		return SetupResult{}, err
	}

	rc, err := k.dial(ctx, true, 0, 0)
	if err != nil {
		return SetupResult{}, kernelError("connect to nftables", noNftables(err))
	}
	st, err := readState(ctx, rc)
	rc.close()
	if err != nil {
		return SetupResult{}, err
	}
	d := compare(rs, st, !k.noSetRetime)
	res := SetupResult{Backend: be, Created: !st.present, Changed: !d.inSync || opts.Reset, NewSets: newWritableSets(st)}
	if !res.Changed {
		k.applied.Store(rs)
		k.log.Info("ruleset already in place", "table", "inet "+TableName, "backend", be, "fingerprint", rs.fingerprint)
		return res, nil
	}

	// Elements of sets that must be recreated are carried over.
	carry := map[string][]Element{}
	if !opts.Reset {
		for name := range d.recreate {
			if !rs.set(name).dynamic {
				continue
			}
			kind, err := lookupSet(name)
			if err != nil {
				return SetupResult{}, err
			}
			elems, err := k.carryElements(ctx, kind)
			if err != nil {
				return SetupResult{}, fmt.Errorf("keep the elements of set %s: %w", name, err)
			}
			carry[name] = elems
		}
	}

	p := plan{rs: rs, st: st, d: d, reset: opts.Reset, carry: carry, ignoreRetime: k.ignoreRetime}
	elemOps, msgs := p.size()
	sndbuf, rcvbuf := batchBuffers(elemOps, msgs)
	c, err := k.dial(ctx, false, sndbuf, rcvbuf)
	if err != nil {
		return SetupResult{}, kernelError("connect to nftables", noNftables(err))
	}
	defer c.close()
	if err := p.apply(c.Conn); err != nil {
		return SetupResult{}, fmt.Errorf("prepare table inet %s: %w", TableName, err)
	}
	if k.beforeFlush != nil {
		k.beforeFlush(c.Conn)
	}
	if err := k.check(ctx); err != nil {
		return SetupResult{}, err
	}
	start := time.Now()
	if err := c.Flush(); err != nil {
		return SetupResult{}, setupError(be, cfg.Backend, err)
	}
	if len(d.retime) > 0 {
		ok, err := k.retimed(ctx, rs, d.retime)
		if err != nil {
			return SetupResult{}, err
		}
		if !ok {
			// An older kernel ignores the new timeout of an existing
			// set: recreate such sets (carrying their elements) instead.
			k.log.Warn("the kernel did not update set timeouts in place; recreating the sets")
			k.noSetRetime = true
			again, err := k.setupLocked(ctx, cfg, opts)
			// The first batch already created the table and its
			// missing sets.
			again.Created, again.NewSets = res.Created, mergeSets(res.NewSets, again.NewSets)
			return again, err
		}
	}
	k.applied.Store(rs)
	carried := 0
	for _, e := range carry {
		carried += len(e)
	}
	k.log.Info("ruleset applied", "table", "inet "+TableName, "backend", be, "fingerprint", rs.fingerprint,
		"created", res.Created, "reset", opts.Reset, "why", strings.Join(d.reasons, "; "),
		"elements_carried", carried, "took", time.Since(start))
	return res, nil
}

// retimed reports whether the kernel now has the wanted default timeout on
// every set of names (updated in place by the batch just sent).
func (k *Kernel) retimed(ctx context.Context, rs *ruleset, names map[string]bool) (bool, error) {
	c, err := k.dial(ctx, true, 0, 0)
	if err != nil {
		return false, kernelError("connect to nftables", noNftables(err))
	}
	defer c.close()
	for name := range names {
		got, err := c.GetSetByName(table(), name)
		if err != nil {
			return false, kernelError("read set "+name, err)
		}
		if !sameTimeout(rs.set(name).set.Timeout, got.Timeout) {
			return false, nil
		}
	}
	return true, nil
}

// setupError explains a failed Setup batch.
func setupError(be, asked Backend, err error) error {
	what := fmt.Sprintf("apply table inet %s (the batch is atomic: nothing was changed)", TableName)
	if be == BackendNative && isNotFound(err) {
		hint := "the kernel has no native nftables queue expression (nft_queue)"
		if asked == BackendNative {
			hint += "; use --backend auto or compat"
		}
		return fmt.Errorf("%s: %s: %w", what, hint, err)
	}
	if be == BackendCompat && isNotFound(err) {
		return fmt.Errorf("%s: the kernel lacks the xtables NFQUEUE target or nft_compat (CONFIG_NFT_COMPAT, CONFIG_NETFILTER_XT_TARGET_NFQUEUE): %w", what, err)
	}
	return kernelError(what, err)
}

// carryElements reads a set's elements for re-adding them to its recreated
// self: each keeps its remaining lifetime as its timeout; elements that never
// expire get the new set's default.
func (k *Kernel) carryElements(ctx context.Context, kind setKind) ([]Element, error) {
	var out []Element
	interrupted, err := k.dumpSet(ctx, kind, func(e Element) bool {
		out = append(out, Element{Addr: e.Addr, Timeout: e.Expires})
		return true
	})
	if err != nil {
		return nil, err
	}
	if interrupted {
		k.log.Warn("set changed while its elements were read for keeping; elements added meanwhile may be lost", "set", kind.name)
	}
	return out, nil
}

// plan turns a ruleset and the kernel's state into batch messages.
type plan struct {
	rs    *ruleset
	st    *state
	d     diff
	reset bool
	carry map[string][]Element
	// ignoreRetime (tests only) leaves out in-place timeout updates, as a
	// kernel without set updates ignores them.
	ignoreRetime bool
}

// size estimates the batch: element operations and messages.
func (p *plan) size() (elemOps, msgs int) {
	msgs = 16
	for _, s := range p.rs.sets {
		n := len(s.elems) + len(p.carry[s.set.Name])
		elemOps += n
		msgs += 2 + (n+maxElemsPerMessage-1)/maxElemsPerMessage
	}
	for _, c := range p.rs.chains {
		msgs += 2
		for _, r := range c.rules {
			msgs += 1 + 2*len(r.anon)
			for _, a := range r.anon {
				elemOps += len(a.elems)
			}
		}
	}
	return elemOps, msgs
}

// apply queues the batch on c. When the ruleset is in sync only a reset is
// left to do; otherwise every rule is deleted and added again, chains and
// sets are created, recreated or deleted as needed, all in one batch.
func (p *plan) apply(c *nftables.Conn) error {
	rs, st := p.rs, p.st
	if p.d.inSync {
		if p.reset {
			for _, name := range []string{SetPeers4, SetPeers6, SetLocked4, SetLocked6} {
				c.FlushSet(rs.set(name).set)
			}
		}
		return nil
	}
	if !st.present {
		c.AddTable(rs.table)
	} else {
		// Deleting every rule first releases the references to the sets.
		c.FlushTable(rs.table)
		for _, ch := range st.chains {
			if want := rs.chain(ch.Name); want == nil || !sameChainDefinition(want.chain, ch) {
				c.DelChain(&nftables.Chain{Name: ch.Name, Table: rs.table})
			}
		}
		for name := range st.sets {
			if rs.set(name) == nil {
				c.DelSet(&nftables.Set{Name: name, Table: rs.table})
			}
		}
	}
	for _, s := range rs.sets {
		name := s.set.Name
		_, exists := st.sets[name]
		switch {
		case exists && !p.d.recreate[name]:
			if p.d.retime[name] && !p.ignoreRetime {
				// NEWSET on the existing set updates its default
				// timeout; its elements stay as they are.
				if err := c.AddSet(s.set, nil); err != nil {
					return fmt.Errorf("set %s: %w", name, err)
				}
			}
			if !s.dynamic {
				c.FlushSet(s.set)
				if err := addChunked(c, s.set, s.elems); err != nil {
					return err
				}
			} else if p.reset {
				c.FlushSet(s.set)
			}
			continue
		case exists:
			c.DelSet(&nftables.Set{Name: name, Table: rs.table})
		}
		if err := c.AddSet(s.set, nil); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
		elems := s.elems
		if s.dynamic {
			elems = timeoutElems(p.carry[name])
		}
		if err := addChunked(c, s.set, elems); err != nil {
			return err
		}
	}
	// Every chain first: the forward chain's goto needs its target.
	for _, ch := range rs.chains {
		if got := st.chain(ch.chain.Name); got == nil || !sameChainDefinition(ch.chain, got) {
			c.AddChain(ch.chain)
		}
	}
	for _, ch := range rs.chains {
		for _, r := range ch.rules {
			for _, a := range r.anon {
				if err := c.AddSet(a.set, a.elems); err != nil {
					return fmt.Errorf("rule %s: anonymous set: %w", r.id, err)
				}
			}
			udata, err := commentUserData(r.comment(rs.fingerprint).String())
			if err != nil {
				return fmt.Errorf("rule %s: %w", r.id, err)
			}
			c.AddRule(&nftables.Rule{Table: rs.table, Chain: ch.chain, Exprs: r.exprs, UserData: udata})
		}
	}
	return nil
}

func addChunked(c *nftables.Conn, s *nftables.Set, elems []nftables.SetElement) error {
	var err error
	longest := 0
	for _, e := range elems {
		longest = max(longest, len(e.Comment))
	}
	chunks(len(elems), perMessage(longest), func(lo, hi int) {
		if e := c.SetAddElements(s, elems[lo:hi]); e != nil && err == nil {
			err = fmt.Errorf("set %s: %w", s.Name, e)
		}
	})
	return err
}
