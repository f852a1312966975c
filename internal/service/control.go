package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/internal/clientdir"
	"github.com/ftwall/ftwall/internal/events"
	"github.com/ftwall/ftwall/internal/rawsend"
	"github.com/ftwall/ftwall/internal/share"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
	"github.com/ftwall/ftwall/timelock"
)

// control is the one goroutine that writes to nftables and owns the
// time-lock tracker, the storefile and the client directory.
type control struct {
	s       *Service
	tracker *timelock.Tracker
	peers   *refreshCache
	budgets *peerBudgets
	locks   *refreshCache
	store   *store.Store
	cdir    *clientdir.Dir
	tcp     *tcpProbe
	macs    *macCheck   // source MAC check against the neighbour table
	share   *shareApply // nil: not sharing

	// scratch, reused between batches
	batch    []learned
	add      map[string][]nft.Element
	probes   []timelock.Probe
	probeBuf []byte
	lapsed   []timelock.Client
	counters map[string]events.Counter

	// Totals for the closing log line.
	writeErrors  uint64
	peersLearned uint64
	// peersOverBudget counts peers not learned: their client's budget was spent.
	peersOverBudget uint64
	// setFullDrops counts elements a full set refused; setFullWarned is
	// when that was last logged.
	setFullDrops  uint64
	setFullWarned time.Time
	// Fail-open estimate: baselines of the queue rules' and the readers'
	// packet counts, and the last estimate logged.
	bypassBase                      bool
	queued0, handled0, bypassLogged uint64
	probesSent                      uint64
	keptByKernel                    uint64
	// pongsWithheld is the withheld-pong count of the last logged summary.
	pongsWithheld uint64
	// Self-healing (selfheal.go): repairs done, when a failing check or
	// repair was last logged, and whether the service is stopping (no
	// more checks).
	tableRepairs    uint64
	repairErrLogged time.Time
	stopping        bool

	// pardons are addresses an operator unblocked or unlocked, with the
	// end of their pardon (operator.go); the kernel's pardon sets keep
	// them across restarts.
	pardons map[netip.Addr]time.Time
	// newPeers counts, per peer set, the elements of the batch being
	// written that the set did not hold (for the set-size gauges).
	newPeers map[string]int
	// backend and started describe the service (ftwall status).
	backend nft.Backend
	started time.Time
}

