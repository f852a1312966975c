package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// Self-healing: someone else's `nft flush ruleset` (the first line of
// Debian's nftables.conf, so every `systemctl reload nftables`), `nft delete
// table inet ftwall` or a change to one of its rules would otherwise switch
// ftwall off silently. A watcher goroutine follows the kernel's nftables
// notifications and asks the control goroutine for a check; the control
// goroutine also checks every tableCheckEvery. A check compares the table
// with the ruleset last applied (nft.Firewall.Check, no elements read); only
// when they differ does the control goroutine re-apply the ruleset and fill
// the sets that came back empty: the peers from the storefile merged with
// those learned since its last save, the locks from the time-lock tracker.
// ftwall's own writes leave the table in sync, so their notifications cost
// one check each and never a repair.

// tableCheckEvery is the backstop check's period: a change the watcher
// missed (no subscription, lost notifications) is repaired within it plus
// the repair's own time.
const tableCheckEvery = time.Second

// repairErrorEvery bounds how often a failing check or repair is logged.
const repairErrorEvery = time.Minute

// rulesetWatcher delivers nftables change notifications (nft.Monitor): Run
// calls changed for each until ctx is done.
type rulesetWatcher interface {
	Run(ctx context.Context, changed func(nft.Change)) error
}

// rulesetWatchOpener is a Firewall that can subscribe to its notifications
// (*nft.Kernel).
type rulesetWatchOpener interface {
	WatchRuleset() (*nft.Monitor, error)
}

func (s *Service) requestTableCheck() {
	select {
	case s.tableCheck <- struct{}{}:
	default:
	}
}

// watchRuleset starts the goroutine that turns nftables notifications about
// table inet ftwall into table checks (coalesced: requestTableCheck never
// queues more than one). It never writes to nftables. Without a
// subscription the periodic check remains. stop ends the goroutine and
// waits for it.
func (s *Service) watchRuleset(ctx context.Context) (stop func()) {
	open := s.deps.WatchRuleset
	if open == nil {
		o, ok := s.fw.(rulesetWatchOpener)
		if !ok {
			return func() {}
		}
		open = func() (rulesetWatcher, error) { return o.WatchRuleset() }
	}
	w, err := open()
	if err != nil {
		s.log.Warn("nftables notifications not followed: changes to table inet ftwall by others are found by the check every second alone", "err", err)
		return func() {}
	}
	return goStoppable(ctx, func(ctx context.Context) {
		err := w.Run(ctx, func(ch nft.Change) {
			if ch.Overflow {
				s.log.Debug("nftables notifications lost (socket buffer overflow); checking the table")
			} else {
				s.log.Debug("nftables notification", "change", ch.What, "portid", ch.PortID)
			}
			s.requestTableCheck()
		})
		if err != nil {
			s.log.Warn("nftables notifications no longer followed: changes to table inet ftwall by others are found by the check every second alone", "err", err)
		}
	})
}

// checkTable compares the table with the ruleset last applied and repairs
// it when someone else changed it; it reports whether it did. Nothing is
// checked once the service stops (a --teardown-on-exit is its own).
func (c *control) checkTable(ctx context.Context, trigger string) bool {
	s := c.s
	if c.stopping || ctx.Err() != nil {
		return false
	}
	d, err := s.fw.Check(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.repairError("table inet ftwall not checked", err)
		}
		return false
	}
	if s.metrics != nil {
		s.metrics.SetTablePresent(d.Present)
	}
	if d.InSync {
		return false
	}
	return c.repair(ctx, d, trigger)
}

// repairError logs err at most once every repairErrorEvery.
func (c *control) repairError(msg string, err error) {
	if now := time.Now(); c.repairErrLogged.IsZero() || now.Sub(c.repairErrLogged) >= repairErrorEvery {
		c.repairErrLogged = now
		c.s.log.Error(msg+"; retrying every second", "err", err)
	}
}

// repair re-applies the running configuration and refills the sets that
// came back empty.
func (c *control) repair(ctx context.Context, d nft.Drift, trigger string) bool {
	s := c.s
	start := time.Now()
	cfg := s.state.Load().cfg
	res, err := s.fw.Setup(ctx, cfg.Ruleset, nft.SetupOptions{})
	if err != nil {
		what := "table inet ftwall was changed by someone else (" + strings.Join(d.Reasons, "; ") + ") and could not be re-applied: peers are not blocked and locks do not hold"
		c.repairError(what, err)
		return false
	}
	if !res.Changed {
		return false // put back meanwhile (by ftwall setup, say)
	}
	peers, locks, err := c.refill(ctx, res.NewSets)
	c.tableRepairs++
	c.counters = nil // the rule counters restart from zero
	if s.metrics != nil {
		s.metrics.TableRepaired()
		s.metrics.SetTablePresent(true)
	}
	attrs := []any{"what", strings.Join(d.Reasons, "; "), "found_by", trigger, "sets_refilled", res.NewSets,
		"peers_restored", peers, "locks_restored", locks, "took", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		attrs = append(attrs, "restore_err", err)
	}
	s.log.Warn("table inet ftwall was removed or changed by someone else; re-created it with its peers and locks", attrs...)
	return true
}

