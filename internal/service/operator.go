package service

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/buildinfo"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/share"
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
	if err := CheckReason(req.Reason); err != nil {
		return ctl.Response{Error: err.Error()}
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
		Share: c.s.shareInfo(),
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

// block carries out an operator's block and keeps the service's memory in
// step: the peers written lately, the pardons, the set gauges.
func (c *control) block(ctx context.Context, st *runState, addrs []netip.Addr, timeout time.Duration, reason string) []ctl.Result {
	op := c.operator(st)
	res, done := op.Block(ctx, addrs, timeout, reason)
	now := c.s.now()
	for _, a := range done {
		delete(c.pardons, a)
		c.peers.seen[a] = now
		c.s.addSetSize(peerSet(a), 1)
		t := timeout
		if t == 0 {
			t = st.cfg.Ruleset.PeerTimeout
		}
		c.share.publish(share.Entry{Kind: share.KindPeer, Addr: a, Timeout: t, Protocol: ManualReason, Reason: reason})
	}
	if len(done) > 0 {
		_ = c.saveStore()
	}
	return res
}

// unblock carries out an operator's unblock, forgetting the peers and
// remembering their pardon.
func (c *control) unblock(ctx context.Context, addrs []netip.Addr, pardon time.Duration) []ctl.Result {
	res, done, was := c.operator(c.s.state.Load()).Unblock(ctx, addrs, pardon)
	until := c.s.now().Add(pardon)
	for _, a := range done {
		c.peers.forget(a)
		c.share.publishDelete(share.KindPeer, a)
		if was[a] {
			c.s.addSetSize(peerSet(a), -1)
		}
		if pardon > 0 {
			c.pardons[a] = until
		}
	}
	if len(done) > 0 {
		_ = c.saveStore()
	}
	return res
}

// unlock carries out an operator's unlock: the tracker, the client files
// and the pardons follow.
func (c *control) unlock(ctx context.Context, addrs []netip.Addr, pardon time.Duration) []ctl.Result {
	s := c.s
	res, done := c.operator(s.state.Load()).Unlock(ctx, addrs, pardon)
	until := s.now().Add(pardon)
	for _, a := range done {
		c.share.publishDelete(share.KindLock, a)
		c.tracker.Forget(a)
		c.locks.forget(a)
		s.known.forget(a)
		if pardon > 0 {
			c.pardons[a] = until
		}
		if c.cdir != nil {
			if err := c.cdir.Remove(a); err != nil {
				s.log.Warn("client file not removed", "client", a, "err", err)
			}
		}
	}
	return res
}

func (c *control) operator(st *runState) *Operator {
	return &Operator{Firewall: c.s.fw, Store: c.store, Candidate: st.settings.PeerCandidate, Log: c.s.log}
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