func newControl(ctx context.Context, s *Service, cfg Config) (*control, error) {
	c := &control{
		s:        s,
		tracker:  newTracker(cfg),
		peers:    newRefreshCache(1 << 16),
		budgets:  newPeerBudgets(cfg.PeerBudget, cfg.PeerBudgetRate),
		locks:    newRefreshCache(1 << 16),
		add:      make(map[string][]nft.Element, 4),
		tcp:      newTCPProbe(s.deps.DialProbe),
		macs:     newMACCheck(s.log, s.deps.Neighbours),
		pardons:  map[netip.Addr]time.Time{},
		newPeers: map[string]int{},
		started:  s.now(),
	}
	if cfg.Store != "" {
		st, err := store.Open(cfg.Store, cfg.Ruleset.PeerTimeout)
		if err != nil {
			return nil, fmt.Errorf("--store: %w", err)
		}
		c.store = st
	}
	if cfg.DryRun {
		// Dry-run loads nothing into the kernel (its table is new and
		// stays empty) and writes no storefile.
		return c, c.openClientDir(cfg)
	}
	if c.store != nil {
		if err := c.saveKernelPeers(ctx); err != nil {
			return nil, err
		}
		if err := c.loadStore(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.restoreLocks(ctx); err != nil {
		return nil, err
	}
	if err := c.loadPardons(ctx); err != nil {
		return nil, err
	}
	return c, c.openClientDir(cfg)
}

// openClientDir opens --client-dir and makes it match the tracker.
func (c *control) openClientDir(cfg Config) error {
	if cfg.ClientDir != "" {
		d, err := clientdir.Open(cfg.ClientDir, time.Second)
		if err != nil {
			return fmt.Errorf("--client-dir: %w", err)
		}
		c.cdir = d
		var entries []clientdir.Entry
		for _, cl := range c.tracker.Clients(nil) {
			entries = append(entries, clientdir.FromClient(cl))
		}
		if err := d.Reconcile(entries); err != nil {
			return fmt.Errorf("--client-dir: %w", err)
		}
	}
	return nil
}

// restoreLocks rebuilds the tracker from the kernel's locked sets.
func (c *control) restoreLocks(ctx context.Context) error {
	if !c.tracker.Enabled() {
		return nil
	}
	now := c.s.now()
	n, probeable := 0, 0
	for _, set := range []string{nft.SetLocked4, nft.SetLocked6} {
		elems, err := c.s.fw.Elements(ctx, set)
		if err != nil {
			return fmt.Errorf("read %s: %w", set, err)
		}
		for _, e := range elems {
			c.tracker.Restore(now, e.Addr, e.Expires)
			c.s.known.mark(e.Addr, now)
			if proto, port, tag, ok := parseLockComment(e.Comment); ok {
				c.tracker.SetProbeTarget(e.Addr, proto, port, []byte(tag))
				probeable++
			}
			n++
		}
	}
	if n > 0 {
		c.s.log.Info("time-locks restored from the kernel", "clients", n, "probeable", probeable)
	}
	return nil
}

// loop runs until ctx is done.
func (c *control) loop(ctx context.Context, hup <-chan os.Signal) error {
	s := c.s
	cfg := s.state.Load().cfg
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	c.resetTimer(timer)

	tableTick := time.NewTicker(tableCheckEvery)
	defer tableTick.Stop()
	var storeTick, summaryTick, metricsTick <-chan time.Time
	if s.metrics != nil {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		metricsTick = t.C
		c.summary(ctx, false)
	}
	if c.store != nil {
		t := time.NewTicker(cfg.StoreInterval)
		defer t.Stop()
		storeTick = t.C
	}
	if cfg.SummaryInterval > 0 {
		t := time.NewTicker(cfg.SummaryInterval)
		defer t.Stop()
		summaryTick = t.C
		c.summary(ctx, true) // baseline
	}
	var shared <-chan share.Batch
	if c.share != nil {
		shared = c.share.client.Updates()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-shared:
			c.applyShared(ctx, b)
		case l := <-s.learnCh:
			c.batch = append(c.batch[:0], l)
			c.collect()
			c.apply(ctx)
		case r := <-c.tcp.results:
			c.tcpProbeDone(ctx, r)
		case <-timer.C:
			c.tick(ctx)
		case <-storeTick:
			_ = c.saveStore() // logged; the next save tries again
			c.prunePardons(s.now())
		case call := <-s.ctlCh:
			call.reply <- c.operate(ctx, call.req)
			s.learnEpoch.Add(1)
		case <-summaryTick:
			c.summary(ctx, true)
		case <-metricsTick:
			c.summary(ctx, false)
		case <-s.ifRefresh:
			c.refreshInterfaces()
		case <-s.tableCheck:
			c.checkTable(ctx, "nftables notification")
		case <-tableTick.C:
			c.checkTable(ctx, "periodic check")
		case <-hup:
			c.reload(ctx)
		}
		if s.metrics != nil {
			n, n6 := c.tracker.Len(), c.tracker.Len6()
			s.metrics.SetClientsLocked(n)
			if c.tracker.Enabled() {
				s.metrics.SetSetSize(nft.SetLocked4, n-n6)
				s.metrics.SetSetSize(nft.SetLocked6, n6)
			}
		}
		c.resetTimer(timer)
	}
}

// collect drains what else is queued, up to a batch's worth.
func (c *control) collect() {
	for len(c.batch) < 4096 {
		select {
		case l := <-c.s.learnCh:
			c.batch = append(c.batch, l)
		default:
			return
		}
	}
}

func (c *control) resetTimer(t *time.Timer) {
	d := time.Minute
	if c.tracker.Enabled() && c.tracker.Len() > 0 {
		d = min(max(c.tracker.NextEvent(c.s.now()), 10*time.Millisecond), time.Minute)
	}
	t.Reset(d)
}

// apply turns a batch of evidence into kernel writes (peers and locks,
// deduplicated and rate-limited per address), tracker updates, storefile
// entries and client files.
func (c *control) apply(ctx context.Context) {
	s := c.s
	st := s.state.Load()
	cfg := st.cfg
	for k := range c.add {
		c.add[k] = c.add[k][:0]
	}
	peerEvery := refreshEvery(cfg.Ruleset.PeerTimeout)
	lockEvery := refreshEvery(cfg.Ruleset.TimeLock)
	for i := range c.batch {
		l := &c.batch[i]
		if !c.sourceValid(st, l) {
			continue // forged or unresolved source: no peer, no lock
		}
		key := budgetKeyOf(st, l)
		for _, p := range l.peers[:l.npeers] {
			if !c.peers.known(p.Addr) && !c.budgets.allow(key, l.at) {
				c.overBudget(st, l.src, key)
				continue
			}
			c.learnPeer(st, p, l.at, peerEvery)
		}
		if !l.lock || !c.tracker.Enabled() || c.pardoned(l.client, l.at) {
			continue
		}
		cl, isNew := c.tracker.Evidence(l.at, l.client, string(l.protocol), l.port, l.tag[:l.tagLen], l.reason)
		if isNew {
			c.locks.forget(cl.Addr)
			st.events.ClientAppeared(cl.Addr, slog.String("protocol", string(l.protocol)), slogReason(cl.Reason))
		}

		if write, _ := c.locks.due(cl.Addr, l.at, lockEvery); write {
			set := nft.SetLocked4
			if cl.Addr.Is6() {
				set = nft.SetLocked6
			}
			comment := lockComment(cl.Protocol, cl.Port, []byte(cl.Tag))
			c.add[set] = append(c.add[set], nft.Element{Addr: cl.Addr, Comment: comment})
			c.share.publish(share.Entry{Kind: share.KindLock, Addr: cl.Addr, Timeout: cfg.Ruleset.TimeLock, Protocol: cl.Protocol, Reason: cl.Reason, Probe: comment})
		}
		if c.cdir != nil {
			if _, err := c.cdir.Put(clientdir.FromClient(cl)); err != nil {
				s.log.Warn("client file not written", "client", cl.Addr, "err", err)
			}
		}
	}
	c.write(ctx)
}

// storeReason is a peer's reason in the storefile: "<protocol>/<reason>".
func storeReason(p inspect.Peer) string {
	if p.Protocol == "" {
		return p.Reason
	}
	return string(p.Protocol) + "/" + p.Reason
}

// learnPeer queues a peer's kernel write (deduplicated and rate-limited per
// address) and records it in the storefile.
func (c *control) learnPeer(st *runState, p inspect.Peer, at time.Time, every time.Duration) {
	s := c.s
	if !st.settings.PeerCandidate(p.Addr) || c.pardoned(p.Addr, at) {
		return
	}
	write, isNew := c.peers.due(p.Addr, at, every)
	if !write {
		return
	}
	set := nft.SetPeers4
	if p.Addr.Is6() {
		set = nft.SetPeers6
	}
	c.add[set] = append(c.add[set], nft.Element{Addr: p.Addr})
	c.share.publish(share.Entry{Kind: share.KindPeer, Addr: p.Addr.Unmap(), Timeout: st.cfg.Ruleset.PeerTimeout, Protocol: string(p.Protocol), Reason: p.Reason})
	if isNew {
		c.newPeers[set]++
		c.peersLearned++
		if s.metrics != nil {
			s.metrics.PeerLearned()
		}
		st.events.PeerLearned(netip.AddrPortFrom(p.Addr, p.Port), slog.String("protocol", string(p.Protocol)), slogReason(p.Reason))
	}
	if c.store != nil {
		c.store.Put(store.Peer{Addr: p.Addr, Port: p.Port, LastSeen: at, Reason: storeReason(p)})
	}
}

// write sends the collected elements, one atomic batch per set.
func (c *control) write(ctx context.Context) { c.writeAdds(ctx, false) }

// writeAdds sends the collected elements: one atomic batch per set, or with
// load the bounded plain-add batches of LoadElements (a bulk load at start,
// which keeps the countdown of elements already held).
func (c *control) writeAdds(ctx context.Context, load bool) {
	// Peers first: a peer in the set drops the client's next packet to
	// it, which is what detection latency is; the lock (the client's new
	// TCP refused) follows in the same pass. A fresh lock set's first
	// element costs about a millisecond, which went before every first
	// peer.
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6, nft.SetLocked4, nft.SetLocked6} {
		elems := c.add[set]
		if len(elems) == 0 {
			continue
		}
		elems = dedupe(elems)
		start := time.Now()
		add := c.s.fw.AddElements
		if load {
			add = c.s.fw.LoadElements
		}
		err := add(ctx, set, elems)
		if err != nil && !errors.Is(err, nft.ErrSetFull) && c.checkTable(ctx, "failed set write") {
			err = add(ctx, set, elems)
		}
		if errors.Is(err, nft.ErrSetFull) {
			err = c.writeFull(ctx, set, elems)
		}
		c.s.observeWrite(set, len(elems), time.Since(start), err)
		if n := c.newPeers[set]; n > 0 {
			if err == nil {
				c.s.addSetSize(set, n)
			}
			c.newPeers[set] = 0
		}
		if err != nil {
			c.writeErrors++
			if ctx.Err() == nil || !errors.Is(err, context.Canceled) {
				c.s.log.Error("kernel set update failed", "set", set, "elements", len(elems), "err", err)
			}
			// Forget them so the next evidence retries.
			for _, e := range elems {
				if set == nft.SetPeers4 || set == nft.SetPeers6 {
					c.peers.forget(e.Addr)
				} else {
					c.locks.forget(e.Addr)
				}
			}
		}
	}
}

