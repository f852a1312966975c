package nft

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Fake is an in-memory Firewall for the unit tests of callers. It validates
// like Kernel, keeps elements across Setup like Kernel (elements keep their
// expiry; Reset empties the peers and locked sets), honours element timeouts
// against an injectable clock, and records every call.
type Fake struct {
	mu          sync.Mutex
	now         func() time.Time
	nativeQueue bool
	present     bool
	closed      bool
	backend     Backend
	fingerprint string
	rules       []Counter // rule identifiers of the applied ruleset, in order
	timeouts    map[string]time.Duration
	sizes       map[string]int
	elems       map[string]map[netip.Addr]fakeElem
	allow       map[string][]Element
	counters    map[string]CounterValue
	calls       []Call
	fail        map[string]error

	// applied is the last ruleset Setup applied (what Check compares
	// with); rules and the sets may differ after RemoveRule, RemoveSet.
	applied *ruleset
}

var _ Firewall = (*Fake)(nil)

type fakeElem struct {
	timeout  time.Duration // the element's own timeout, 0 = the set's default
	deadline time.Time     // zero = never expires
	comment  string
}

// Call is one recorded call of a Fake method.
type Call struct {
	Method   string // "Setup", "Check", "Teardown", "Status", "AddElements", "LoadElements", "DeleteElements", "Elements", "Close"
	Set      string
	Config   Config
	Options  SetupOptions
	Elements []Element
	Addrs    []netip.Addr
}

// NewFake returns a Fake without a table, using the wall clock and a
// "kernel" without the native queue expression (like the project's test
// machines).
func NewFake() *Fake {
	return &Fake{
		now:      time.Now,
		timeouts: map[string]time.Duration{},
		sizes:    map[string]int{},
		elems:    map[string]map[netip.Addr]fakeElem{},
		allow:    map[string][]Element{},
		counters: map[string]CounterValue{},
		fail:     map[string]error{},
	}
}

// SetClock replaces the clock used for element timeouts.
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// SetNativeQueue sets what probing finds: true = the native queue
// expression exists, false = only the compat target.
func (f *Fake) SetNativeQueue(native bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nativeQueue = native
}

// FailNext makes the next call of method (e.g. "AddElements") return err
// without doing anything.
func (f *Fake) FailNext(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

// SetCounter sets the counter of a rule (Rule* constants) that Status reports.
func (f *Fake) SetCounter(rule string, v CounterValue) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counters[rule] = v
}

// Calls returns a copy of the calls recorded so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// ResetCalls forgets the recorded calls.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// record notes a call and returns an injected error, if any. f.mu is held.
func (f *Fake) record(c Call) error {
	f.calls = append(f.calls, c)
	if err, ok := f.fail[c.Method]; ok {
		delete(f.fail, c.Method)
		return err
	}
	if f.closed && c.Method != "Close" {
		return ErrClosed
	}
	return nil
}

// Setup implements Firewall.
func (f *Fake) Setup(ctx context.Context, cfg Config, opts SetupOptions) (SetupResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Setup", Config: cloneConfig(cfg), Options: opts}); err != nil {
		return SetupResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return SetupResult{}, err
	}
	if err := cfg.Validate(); err != nil {
		return SetupResult{}, err
	}
	be := cfg.Backend
	switch {
	case be == BackendAuto && f.nativeQueue:
		be = BackendNative
	case be == BackendAuto:
		be = BackendCompat
	case be == BackendNative && !f.nativeQueue:
		return SetupResult{}, fmt.Errorf("apply table inet %s (the batch is atomic: nothing was changed): the kernel has no native nftables queue expression (nft_queue); use --backend auto or compat", TableName)
	}
	rs, err := buildRuleset(cfg, be)
	if err != nil {
		return SetupResult{}, err
	}
	d := f.drift(rs)
	res := SetupResult{Backend: be, Created: !f.present, Changed: !d.InSync || opts.Reset, NewSets: d.MissingSets}
	if !res.Changed {
		f.applied = rs
		return res, nil
	}
	now := f.now()
	for _, s := range rs.sets {
		name := s.set.Name
		if !s.dynamic {
			continue
		}
		if opts.Reset || f.elems[name] == nil {
			f.elems[name] = map[netip.Addr]fakeElem{}
		}
		f.sizes[name] = int(s.set.Size)
		old, had := f.timeouts[name]
		f.timeouts[name] = s.set.Timeout
		if !had || old == s.set.Timeout {
			continue
		}
		// Recreated set: elements keep their remaining lifetime, those that
		// never expired get the new default.
		for a, e := range f.elems[name] {
			switch {
			case !e.deadline.IsZero():
				e.timeout = e.deadline.Sub(now)
			case s.set.Timeout > 0:
				e.deadline = now.Add(s.set.Timeout)
			}
			f.elems[name][a] = e
		}
	}
	for _, s := range []*setSpec{rs.set(SetAllow4), rs.set(SetAllow6)} {
		var out []Element
		for _, r := range s.ranges {
			out = append(out, Element{Addr: r.First})
		}
		f.allow[s.set.Name] = out
	}
	f.rules = f.rules[:0]
	for _, c := range rs.chains {
		for _, r := range c.rules {
			f.rules = append(f.rules, Counter{Chain: c.chain.Name, Rule: r.id, Comment: r.comment(rs.fingerprint).String()})
		}
	}
	f.present, f.backend, f.fingerprint, f.applied = true, be, rs.fingerprint, rs
	return res, nil
}

