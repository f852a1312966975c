package nft

import (
	"context"
	"net/netip"
)

// SetupOptions modify Setup.
type SetupOptions struct {
	// Reset empties the peers and locked sets.
	Reset bool
}

// SetupResult reports what Setup did.
type SetupResult struct {
	// Backend is the queue backend the ruleset uses (never BackendAuto).
	Backend Backend
	// Created is true when the table did not exist before.
	Created bool
	// Changed is true when anything was written: the table was created, the
	// chains or set definitions were replaced, or Reset emptied the sets.
	// Applying the same configuration again reports false.
	Changed bool
	// NewSets are the peers and locked sets (SetPeers4 … SetLocked6) that
	// did not exist and were created empty; a caller that keeps their
	// elements elsewhere fills them again.
	NewSets []string
}

// Firewall is ftwall's view of its nftables table. *Kernel implements it
// against the kernel, *Fake in memory.
type Firewall interface {
	// Setup creates or updates the table for cfg in one atomic batch. The
	// same cfg again changes nothing; a different cfg replaces the chains and
	// keeps every set element (opts.Reset empties the peers and locked sets).
	Setup(ctx context.Context, cfg Config, opts SetupOptions) (SetupResult, error)
	// Check compares the table (chains, rules, set definitions; not the
	// elements) with the ruleset of the last successful Setup through this
	// Firewall, writing nothing; ErrNotApplied before any Setup.
	Check(ctx context.Context) (Drift, error)
	// Teardown deletes the table and nothing else; removed is false when the
	// table was absent (not an error).
	Teardown(ctx context.Context) (removed bool, err error)
	// Status reads the table: presence, backend, set counts with up to sample
	// elements each, and the rule counters.
	Status(ctx context.Context, sample int) (*Status, error)
	// AddElements adds elems to set, or refreshes them: an existing element's
	// countdown restarts. All elements go in one atomic batch.
	AddElements(ctx context.Context, set string, elems []Element) error
	// LoadElements adds many elements (a storefile at start-up) in
	// consecutive atomic batches of bounded size (plain adds: an element
	// already in the set with the same timeout keeps its countdown).
	LoadElements(ctx context.Context, set string, elems []Element) error
	// DeleteElements removes addrs from set in one atomic batch; absent
	// elements are not an error.
	DeleteElements(ctx context.Context, set string, addrs []netip.Addr) error
	// Elements returns every element of set with its remaining lifetime. For
	// the interval sets allow4/allow6 it returns the first address of each
	// range.
	Elements(ctx context.Context, set string) ([]Element, error)
	// EachElement streams the elements of set to fn (with their remaining
	// lifetime, Timeout as in Elements) until fn returns false, without
	// holding them all in memory. A set that changes while it is read may
	// show a mix of two moments.
	EachElement(ctx context.Context, set string, fn func(Element) bool) error
	// Close releases resources; the table stays.
	Close() error
}