func dedupe(elems []nft.Element) []nft.Element {
	if len(elems) < 2 {
		return elems
	}
	slices.SortFunc(elems, func(a, b nft.Element) int { return a.Addr.Compare(b.Addr) })
	return slices.CompactFunc(elems, func(a, b nft.Element) bool { return a.Addr == b.Addr })
}

// tick sends due probes and forgets lapsed clients.
func (c *control) tick(ctx context.Context) {
	s := c.s
	st := s.state.Load()
	now := s.now()
	c.probes = c.tracker.Due(now, c.probes[:0])
	for _, p := range c.probes {
		src := c.probeSource(st, p.Addr)
		if !src.IsValid() {
			s.log.Warn("no LAN address to probe the client from", "client", p.Addr)
			continue
		}
		if st.dryRun {
			continue
		}
		if !c.tcp.start(ctx, src, p.AddrPort(), s.now) {
			s.log.Debug("TCP time-lock probe skipped: too many in flight", "client", p.AddrPort())
		}
		// The protocol's own probe, where its detector has one and is
		// enabled; the TCP probe above works for every protocol.
		d, ok := st.detectors.Lookup(inspect.Protocol(p.Protocol))
		prober, isProber := d.(inspect.Prober)
		if !ok || !isProber {
			continue
		}
		c.probeBuf = prober.ProbePayload(c.probeBuf[:0], p.Tag)
		if err := s.sender.SendUDP(netip.AddrPortFrom(src, prober.ProbeSourcePort()), p.AddrPort(), c.probeBuf); err != nil {
			if s.metrics != nil {
				s.metrics.NotSent("probe", errors.Is(err, rawsend.ErrBusy))
			}
			s.log.Warn("time-lock probe not sent", "client", p.AddrPort(), "err", err)
			continue
		}
		c.probesSent++
		if s.metrics != nil {
			s.metrics.ProbeSent()
		}
		s.log.Debug("time-lock probe sent", "client", p.AddrPort(), "from", src)
	}
	if c.tracker.ExpiringBy(now) {
		c.syncLocksFromKernel(ctx, now)
	}
	c.lapsed = c.tracker.Expire(now, c.lapsed[:0])
	for _, cl := range c.lapsed {
		c.locks.forget(cl.Addr)
		s.known.forget(cl.Addr)
		// reason says why the lock ended; locked_for why it began.
		st.events.ClientVanished(cl.Addr, slog.String("protocol", orUnknownProtocol(cl.Protocol)),
			slog.String("reason", "no sign of life within --timelock"), slog.String("locked_for", cl.Reason))
		if c.cdir != nil {
			if err := c.cdir.Remove(cl.Addr); err != nil {
				s.log.Warn("client file not removed", "client", cl.Addr, "err", err)
			}
		}
	}
}

