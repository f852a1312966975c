package service

import (
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ftwall/ftwall/internal/clientdir"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/metrics"
	"github.com/ftwall/ftwall/internal/share"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// Rejection reasons of shared entries (status, metrics, the log).
const (
	rejectNotCandidate = "not-candidate" // LAN, own, protected, allowlisted or not public
	rejectNotLAN       = "not-lan"       // a lock of an address outside this gateway's LANs
	rejectPardoned     = "pardoned"      // an operator here unblocked or unlocked it
	rejectNoTimeLock   = "no-timelock"   // a lock, and this gateway runs without time-lock
	numRejects         = 4
)

var rejectNames = [numRejects]string{rejectNotCandidate, rejectNotLAN, rejectPardoned, rejectNoTimeLock}

// shareCounters are what the control goroutine did with shared entries,
// read by status and the metrics.
type shareCounters struct {
	applied  [2]atomic.Uint64 // by share.Kind
	deleted  [2]atomic.Uint64
	expired  atomic.Uint64
	rejected [numRejects]atomic.Uint64
	// lagNanos is the age of the last live entry applied (server store
	// time to kernel write).
	lagNanos atomic.Int64
	loaded   atomic.Bool
}

// shareApply is the control goroutine's state for shared entries.
type shareApply struct {
	client *share.Client
	// logged holds the addresses whose rejection was logged (once each,
	// bounded).
	logged    map[netip.Addr]bool
	loadStart time.Time
	loadN     int
	// loadedKinds are the buckets whose contents at start are applied.
	loadedKinds [2]bool
	dels        map[string][]netip.Addr
}

// maxRejectLogs bounds the rejections logged one by one.
const maxRejectLogs = 1000

func newShareApply(c *share.Client, now time.Time) *shareApply {
	return &shareApply{client: c, logged: map[netip.Addr]bool{}, loadStart: now, dels: map[string][]netip.Addr{}}
}

// openShare connects to the share when it is configured (not in dry-run).
func (s *Service) openShare(cfg Config) (*share.Client, error) {
	if !cfg.Share.Enabled() || cfg.DryRun {
		if cfg.Share.Enabled() {
			s.log.Info("share: not connected in dry-run (nothing is published or applied)")
		}
		return nil, nil
	}
	sc := cfg.Share
	sc.PeerTTL, sc.LockTTL = cfg.Ruleset.PeerTimeout, cfg.Ruleset.TimeLock
	return share.Open(sc, s.log)
}

// publish hands e to the share (nothing when not sharing); the client
// drops what the mode does not publish.
func (sh *shareApply) publish(e share.Entry) {
	if sh == nil {
		return
	}
	e.Reason = clipText(e.Reason, share.MaxReason)
	sh.client.Publish(e)
}

// publishDelete shares an unblock or unlock.
func (sh *shareApply) publishDelete(kind share.Kind, a netip.Addr) {
	if sh != nil {
		sh.client.Delete(kind, a)
	}
}

// clipText shortens s to at most n bytes without cutting a character in
// two (a cut one would make the entry unpublishable).
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// applyShared writes a batch of entries other gateways published to the
// kernel, after the checks local evidence gets: protected, allowlisted, own,
// LAN and non-public addresses are never blocked, a lock must name a client
// of this gateway's LANs, and what an operator pardoned here stays pardoned.
func (c *control) applyShared(ctx context.Context, b share.Batch) {
	s := c.s
	st := s.state.Load()
	cfg := st.cfg
	sh := c.share
	ctr := &s.shareCtr
	now := s.now()
	for k := range c.add {
		c.add[k] = c.add[k][:0]
	}
	for k := range sh.dels {
		sh.dels[k] = sh.dels[k][:0]
	}
	kind := b.Kind
	limit := cfg.Ruleset.PeerTimeout
	if kind == share.KindLock {
		limit = cfg.Ruleset.TimeLock
	}
	var lag time.Duration
	for i := range b.Entries {
		e := &b.Entries[i]
		a := e.Addr.Unmap()
		if kind == share.KindLock && !c.tracker.Enabled() {
			c.rejectShared(e, 3, "this gateway runs without time-lock (--timelock 0)")
			continue
		}
		if e.Deleted {
			c.deleteShared(kind, a)
			ctr.deleted[kind].Add(1)
			continue
		}
		switch kind {
		case share.KindPeer:
			if !st.settings.PeerCandidate(a) {
				c.rejectShared(e, 0, "a LAN, own, protected or allowlisted address, or not a public one")
				continue
			}
		case share.KindLock:
			if !st.settings.IsLAN(a) || st.settings.IsOwn(a) || st.settings.Allowed(a) {
				c.rejectShared(e, 1, "not a client address of this gateway's LANs (or an own or allowlisted one)")
				continue
			}
		}
		if c.pardoned(a, now) {
			c.rejectShared(e, 2, "an operator here unblocked or unlocked it")
			continue
		}
		left, forever := e.Remaining(now, limit)
		if !forever && left < time.Second {
			ctr.expired.Add(1)
			continue
		}
		el := nft.Element{Addr: a}
		if !forever {
			el.Timeout = left.Truncate(time.Second)
		}
		if kind == share.KindPeer {
			set := peerSet(a)
			c.add[set] = append(c.add[set], el)
			if c.store != nil {
				last := now
				if limit > 0 {
					last = now.Add(-(limit - min(left, limit)))
				}
				c.store.Put(store.Peer{Addr: a, LastSeen: last, Reason: sharedReason(e)})
			}
		} else {
			c.tracker.Restore(now, a, left)
			s.known.mark(a, now)
			if proto, port, tag, ok := parseLockComment(e.Probe); ok {
				c.tracker.SetProbeTarget(a, proto, port, []byte(tag))
				el.Comment = e.Probe
			}
			c.locks.forget(a)
			set := lockSet(a)
			c.add[set] = append(c.add[set], el)
			if c.cdir != nil {
				if cl, ok := c.tracker.Get(a); ok {
					if _, err := c.cdir.Put(clientdir.FromClient(cl)); err != nil {
						s.log.Warn("client file not written", "client", a, "err", err)
					}
				}
			}
		}
		ctr.applied[kind].Add(1)
		if !b.Initial {
			lag = max(lag, now.Sub(e.Stored))
		}
	}
	c.writeShared(ctx, b.Initial)
	if lag > 0 {
		ctr.lagNanos.Store(int64(lag))
	}
	if b.Initial {
		sh.loadN += len(b.Entries)
	}
	if b.Loaded {
		sh.loadedKinds[kind] = true
		all := sh.loadedKinds[share.KindPeer] && (sh.loadedKinds[share.KindLock] || !sh.client.Mode().SharesLocks())
		if all && !ctr.loaded.Load() {
			ctr.loaded.Store(true)
			s.log.Info("shared entries loaded", "entries", sh.loadN, "took", time.Since(sh.loadStart).Round(time.Millisecond),
				"applied_peers", ctr.applied[share.KindPeer].Load(), "applied_locks", ctr.applied[share.KindLock].Load(), "rejected", c.sharedRejected())
		}
	}
}

func sharedReason(e *share.Entry) string {
	r := "shared"
	if e.Gateway != "" {
		r += " from " + e.Gateway
	}
	if e.Protocol != "" {
		return e.Protocol + "/" + r
	}
	return r
}

// writeShared writes the batch: additions through the learning path's
// writer (bulk plain adds for the initial contents, like the storefile),
// then deletions.
func (c *control) writeShared(ctx context.Context, initial bool) {
	s := c.s
	c.writeAdds(ctx, initial)
	for set, addrs := range c.share.dels {
		if len(addrs) == 0 {
			continue
		}
		if err := s.fw.DeleteElements(ctx, set, addrs); err != nil {
			c.writeErrors++
			s.log.Error("shared deletions not written to the kernel", "set", set, "elements", len(addrs), "err", err)
		}
	}
}

// deleteShared removes an address another gateway unblocked or unlocked.
func (c *control) deleteShared(kind share.Kind, a netip.Addr) {
	s := c.s
	if kind == share.KindPeer {
		set := peerSet(a)
		c.share.dels[set] = append(c.share.dels[set], a)
		c.peers.forget(a)
		if c.store != nil {
			c.store.Delete(a)
		}
		return
	}
	set := lockSet(a)
	c.share.dels[set] = append(c.share.dels[set], a)
	c.tracker.Forget(a)
	c.locks.forget(a)
	s.known.forget(a)
	if c.cdir != nil {
		if err := c.cdir.Remove(a); err != nil {
			s.log.Warn("client file not removed", "client", a, "err", err)
		}
	}
}

// rejectShared counts a refused entry and logs it once per address.
func (c *control) rejectShared(e *share.Entry, reason int, why string) {
	c.s.shareCtr.rejected[reason].Add(1)
	sh := c.share
	if sh.logged[e.Addr] {
		return
	}
	switch {
	case len(sh.logged) < maxRejectLogs:
		sh.logged[e.Addr] = true
		c.s.log.Warn("shared entry rejected, not applied", "kind", e.Kind.String(), "addr", e.Addr, "gateway", e.Gateway, "reason", rejectNames[reason], "why", why)
	case len(sh.logged) == maxRejectLogs:
		sh.logged[netip.Addr{}] = true
		c.s.log.Warn("shared entries rejected: further rejections are counted, not logged (ftwall status, ftwall_share_rejected_total)", "logged", maxRejectLogs)
	}
}

func (c *control) sharedRejected() uint64 {
	var n uint64
	for i := range c.s.shareCtr.rejected {
		n += c.s.shareCtr.rejected[i].Load()
	}
	return n
}

// shareInfo is the share part of ftwall status (nil: not sharing).
func (s *Service) shareInfo() *ctl.ShareInfo {
	cl := s.shareClient.Load()
	if cl == nil {
		return nil
	}
	ctr := &s.shareCtr
	info := &ctl.ShareInfo{
		Stats:        cl.Stats(),
		Loaded:       ctr.loaded.Load(),
		AppliedPeers: ctr.applied[share.KindPeer].Load(), AppliedLocks: ctr.applied[share.KindLock].Load(),
		Deleted:   ctr.deleted[share.KindPeer].Load() + ctr.deleted[share.KindLock].Load(),
		Expired:   ctr.expired.Load(),
		Rejected:  map[string]uint64{},
		LagMillis: float64(ctr.lagNanos.Load()) / 1e6,
	}
	for i, n := range rejectNames {
		if v := ctr.rejected[i].Load(); v > 0 {
			info.Rejected[n] = v
		}
	}
	return info
}

// logShareStop logs the share's totals at exit.
func (s *Service) logShareStop() {
	if info := s.shareInfo(); info != nil {
		s.log.Info("share stopped", slog.Any("share", info))
	}
}

// shareMetrics reads the share figures for a scrape.
func (s *Service) shareMetrics() metrics.ShareStats {
	info := s.shareInfo()
	if info == nil {
		return metrics.ShareStats{}
	}
	return metrics.ShareStats{
		Connected: info.Connected, Loaded: info.Loaded,
		Published: info.Published, PublishErrors: info.PublishErrors, Dropped: info.Dropped, Backlog: info.Backlog,
		Received: info.Entries, Undecodable: info.Undecodable,
		AppliedPeers: info.AppliedPeers, AppliedLocks: info.AppliedLocks,
		Deleted: info.Deleted, Expired: info.Expired, Rejected: info.Rejected,
		LagSeconds: info.LagMillis / 1000, Reconnects: info.Reconnects, ConsumersLost: info.ConsumersLost,
	}
}
