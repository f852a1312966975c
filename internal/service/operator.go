package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/buildinfo"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// ctlCall is one operator request handed from the control socket to the
// control goroutine, which alone writes to nftables.
type ctlCall struct {
	req   ctl.Request
	reply chan ctl.Response
}

// serveControl answers the control socket until ctx is done.
func (s *Service) serveControl(ctx context.Context, srv *ctl.Server) {
	srv.Serve(ctx, func(rctx context.Context, req ctl.Request) ctl.Response {
		call := ctlCall{req: req, reply: make(chan ctl.Response, 1)}
		select {
		case s.ctlCh <- call:
		case <-rctx.Done():
			return ctl.Response{Error: "the service did not take the request in time"}
		}
		select {
		case r := <-call.reply:
			return r
		case <-rctx.Done():
			return ctl.Response{Error: "the service did not answer in time"}
		}
	})
}

// ManualReason is the reason of a peer an operator blocked (ftwall block),
// in the storefile "manual/<text>" and in the element comment.
const ManualReason = "manual"

// operate carries out an operator request.
func (c *control) operate(ctx context.Context, req ctl.Request) ctl.Response {
	st := c.s.state.Load()
	if req.Op == ctl.OpInfo {
		return ctl.Response{Info: c.info(st)}
	}
	if st.dryRun {
		return ctl.Response{Error: "the service runs with --dry-run and writes no set; turn dry-run off (and reload) first"}
	}
	addrs, results := parseAddrs(req.Addrs)
	var res []ctl.Result
	switch req.Op {
	case ctl.OpBlock:
		res = c.block(ctx, st, addrs, req.Timeout, req.Reason)
	case ctl.OpUnblock:
		res = c.unblock(ctx, addrs, req.Pardon)
	case ctl.OpUnlock:
		res = c.unlock(ctx, addrs, req.Pardon)
	default:
		return ctl.Response{Error: fmt.Sprintf("unknown request %q", req.Op)}
	}
	return ctl.Response{Results: append(results, res...)}
}

func (c *control) info(st *runState) *ctl.Info {
	cfg := st.cfg
	var protos []string
	for _, d := range cfg.Detectors {
		protos = append(protos, string(d.Protocol()))
	}
	fp, _ := nft.Fingerprint(cfg.Ruleset, c.backend)
	return &ctl.Info{
		PID: os.Getpid(), Version: buildinfo.Version(), Started: c.started,
		Backend: c.backend.String(), DryRun: st.dryRun,
		LAN: cfg.Ruleset.LAN, WAN: cfg.Ruleset.WAN,
		QueueNum: cfg.Ruleset.QueueNum, Queues: cfg.Ruleset.Queues,
		Protocols: protos, Store: cfg.Store, Fingerprint: fp,
	}
}

// parseAddrs parses the request's addresses; those that do not parse get a
// result of their own.
func parseAddrs(in []string) ([]netip.Addr, []ctl.Result) {
	var out []netip.Addr
	var bad []ctl.Result
	for _, s := range in {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || a.Zone() != "" {
			bad = append(bad, ctl.Result{Addr: s, Error: "not an IPv4 or IPv6 address"})
			continue
		}
		out = append(out, a.Unmap())
	}
	return out, bad
}

func peerSet(a netip.Addr) string {
	if a.Is6() {
		return nft.SetPeers6
	}
	return nft.SetPeers4
}

func lockSet(a netip.Addr) string {
	if a.Is6() {
		return nft.SetLocked6
	}
	return nft.SetLocked4
}

func pardonSet(a netip.Addr) string {
	if a.Is6() {
		return nft.SetPardon6
	}
	return nft.SetPardon4
}