// syncLocksFromKernel takes the kernel's lock refreshes into the tracker
// before locks lapse: the kernel restarts a lock element's countdown by
// itself on every connection the lock refuses and every try towards a known
// peer, signs of life of a client that may answer no probe (giFT).
func (c *control) syncLocksFromKernel(ctx context.Context, now time.Time) {
	for _, set := range []string{nft.SetLocked4, nft.SetLocked6} {
		elems, err := c.s.fw.Elements(ctx, set)
		if err != nil {
			c.s.log.Warn("lock refreshes not read from the kernel", "set", set, "err", err)
			return
		}
		for _, e := range elems {
			before, ok := c.tracker.Get(e.Addr)
			c.tracker.Restore(now, e.Addr, e.Expires)
			if after, _ := c.tracker.Get(e.Addr); ok && after.Expires.After(before.Expires) {
				c.keptByKernel++
				if c.s.metrics != nil {
					c.s.metrics.LockKeptByKernel()
				}
				c.s.log.Debug("lock kept by the kernel", "client", e.Addr, "expires_in", e.Expires)
			}
		}
	}
}

// tcpProbeDone takes the result of a TCP time-lock probe: a completed
// handshake is evidence like a probe answer.
func (c *control) tcpProbeDone(ctx context.Context, r tcpProbeResult) {
	s := c.s
	if r.err != nil {
		s.log.Debug("TCP time-lock probe not answered", "client", r.client, "err", r.err)
		return
	}
	s.stats.ProbeAnswers.Add(1)
	if s.metrics != nil {
		s.metrics.ProbeAnswered()
	}
	s.log.Debug("TCP time-lock probe answered", "client", r.client)
	l := learned{at: r.at, lock: true, client: r.client.Addr(), reason: inspect.ReasonProbeAnswer}
	if cl, ok := c.tracker.Get(r.client.Addr()); ok {
		l.protocol, l.port, l.tagLen = inspect.Protocol(cl.Protocol), cl.Port, uint8(copy(l.tag[:], cl.Tag))
	}
	c.batch = append(c.batch[:0], l)
	c.apply(ctx)
}

