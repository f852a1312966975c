package bench

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/metrics"
	"github.com/ftwall/ftwall/nft"
)

// Extra lab addressing for the benchmarks (documentation ranges only).
var (
	// Every address of these prefixes is local to the internet namespace
	// (a "local" route on lo), so probes to any peer there arrive.
	anyPeers4 = netip.MustParsePrefix("198.51.100.0/24")
	anyPeers6 = netip.MustParsePrefix("2001:db8:100::/64")
	// A second IPv4 peer range, routed by the router to the internet
	// namespace, for floods to many distinct peers.
	morePeers4 = netip.MustParsePrefix("192.0.2.0/24")
	// The P4 storefile's peers (never sent any traffic).
	storePeers6 = netip.MustParsePrefix("2001:db8:4000::/48")
)

// extendLab adds the routes the benchmarks need to a fresh lab.
func extendLab(ctx context.Context, l *lab.Lab) error {
	for _, c := range []struct {
		ns   *lab.NS
		args []string
	}{
		{l.Internet, []string{"route", "add", "local", anyPeers4.String(), "dev", "lo"}},
		{l.Internet, []string{"-6", "route", "add", "local", anyPeers6.String(), "dev", "lo"}},
		{l.Router, []string{"route", "add", morePeers4.String(), "via", l.InternetIP4.String(), "dev", lab.IfWAN0}},
		{l.Internet, []string{"route", "add", "local", morePeers4.String(), "dev", "lo"}},
	} {
		if _, err := c.ns.Run(ctx, "ip", c.args...); err != nil {
			return fmt.Errorf("extend the lab: %w", err)
		}
	}
	return nil
}

// peerAddrs4 returns n IPv4 peer addresses: 198.51.100.1… then 192.0.2.1…
// (at most 508).
func peerAddrs4(n int) []netip.Addr {
	var out []netip.Addr
	for _, p := range []netip.Prefix{anyPeers4, morePeers4} {
		a := p.Addr().Next()
		for len(out) < n && p.Contains(a) && a != lastAddr(p) {
			out = append(out, a)
			a = a.Next()
		}
	}
	return out
}

// lastAddr is the highest address of p (its broadcast address for IPv4).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// queueVerdicts reads the router's NFQUEUE statistics and returns, per
// queue number, the packets handed to the reader minus those still waiting
// for a verdict: the packets the reader has verdicted (the queues are
// fail-open, so a full queue accepts without counting, and the reader's
// 8 MiB socket buffer holds a full queue, so no message is lost).
func queueVerdicts(ns *lab.NS) (map[uint16]uint32, error) {
	var st []metrics.QueueStats
	err := ns.Do(func() error {
		var err error
		st, err = metrics.ReadQueueStats(queueStatsPath)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read NFQUEUE statistics of network namespace %s: %w", ns.Name, err)
	}
	out := make(map[uint16]uint32, len(st))
	for _, q := range st {
		out[q.Queue] = q.IDSequence - q.Waiting
	}
	return out, nil
}

// verdictDelta sums after−before over the queues of after (32-bit
// counters, wrapping).
func verdictDelta(before, after map[uint16]uint32) uint64 {
	var n uint64
	for q, v := range after {
		n += uint64(v - before[q])
	}
	return n
}

// waitRouterQueues waits until the router has readers on queues 0..n-1.
func waitRouterQueues(ctx context.Context, ns *lab.NS, n uint16) error {
	var err error
	for range 1000 {
		var m map[uint16]uint32
		m, err = queueVerdicts(ns)
		if err == nil {
			ok := true
			for q := range n {
				if _, found := m[q]; !found {
					ok = false
				}
			}
			if ok {
				return nil
			}
			err = fmt.Errorf("queues 0..%d not all bound in network namespace %s", n-1, ns.Name)
		}
		if e := sleepCtx(ctx, 10*time.Millisecond); e != nil {
			return e
		}
	}
	return err
}

// routerSet returns the addresses in one of ftwall's sets in the router.
func (r *runner) routerSet(ctx context.Context, set string) (map[netip.Addr]bool, error) {
	k, err := nft.Open(nft.WithNetNS(r.lab.Router.Fd()))
	if err != nil {
		return nil, err
	}
	defer k.Close()
	elems, err := k.Elements(ctx, set)
	if err != nil {
		return nil, err
	}
	in := make(map[netip.Addr]bool, len(elems))
	for _, e := range elems {
		in[e.Addr] = true
	}
	return in, nil
}

// learnedWait bounds how long ftwall may take to write what it learned
// to the kernel sets after a flood.
const learnedWait = 2 * time.Second

// waitLearned waits until every peer is in peers4 and client in locked4
// (ftwall learned them all and locked the client), at most learnedWait.
func (r *runner) waitLearned(ctx context.Context, peers []netip.Addr, client netip.Addr) error {
	deadline := time.Now().Add(learnedWait)
	for {
		missing, locked, err := r.notLearned(ctx, peers, client)
		if err != nil {
			return err
		}
		if missing == 0 && locked {
			return nil
		}
		if time.Now().After(deadline) {
			var errs []string
			if missing > 0 {
				errs = append(errs, fmt.Sprintf("%d of %d peers are not in %s", missing, len(peers), nft.SetPeers4))
			}
			if !locked {
				errs = append(errs, fmt.Sprintf("the client %s is not in %s", client, nft.SetLocked4))
			}
			return fmt.Errorf("%s after waiting %v", strings.Join(errs, " and "), learnedWait)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// notLearned counts the peers not in peers4 and says whether client is in
// locked4.
func (r *runner) notLearned(ctx context.Context, peers []netip.Addr, client netip.Addr) (missing int, locked bool, err error) {
	in, err := r.routerSet(ctx, nft.SetPeers4)
	if err != nil {
		return 0, false, err
	}
	for _, a := range peers {
		if !in[a] {
			missing++
		}
	}
	lk, err := r.routerSet(ctx, nft.SetLocked4)
	if err != nil {
		return 0, false, err
	}
	return missing, lk[client], nil
}