// block adds addrs to the peer sets (with their own timeout, or the set's),
// records them in the storefile (not those with their own timeout: the
// storefile restores peers with --peer-timeout) and ends their pardons.
func (c *control) block(ctx context.Context, st *runState, addrs []netip.Addr, timeout time.Duration, reason string) []ctl.Result {
	s := c.s
	now := s.now()
	comment := manualComment(reason)
	var res []ctl.Result
	add := map[string][]nft.Element{}
	var ok []netip.Addr
	for _, a := range addrs {
		if !st.settings.PeerCandidate(a) {
			res = append(res, ctl.Result{Addr: a.String(), Error: "not blocked: a LAN, own, protected or allowlisted address, or not a public one"})
			continue
		}
		add[peerSet(a)] = append(add[peerSet(a)], nft.Element{Addr: a, Timeout: timeout, Comment: comment})
		ok = append(ok, a)
	}
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6} {
		if len(add[set]) == 0 {
			continue
		}
		if err := s.fw.AddElements(ctx, set, add[set]); err != nil {
			for _, e := range add[set] {
				res = append(res, ctl.Result{Addr: e.Addr.String(), Error: fmt.Sprintf("not blocked: %v", err)})
			}
			ok = removeAddrs(ok, add[set])
			continue
		}
		s.addSetSize(set, len(add[set]))
	}
	c.endPardons(ctx, ok)
	for _, a := range ok {
		c.peers.seen[a] = now
		if c.store != nil && timeout == 0 {
			c.store.Put(store.Peer{Addr: a, LastSeen: now, Reason: ManualReason + "/" + reason})
		}
		s.log.Info("peer blocked by the operator", "peer", a, "reason", reason, "timeout", timeout)
		res = append(res, ctl.Result{Addr: a.String(), Done: "blocked"})
	}
	if len(ok) > 0 {
		_ = c.saveStore()
	}
	return res
}

// manualComment is the element comment of an operator's block.
func manualComment(reason string) string {
	c := ManualReason
	if reason != "" {
		c += ": " + reason
	}
	if len(c) > 200 {
		c = c[:200]
	}
	return c
}

func removeAddrs(addrs []netip.Addr, elems []nft.Element) []netip.Addr {
	gone := map[netip.Addr]bool{}
	for _, e := range elems {
		gone[e.Addr] = true
	}
	out := addrs[:0]
	for _, a := range addrs {
		if !gone[a] {
			out = append(out, a)
		}
	}
	return out
}

// unblock removes addrs from the peer sets, the storefile and memory, and
// pardons them for pardon.
func (c *control) unblock(ctx context.Context, addrs []netip.Addr, pardon time.Duration) []ctl.Result {
	s := c.s
	was := c.present(ctx, addrs, peerSet)
	var res []ctl.Result
	ok, failed := c.deleteFrom(ctx, addrs, peerSet)
	res = append(res, failed...)
	if c.store != nil {
		c.store.Delete(ok...)
	}
	for _, a := range ok {
		c.peers.forget(a)
		if was[a] {
			c.s.addSetSize(peerSet(a), -1)
		}
	}
	c.pardon(ctx, ok, pardon)
	for _, a := range ok {
		done := "unblocked"
		if !was[a] {
			done = "was not blocked"
		}
		s.log.Info("peer unblocked by the operator", "peer", a, "was_blocked", was[a], "pardon", pardon)
		res = append(res, ctl.Result{Addr: a.String(), Done: done})
	}
	if len(ok) > 0 {
		_ = c.saveStore()
	}
	return res
}

// unlock ends the time-lock of addrs and pardons them for pardon.
func (c *control) unlock(ctx context.Context, addrs []netip.Addr, pardon time.Duration) []ctl.Result {
	s := c.s
	was := c.present(ctx, addrs, lockSet)
	var res []ctl.Result
	ok, failed := c.deleteFrom(ctx, addrs, lockSet)
	res = append(res, failed...)
	for _, a := range ok {
		c.tracker.Forget(a)
		c.locks.forget(a)
		s.known.forget(a)
		if c.cdir != nil {
			if err := c.cdir.Remove(a); err != nil {
				s.log.Warn("client file not removed", "client", a, "err", err)
			}
		}
	}
	c.pardon(ctx, ok, pardon)
	for _, a := range ok {
		done := "unlocked"
		if !was[a] {
			done = "was not locked"
		}
		s.log.Info("client unlocked by the operator", "client", a, "was_locked", was[a], "pardon", pardon)
		res = append(res, ctl.Result{Addr: a.String(), Done: done})
	}
	return res
}

// present reports which of addrs are in their set now.
func (c *control) present(ctx context.Context, addrs []netip.Addr, setOf func(netip.Addr) string) map[netip.Addr]bool {
	want := map[netip.Addr]bool{}
	sets := map[string]bool{}
	for _, a := range addrs {
		want[a] = true
		sets[setOf(a)] = true
	}
	out := map[netip.Addr]bool{}
	for set := range sets {
		_ = c.s.fw.EachElement(ctx, set, func(e nft.Element) bool {
			if want[e.Addr] {
				out[e.Addr] = true
			}
			return true
		})
	}
	return out
}