// drift compares the Fake's table with rs. f.mu is held.
func (f *Fake) drift(rs *ruleset) Drift {
	d := Drift{Present: f.present}
	if !f.present {
		return Drift{Reasons: []string{"table absent"}, MissingSets: writableSets()}
	}
	for _, name := range writableSets() {
		if f.elems[name] == nil {
			d.MissingSets = append(d.MissingSets, name)
			d.Reasons = append(d.Reasons, "set "+name+" missing")
		}
	}
	var want []Counter
	for _, c := range rs.chains {
		for _, r := range c.rules {
			want = append(want, Counter{Chain: c.chain.Name, Rule: r.id, Comment: r.comment(rs.fingerprint).String()})
		}
	}
	if !slices.Equal(want, f.rules) {
		d.Reasons = append(d.Reasons, fmt.Sprintf("%d rules, want %d, or rules differ", len(f.rules), len(want)))
	}
	d.InSync = len(d.Reasons) == 0
	return d
}

// Check implements Firewall.
func (f *Fake) Check(ctx context.Context) (Drift, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Check"}); err != nil {
		return Drift{}, err
	}
	if err := ctx.Err(); err != nil {
		return Drift{}, err
	}
	if f.applied == nil {
		return Drift{}, ErrNotApplied
	}
	return f.drift(f.applied), nil
}

// RemoveTable deletes the table as someone else would (nft delete table,
// nft flush ruleset): no call is recorded.
func (f *Fake) RemoveTable() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.present, f.fingerprint, f.backend, f.rules = false, "", BackendAuto, nil
	f.timeouts, f.sizes = map[string]time.Duration{}, map[string]int{}
	f.elems = map[string]map[netip.Addr]fakeElem{}
	f.allow = map[string][]Element{}
}

// RemoveRule deletes the i-th rule of the table (in chain order) as someone
// else would (nft delete rule … handle N); no call is recorded.
func (f *Fake) RemoveRule(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= 0 && i < len(f.rules) {
		f.rules = slices.Delete(slices.Clone(f.rules), i, i+1)
	}
}

// RemoveSet deletes one of the peers and locked sets with its elements, as
// someone else would; no call is recorded.
func (f *Fake) RemoveSet(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.elems, name)
}

// Teardown implements Firewall.
func (f *Fake) Teardown(ctx context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Teardown"}); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !f.present {
		return false, nil
	}
	f.present, f.fingerprint, f.backend, f.rules = false, "", BackendAuto, nil
	f.timeouts, f.sizes = map[string]time.Duration{}, map[string]int{}
	f.elems = map[string]map[netip.Addr]fakeElem{}
	f.allow = map[string][]Element{}
	return true, nil
}

// AddElements implements Firewall: an element's countdown restarts.
func (f *Fake) AddElements(ctx context.Context, set string, elems []Element) error {
	return f.add(ctx, "AddElements", set, elems)
}

// LoadElements implements Firewall like the kernel's plain adds: an element
// already present keeps its countdown when its timeout is the same, and gets
// the new timeout (restarted) when it differs.
func (f *Fake) LoadElements(ctx context.Context, set string, elems []Element) error {
	return f.add(ctx, "LoadElements", set, elems)
}