func (c *control) probeSource(st *runState, client netip.Addr) netip.Addr {
	if client.Is4() && st.cfg.ProbeSource4.IsValid() {
		return st.cfg.ProbeSource4
	}
	if client.Is6() && st.cfg.ProbeSource6.IsValid() {
		return st.cfg.ProbeSource6
	}
	return st.ifs.probeSource(client)
}

func (c *control) saveStore() error {
	if c.store == nil || c.s.state.Load().dryRun {
		return nil // dry-run writes no storefile
	}
	if err := c.store.Save(); err != nil {
		c.s.log.Error("storefile not saved", "file", c.store.Path(), "err", err)
		return fmt.Errorf("storefile %s not saved: %w", c.store.Path(), err)
	}
	return nil
}

// summary reads the kernel's rule counters and set sizes into the metrics;
// with log it also logs their increase since the last logged summary
// (kernel-side drops are not per-packet events).
func (c *control) summary(ctx context.Context, log bool) {
	st, err := c.s.fw.Status(ctx, 0)
	if err != nil || !st.Present {
		if err != nil {
			c.s.log.Warn("rule counters not read", "err", err)
		}
		return
	}
	c.s.observeStatus(st)
	c.observeBypass(st)
	if !log {
		return
	}
	cur := make(map[string]events.Counter, len(st.Counters))
	for _, ct := range st.Counters {
		name := ct.Rule
		if name == "" {
			continue
		}
		cur[name] = events.Counter{Packets: ct.Packets, Bytes: ct.Bytes}
	}
	if c.counters != nil {
		events.CounterSummary(ctx, c.s.log, c.counters, cur)
	}
	c.counters = cur
	if w := c.s.stats.PongsLimited.Load(); w != c.pongsWithheld {
		c.s.log.Warn("spoofed pongs withheld by the rate limit (--pong-rate, --pong-burst)", "withheld", w-c.pongsWithheld, "total", w)
		c.pongsWithheld = w
	}
}