// refill writes the elements of the peers and locked sets that Setup
// created empty (sets): peers from the storefile and those learned since
// its last save (without a storefile, those the control goroutine wrote
// lately), locks from the tracker, each with its remaining lifetime.
func (c *control) refill(ctx context.Context, sets []string) (peers, locks int, err error) {
	if c.s.state.Load().dryRun {
		return 0, 0, nil // dry-run writes no element
	}
	var errs []error
	want := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			if slices.Contains(sets, n) {
				m[n] = true
			}
		}
		return m
	}
	if ps := want(nft.SetPeers4, nft.SetPeers6); len(ps) > 0 {
		n, err := c.restorePeers(ctx, ps)
		peers = n
		errs = append(errs, err)
	}
	if ls := want(nft.SetLocked4, nft.SetLocked6); len(ls) > 0 {
		n, err := c.restoreLockElements(ctx, ls)
		locks = n
		errs = append(errs, err)
	}
	if ps := want(nft.SetPardon4, nft.SetPardon6); len(ps) > 0 {
		_, err := c.restorePardons(ctx, ps)
		errs = append(errs, err)
	}
	return peers, locks, errors.Join(errs...)
}

// restorePeers loads the known peers into the sets named.
func (c *control) restorePeers(ctx context.Context, sets map[string]bool) (int, error) {
	s := c.s
	st := s.state.Load()
	timeout := st.cfg.Ruleset.PeerTimeout
	now := s.now()
	w := chunkWriter{fw: s.fw, sets: sets}
	add := func(a netip.Addr, lastSeen time.Time) error {
		if !st.settings.PeerCandidate(a) {
			return nil
		}
		e := nft.Element{Addr: a}
		if timeout > 0 {
			left := timeout - now.Sub(lastSeen)
			if left < time.Second {
				return nil
			}
			e.Timeout = left.Truncate(time.Second)
		}
		set := nft.SetPeers4
		if a.Is6() {
			set = nft.SetPeers6
		}
		return w.add(ctx, set, e)
	}
	if c.store != nil {
		err := c.store.Each(func(p store.Peer) error { return add(p.Addr, p.LastSeen) })
		if err == nil {
			err = w.flush(ctx)
		}
		if err != nil {
			return w.written, fmt.Errorf("restore the storefile's peers: %w", err)
		}
		return w.written, nil
	}
	// No storefile: the peers written lately are all that is known.
	for a, at := range c.peers.seen {
		if err := add(a, at); err != nil {
			return w.written, fmt.Errorf("restore the peers learned: %w", err)
		}
	}
	if err := w.flush(ctx); err != nil {
		return w.written, fmt.Errorf("restore the peers learned: %w", err)
	}
	return w.written, nil
}

// restoreLockElements writes the tracker's locked clients into the sets
// named, with their remaining time and probe target comment.
func (c *control) restoreLockElements(ctx context.Context, sets map[string]bool) (int, error) {
	if !c.tracker.Enabled() {
		return 0, nil
	}
	s := c.s
	now := s.now()
	w := chunkWriter{fw: s.fw, sets: sets}
	for _, cl := range c.tracker.Clients(nil) {
		left := cl.Expires.Sub(now).Round(time.Millisecond)
		if left < time.Millisecond {
			continue // lapses at the next tick
		}
		set := nft.SetLocked4
		if cl.Addr.Is6() {
			set = nft.SetLocked6
		}
		e := nft.Element{Addr: cl.Addr, Timeout: left, Comment: lockComment(cl.Protocol, cl.Port, []byte(cl.Tag))}
		if err := w.add(ctx, set, e); err != nil {
			return w.written, fmt.Errorf("restore the locks: %w", err)
		}
	}
	if err := w.flush(ctx); err != nil {
		return w.written, fmt.Errorf("restore the locks: %w", err)
	}
	return w.written, nil
}

// chunkWriter collects elements per set and loads them in chunks of
// loadChunk; sets not named are skipped.
type chunkWriter struct {
	fw      nft.Firewall
	sets    map[string]bool
	buf     map[string][]nft.Element
	written int
}

func (w *chunkWriter) add(ctx context.Context, set string, e nft.Element) error {
	if !w.sets[set] {
		return nil
	}
	if w.buf == nil {
		w.buf = map[string][]nft.Element{}
	}
	w.buf[set] = append(w.buf[set], e)
	if len(w.buf[set]) >= loadChunk {
		return w.write(ctx, set)
	}
	return nil
}

func (w *chunkWriter) write(ctx context.Context, set string) error {
	elems := w.buf[set]
	if len(elems) == 0 {
		return nil
	}
	if err := w.fw.LoadElements(ctx, set, elems); err != nil {
		return fmt.Errorf("load %d elements into %s: %w", len(elems), set, err)
	}
	w.written += len(elems)
	w.buf[set] = elems[:0]
	return nil
}

func (w *chunkWriter) flush(ctx context.Context) error {
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6, nft.SetLocked4, nft.SetLocked6, nft.SetPardon4, nft.SetPardon6} {
		if err := w.write(ctx, set); err != nil {
			return err
		}
	}
	return nil
}