func (f *Fake) add(ctx context.Context, method, set string, elems []Element) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: method, Set: set, Elements: slices.Clone(elems)}); err != nil {
		return err
	}
	kind, err := writableSet(set)
	if err != nil {
		return err
	}
	elems, err = kind.normalizeElements(elems)
	if err != nil {
		return err
	}
	if err := f.ready(ctx, "add elements to set "+set); err != nil {
		return err
	}
	if f.elems[set] == nil { // RemoveSet
		return fmt.Errorf("add elements to set %s: no such set: %w", set, unix.ENOENT)
	}
	now := f.now()
	if max := f.sizes[set]; max > 0 {
		// Like the kernel: new elements past the size fail the batch.
		n := len(f.elems[set])
		for _, e := range elems {
			if _, ok := f.elems[set][e.Addr]; !ok {
				n++
			}
		}
		if n > max {
			return fmt.Errorf("add elements to set %s: %w", set, ErrSetFull)
		}
	}
	for _, e := range elems {
		if old, ok := f.elems[set][e.Addr]; ok && method == "LoadElements" && old.timeout == e.Timeout {
			continue
		}
		t := e.Timeout
		if t == 0 {
			t = f.timeouts[set]
		}
		fe := fakeElem{timeout: e.Timeout, comment: e.Comment}
		if t > 0 {
			fe.deadline = now.Add(t)
		}
		f.elems[set][e.Addr] = fe
	}
	return nil
}

// DeleteElements implements Firewall.

func (f *Fake) DeleteElements(ctx context.Context, set string, addrs []netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "DeleteElements", Set: set, Addrs: slices.Clone(addrs)}); err != nil {
		return err
	}
	kind, err := writableSet(set)
	if err != nil {
		return err
	}
	addrs, err = kind.normalizeAddrs(addrs)
	if err != nil {
		return err
	}
	if err := f.ready(ctx, "delete elements of set "+set); err != nil {
		return err
	}
	for _, a := range addrs {
		delete(f.elems[set], a)
	}
	return nil
}

// EachElement implements Firewall (over a copy: fn may call the Fake).
func (f *Fake) EachElement(ctx context.Context, set string, fn func(Element) bool) error {
	elems, err := f.Elements(ctx, set)
	if err != nil {
		return err
	}
	for _, e := range elems {
		if !fn(e) {
			break
		}
	}
	return nil
}

// Elements implements Firewall; elements come sorted by address.
func (f *Fake) Elements(ctx context.Context, set string) ([]Element, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Elements", Set: set}); err != nil {
		return nil, err
	}
	if _, err := lookupSet(set); err != nil {
		return nil, err
	}
	if err := f.ready(ctx, "read set "+set); err != nil {
		return nil, err
	}
	return f.elements(set), nil
}

// elements lists a set, dropping expired elements. f.mu is held.
func (f *Fake) elements(set string) []Element {
	if a, ok := f.allow[set]; ok {
		return slices.Clone(a)
	}
	now := f.now()
	out := make([]Element, 0, len(f.elems[set]))
	for a, e := range f.elems[set] {
		el := Element{Addr: a, Timeout: e.timeout, Comment: e.comment}
		if !e.deadline.IsZero() {
			el.Expires = e.deadline.Sub(now)
			if el.Expires <= 0 {
				delete(f.elems[set], a)
				continue
			}
		}
		out = append(out, el)
	}
	slices.SortFunc(out, func(a, b Element) int { return a.Addr.Compare(b.Addr) })
	return out
}

// Status implements Firewall.
func (f *Fake) Status(ctx context.Context, sample int) (*Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Status"}); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Status{Present: f.present}
	if !f.present {
		return s, nil
	}
	s.Backend = f.backend
	if f.applied != nil {
		s.Interfaces = Interfaces{LAN: sortedCopy(f.applied.cfg.LAN), WAN: sortedCopy(f.applied.cfg.WAN)}
		s.QueueNum, s.Queues = f.applied.cfg.QueueNum, max(f.applied.cfg.Queues, 1)
	}
	for _, name := range setNames() {
		elems := f.elements(name)
		ss := SetStatus{Name: name, Count: len(elems), Timeout: f.timeouts[name]}
		if sample > 0 {
			ss.Sample = elems[:min(sample, len(elems))]
		}
		s.Sets = append(s.Sets, ss)
	}
	for _, r := range f.rules {
		r.CounterValue = f.counters[r.Rule]
		s.Counters = append(s.Counters, r)
	}
	s.sumCounters()
	return s, nil
}

// Close implements Firewall.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Close"}); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// ready checks the context and that the table exists. f.mu is held.
func (f *Fake) ready(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !f.present {
		return fmt.Errorf("%s: %w", what, ErrNoTable)
	}
	return nil
}

func cloneConfig(c Config) Config {
	c.LAN = slices.Clone(c.LAN)
	c.WAN = slices.Clone(c.WAN)
	c.Allow = slices.Clone(c.Allow)
	return c
}
