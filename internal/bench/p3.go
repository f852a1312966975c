package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/nft"
)

// P3 probing.
const (
	probePort     = 7777
	probeInterval = 20 * time.Microsecond // resolution of the latency
	probeGrace    = 3 * time.Millisecond  // a probe missing this long counts as dropped
	probeConfirm  = 20 * time.Millisecond // then no later probe may arrive
	blockTimeout  = 2 * time.Second
)

// p3 measures, per peer, the time from a ping leaving the client until
// the next packet to that peer is dropped by the kernel.
func (r *runner) p3(ctx context.Context) *Section {
	s := &Section{ID: "P3", Title: "detection latency"}
	s.Method = []string{
		fmt.Sprintf("`ftwall run` (one queue) in the router; for each of %d peers (198.51.100.1 onwards, all local to the internet namespace) in turn, the client first checks that probes (small UDP datagrams to port %d, not a candidate for the queue) reach the peer, then sends one FastTrack ping to the peer's port 1214 and from then on a numbered probe every %v, on a thread pinned to CPU 0. A receiver in the internet namespace records the highest probe number that arrived. The latency is the send time of the first probe that never arrived (no later probe arrived within %v) minus the send time of the ping: the time until the peer was in the kernel set peers4 and the rule dropped the next packet to it (resolution %v). A peer not blocked within %v counts as a failure. p50 and p99 are over the peers of one run; the table gives their median over the runs.", r.sz.p3Peers, probePort, probeInterval, probeConfirm, probeInterval, blockTimeout),
	}
	var p50, p99, worst, failed Series
	for run := range r.o.Runs {
		lat, nfail, err := r.p3Once(ctx, s)
		if err != nil {
			s.fail("run %d: %v", run+1, err)
			if ctx.Err() != nil {
				return s
			}
			continue
		}
		failed.Add(float64(nfail))
		if len(lat) == 0 {
			continue
		}
		p50.Add(Percentile(lat, 50))
		p99.Add(Percentile(lat, 99))
		worst.Add(Percentile(lat, 100))
	}
	s.figure("p50 ping → next packet dropped", UnitSeconds, p50)
	s.figure("p99 ping → next packet dropped", UnitSeconds, p99)
	s.figure("slowest peer of a run", UnitSeconds, worst)
	s.figure(fmt.Sprintf("peers not blocked within %v (of %d)", blockTimeout, r.sz.p3Peers), UnitCount, failed)
	r.p3p99 = p99
	return s
}

// p3Once runs one round over all peers and returns the latencies in
// seconds and the number of peers that were not blocked.
func (r *runner) p3Once(ctx context.Context, s *Section) (lat []float64, nfail int, err error) {
	if err := r.cleanRouter(ctx); err != nil {
		return nil, 0, err
	}
	defer func() {
		if cerr := r.cleanRouter(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	p, _, err := r.startFtwall(ctx, s, 1)
	if err != nil {
		return nil, 0, err
	}
	defer stopProc(s, p)

	peers := peerAddrs4(r.sz.p3Peers)
	rx, err := r.lab.Internet.ListenUDP("udp4", fmt.Sprintf("0.0.0.0:%d", probePort))
	if err != nil {
		return nil, 0, err
	}
	defer rx.Close()
	last := make([]atomic.Int64, len(peers))
	for i := range last {
		last[i].Store(-1)
	}
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := rx.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			if n < 8 {
				continue
			}
			i, seq := binary.BigEndian.Uint32(buf), int64(binary.BigEndian.Uint32(buf[4:]))
			if int(i) < len(last) && seq > last[i].Load() {
				last[i].Store(seq)
			}
		}
	}()
	tx, err := r.lab.Client.ListenUDP("udp4", netip.AddrPortFrom(r.lab.ClientIP4, 0).String())
	if err != nil {
		return nil, 0, err
	}
	defer tx.Close()

	type result struct {
		lat   []float64
		nfail int
		err   error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the pinned thread ends with the goroutine
		var set unix.CPUSet
		set.Set(0)
		_ = unix.SchedSetaffinity(0, &set)
		var res result
		for i, a := range peers {
			if ctx.Err() != nil {
				res.err = ctx.Err()
				break
			}
			d, err := probePeer(ctx, tx, uint32(i), a, &last[i])
			if err != nil {
				res.err = err
				break
			}
			if d < 0 {
				res.nfail++
				continue
			}
			res.lat = append(res.lat, d.Seconds())
			time.Sleep(2 * time.Millisecond)
		}
		done <- res
	}()
	res := <-done
	if res.err != nil {
		return nil, 0, res.err
	}
	// The probes say the peers are blocked; the kernel set must agree.
	k, err := nft.Open(nft.WithNetNS(r.lab.Router.Fd()))
	if err != nil {
		return nil, 0, err
	}
	defer k.Close()
	elems, err := k.Elements(ctx, nft.SetPeers4)
	if err != nil {
		return nil, 0, err
	}
	in := make(map[netip.Addr]bool, len(elems))
	for _, e := range elems {
		in[e.Addr] = true
	}
	missing := 0
	for _, a := range peers {
		if !in[a] {
			missing++
		}
	}
	if missing > res.nfail {
		return nil, 0, fmt.Errorf("%d of %d peers are not in %s although their probes stopped arriving", missing-res.nfail, len(peers), nft.SetPeers4)
	}
	return res.lat, res.nfail, nil
}

// probePeer measures one peer: it returns the time from the ping until the
// first probe that was dropped, or -1 when the peer was not blocked within
// blockTimeout.
func probePeer(ctx context.Context, tx *net.UDPConn, idx uint32, peer netip.Addr, last *atomic.Int64) (time.Duration, error) {
	probeTo := netip.AddrPortFrom(peer, probePort)
	msg := make([]byte, 8)
	binary.BigEndian.PutUint32(msg, idx)
	// The path must be open before the ping: probe 0 must arrive.
	open := time.Now()
	for last.Load() < 0 {
		if _, err := tx.WriteToUDPAddrPort(msg, probeTo); err != nil {
			return 0, fmt.Errorf("probe %s: %w", probeTo, err)
		}
		if time.Since(open) > time.Second {
			return 0, fmt.Errorf("probes to %s do not arrive before any ping (is the lab routed?)", probeTo)
		}
		time.Sleep(time.Millisecond)
	}
	ping := fasttrack.AppendPing(nil, "KaZaA")
	sent := make([]time.Duration, 1, 1<<16) // sent[seq] = send time of probe seq after the ping
	t0 := time.Now()
	if _, err := tx.WriteToUDPAddrPort(ping, netip.AddrPortFrom(peer, PortFT)); err != nil {
		return 0, fmt.Errorf("ping %s: %w", peer, err)
	}
	for {
		now := time.Since(t0)
		if now > blockTimeout {
			return -1, nil
		}
		seq := uint32(len(sent))
		binary.BigEndian.PutUint32(msg[4:], seq)
		sent = append(sent, now)
		if _, err := tx.WriteToUDPAddrPort(msg, probeTo); err != nil && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		first := max(last.Load(), 0) + 1 // the first probe not (yet) seen
		if first < int64(len(sent)) && now-sent[first] > probeGrace {
			// Confirm: wait; if a later probe still arrives it was only late.
			time.Sleep(probeConfirm)
			if last.Load() < first {
				return sent[first], nil
			}
		}
		for time.Since(t0)-now < probeInterval {
			// spin: time.Sleep cannot wait this short
		}
	}
}