func (c *control) refreshInterfaces() {
	s := c.s
	old := s.state.Load()
	st, err := s.buildState(old.cfg)
	if err != nil {
		s.log.Warn("interfaces not re-read", "err", err)
		return
	}
	s.state.Store(st)
	s.log.Debug("interfaces re-read", "lan_prefixes", st.settings.LAN)
}

// reload re-reads the configuration (SIGHUP) and applies it atomically,
// keeping every set element; a bad configuration keeps the old one.
func (c *control) reload(ctx context.Context) {
	s := c.s
	old := s.state.Load()
	if old.cfg.Reload == nil {
		s.log.Warn("SIGHUP ignored: no configuration to reload")
		return
	}
	next, err := old.cfg.Reload()
	if err == nil {
		next.Reload = old.cfg.Reload
		next.setDefaults()
		err = next.Validate()
	}
	if err == nil {
		err = reloadable(old.cfg, next)
	}
	var st *runState
	if err == nil {
		st, err = s.buildState(next)
	}
	if err != nil {
		s.log.Error("configuration not reloaded; the running one stays in force", "err", err)
		return
	}
	res, err := s.fw.Setup(ctx, next.Ruleset, nft.SetupOptions{})
	if err != nil {
		s.log.Error("configuration not reloaded: ruleset not applied; the running one stays in force", "err", err)
		return
	}
	if st.dryRun && !old.dryRun {
		_ = c.saveStore() // the last save before dry-run writes none
	}
	s.state.Store(st)
	switch {
	case old.dryRun && !st.dryRun:
		// Dry-run off: the sets were kept empty; fill them as a start does.
		peers, locks, err := c.refill(ctx, []string{nft.SetPeers4, nft.SetPeers6, nft.SetLocked4, nft.SetLocked6, nft.SetPardon4, nft.SetPardon6})
		if err == nil {
			err = c.loadPardons(ctx)
		}
		s.log.Warn("dry-run turned off: enforcing; the sets were filled from the storefile", "peers_restored", peers, "locks_restored", locks, "err", err)
	case !old.dryRun && st.dryRun:
		s.log.Warn("dry-run turned on: the rules that drop, reset and lock are removed; the sets keep their elements, unused, until dry-run is turned off")
	}
	if len(res.NewSets) > 0 && !st.dryRun {
		// The table or some of its sets were gone (selfheal.go).
		peers, locks, err := c.refill(ctx, res.NewSets)
		s.log.Warn("sets were missing at reload; refilled them", "sets", res.NewSets, "peers_restored", peers, "locks_restored", locks, "err", err)
	}
	if next.Ruleset.TimeLock != old.cfg.Ruleset.TimeLock {
		s.known.setTTL(next.Ruleset.TimeLock)
		c.tracker = newTracker(next)
		if err := c.restoreLocks(ctx); err != nil {
			s.log.Warn("time-locks not restored after reload", "err", err)
		}
	}
	s.log.Info("configuration reloaded", "ruleset_changed", res.Changed, "changes", describeChanges(old.cfg, next))
}