// deleteFrom deletes addrs from their sets; it returns those done and a
// result for each that failed.
func (c *control) deleteFrom(ctx context.Context, addrs []netip.Addr, setOf func(netip.Addr) string) ([]netip.Addr, []ctl.Result) {
	by := map[string][]netip.Addr{}
	var order []string
	for _, a := range addrs {
		set := setOf(a)
		if by[set] == nil {
			order = append(order, set)
		}
		by[set] = append(by[set], a)
	}
	var ok []netip.Addr
	var failed []ctl.Result
	for _, set := range order {
		if err := c.s.fw.DeleteElements(ctx, set, by[set]); err != nil {
			for _, a := range by[set] {
				failed = append(failed, ctl.Result{Addr: a.String(), Error: fmt.Sprintf("not removed from %s: %v", set, err)})
			}
			continue
		}
		ok = append(ok, by[set]...)
	}
	return ok, failed
}

// pardon remembers addrs as not to be learned or locked for d, in memory and
// in the kernel's pardon sets (so a restart keeps the pardon).
func (c *control) pardon(ctx context.Context, addrs []netip.Addr, d time.Duration) {
	if d <= 0 || len(addrs) == 0 {
		return
	}
	until := c.s.now().Add(d)
	add := map[string][]nft.Element{}
	for _, a := range addrs {
		c.pardons[a] = until
		add[pardonSet(a)] = append(add[pardonSet(a)], nft.Element{Addr: a, Timeout: d})
	}
	for set, elems := range add {
		if err := c.s.fw.AddElements(ctx, set, elems); err != nil {
			c.s.log.Warn("pardon not written to the kernel: it holds until ftwall run stops", "set", set, "err", err)
		}
	}
}

// endPardons ends the pardons of addrs.
func (c *control) endPardons(ctx context.Context, addrs []netip.Addr) {
	by := map[string][]netip.Addr{}
	for _, a := range addrs {
		if _, ok := c.pardons[a]; ok {
			delete(c.pardons, a)
		}
		by[pardonSet(a)] = append(by[pardonSet(a)], a)
	}
	for set, as := range by {
		if err := c.s.fw.DeleteElements(ctx, set, as); err != nil && !errors.Is(err, context.Canceled) {
			c.s.log.Warn("pardon not removed from the kernel", "set", set, "err", err)
		}
	}
}

// pardoned reports whether a is pardoned at now.
func (c *control) pardoned(a netip.Addr, now time.Time) bool {
	until, ok := c.pardons[a.Unmap()]
	if !ok {
		return false
	}
	if now.Before(until) {
		return true
	}
	delete(c.pardons, a.Unmap())
	return false
}

// loadPardons reads the kernel's pardon sets into memory.
func (c *control) loadPardons(ctx context.Context) error {
	now := c.s.now()
	for _, set := range []string{nft.SetPardon4, nft.SetPardon6} {
		err := c.s.fw.EachElement(ctx, set, func(e nft.Element) bool {
			if e.Expires > 0 {
				c.pardons[e.Addr] = now.Add(e.Expires)
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("read %s: %w", set, err)
		}
	}
	if len(c.pardons) > 0 {
		c.s.log.Info("pardons restored from the kernel", "addresses", len(c.pardons))
	}
	return nil
}

// prunePardons forgets pardons that ended.
func (c *control) prunePardons(now time.Time) {
	for a, until := range c.pardons {
		if !now.Before(until) {
			delete(c.pardons, a)
		}
	}
}

// restorePardons writes the pardons held in memory into the sets named
// (after the table was re-created).
func (c *control) restorePardons(ctx context.Context, sets map[string]bool) (int, error) {
	now := c.s.now()
	w := chunkWriter{fw: c.s.fw, sets: sets}
	for a, until := range c.pardons {
		left := until.Sub(now).Truncate(time.Second)
		if left < time.Second {
			continue
		}
		if err := w.add(ctx, pardonSet(a), nft.Element{Addr: a, Timeout: left}); err != nil {
			return w.written, err
		}
	}
	return w.written, w.flush(ctx)
}
