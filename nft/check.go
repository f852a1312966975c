package nft

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Drift is how table inet ftwall differs from the ruleset last applied by
// Setup (through the same Firewall).
type Drift struct {
	// Present is false when the table does not exist.
	Present bool
	// InSync is true when the table, its chains, its rules (compared by the
	// fingerprint in their comments) and its named sets are as Setup left
	// them. Set elements are not compared.
	InSync bool
	// Reasons say what differs ("table absent", "chain forward missing",
	// "chain enforce has 7 rules, want 8"), for the log.
	Reasons []string
	// MissingSets are the peers and locked sets that do not exist: Setup
	// creates them empty.
	MissingSets []string
}

// ErrNotApplied is returned by Check before any Setup through the same
// Firewall: there is nothing to compare the table with.
var ErrNotApplied = errors.New("no ruleset applied yet through this connection (Setup first)")

// writableSets are the sets filled at run time (peers, locks, pardons), in order.
func writableSets() []string {
	return []string{SetPeers4, SetPeers6, SetLocked4, SetLocked6, SetPardon4, SetPardon6}
}

// Check reads the table (its chains, rules and set definitions, not the
// elements) and compares it with the ruleset of the last successful Setup.
// It writes nothing.
func (k *Kernel) Check(ctx context.Context) (Drift, error) {
	rs := k.applied.Load()
	if rs == nil {
		return Drift{}, ErrNotApplied
	}
	if err := k.check(ctx); err != nil {
		return Drift{}, err
	}
	c, err := k.dial(ctx, true, 0, 0)
	if err != nil {
		return Drift{}, kernelError("connect to nftables", noNftables(err))
	}
	st, err := readState(ctx, c)
	c.close()
	if errors.Is(err, ErrNoTable) {
		// Deleted while it was read.
		st, err = &state{}, nil
	}
	if err != nil {
		return Drift{}, fmt.Errorf("check table inet %s: %w", TableName, err)
	}
	return driftOf(rs, st), nil
}

// driftOf compares rs with the kernel's state.
func driftOf(rs *ruleset, st *state) Drift {
	d := compare(rs, st, true)
	return Drift{Present: st.present, InSync: d.inSync, Reasons: d.reasons, MissingSets: newWritableSets(st)}
}

// newWritableSets lists the peers and locked sets of rs that st lacks
// (Setup creates them empty).
func newWritableSets(st *state) []string {
	var out []string
	for _, name := range writableSets() {
		if _, ok := st.sets[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

// mergeSets returns a ∪ b in writableSets order.
func mergeSets(a, b []string) []string {
	var out []string
	for _, name := range writableSets() {
		if slices.Contains(a, name) || slices.Contains(b, name) {
			out = append(out, name)
		}
	}
	return out
}