// reloadable refuses changes that need a restart.
func reloadable(old, next Config) error {
	switch {
	case old.Ruleset.QueueNum != next.Ruleset.QueueNum || old.Ruleset.Queues != next.Ruleset.Queues:
		return errors.New("--queue/--queues changed: restart ftwall to change the queues")
	case old.Store != next.Store:
		return errors.New("--store changed: restart ftwall to change the storefile")
	case old.ClientDir != next.ClientDir:
		return errors.New("--client-dir changed: restart ftwall to change the client directory")
	case old.RunDir != next.RunDir:
		return errors.New("--run-dir changed: restart ftwall to change the run directory")
	case old.MetricsListen != next.MetricsListen:
		return errors.New("--metrics-listen changed: restart ftwall to change the metrics listener")
	case !reflect.DeepEqual(old.Share, next.Share):
		return errors.New("the --share-* options changed: restart ftwall to change sharing")
	}
	return nil
}

// drain applies evidence the readers handed over before they stopped.
func (c *control) drain(ctx context.Context) {
	for {
		select {
		case l := <-c.s.learnCh:
			c.batch = append(c.batch[:0], l)
			c.collect()
			c.apply(ctx)
		default:
			return
		}
	}
}

// shutdown writes the storefile one last time; a failure is the stop's
// error (exit status 1), since the peers learned since the last save are
// lost.
func (c *control) shutdown(ctx context.Context) error {
	err := c.saveStore()
	c.macs.close()
	return err
}

// orUnknownProtocol names the protocol of a lock restored without one.
func orUnknownProtocol(p string) string {
	if p == "" {
		return "unknown"
	}
	return p
}

// writeFull writes elems one by one after the kernel refused the batch
// because set is full (its size, --max-peers): refreshes of elements the
// kernel holds succeed, new ones are left out, counted, and warned about
// at most once a minute. The kernel keeps dropping every peer it holds;
// new peers are blocked again once old ones expire.
func (c *control) writeFull(ctx context.Context, set string, elems []nft.Element) error {
	s := c.s
	left := 0
	for i, e := range elems {
		err := s.fw.AddElements(ctx, set, elems[i:i+1])
		switch {
		case errors.Is(err, nft.ErrSetFull):
			left++
			if set == nft.SetPeers4 || set == nft.SetPeers6 {
				c.peers.forget(e.Addr)
			} else {
				c.locks.forget(e.Addr)
			}
		case err != nil:
			return err
		}
	}
	c.setFullDrops += uint64(left)
	if s.metrics != nil {
		s.metrics.SetFull(set, left)
	}
	if now := s.now(); left > 0 && now.Sub(c.setFullWarned) >= time.Minute {
		c.setFullWarned = now
		s.log.Warn("set is full: new elements are not added until old ones expire; the kernel keeps dropping those it holds",
			"set", set, "left_out", left, "hint", "raise --max-peers, or shorten --peer-timeout")
	}
	return nil
}

// observeBypass estimates the candidates that fail-open let through
// uninspected since start: packets the queue rules counted minus packets
// the readers received (the kernel counts fail-open accepts nowhere). The
// estimate can run ahead by the packets waiting in a queue at that moment.
func (c *control) observeBypass(st *nft.Status) {
	var queued uint64
	for _, ct := range st.Counters {
		if strings.HasPrefix(ct.Rule, nft.QueueRulePrefix) {
			queued += ct.Packets
		}
	}
	handled := c.s.stats.Accepted.Load() + c.s.stats.Dropped.Load()
	if !c.bypassBase {
		c.bypassBase, c.queued0, c.handled0 = true, queued, handled
		return
	}
	q, h := queued-c.queued0, handled-c.handled0
	if queued < c.queued0 { // counters reset (table re-created)
		c.queued0, c.handled0 = queued, handled
		return
	}
	var bypassed uint64
	if q > h {
		bypassed = q - h
	}
	if c.s.metrics != nil {
		c.s.metrics.SetQueueBypassed(bypassed)
	}
	if bypassed > c.bypassLogged {
		c.s.log.Warn("candidates passed uninspected: the inspector could not keep up and the queue failed open", "since_start", bypassed, "new", bypassed-c.bypassLogged)
		c.bypassLogged = bypassed
	}
}
