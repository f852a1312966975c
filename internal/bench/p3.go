package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
	p3Target      = time.Millisecond // the p99 target
)

// p3Trigger is the packet that makes ftwall block a peer in one P3 round.
type p3Trigger struct {
	name string // in the figures' labels: "ping", "DHT query"
	port uint16 // the peer's port it goes to
	// payload returns the UDP payload sent to the i-th peer.
	payload func(i int) []byte
}

var (
	p3FastTrack = p3Trigger{name: "ping", port: PortFT, payload: func(int) []byte { return fasttrack.AppendPing(nil, "KaZaA") }}
	// The BitTorrent round sends the DHT flood's queries (aria2's ping and
	// get_peers, alternately).
	p3BitTorrent = p3Trigger{name: "DHT query", port: PortBT, payload: dhtQuery}
)

// p3Latency collects one trigger's figures over the runs.
type p3Latency struct {
	p50, p99, worst, failed Series
	// first: the first peer, whose trigger also locks the client; rest:
	// p99 over the other peers (where the tail comes from).
	first, rest Series
}

// p3 measures, per peer, the time from a FastTrack ping or a BitTorrent
// DHT query leaving the client until the next packet to that peer is
// dropped by the kernel.
func (r *runner) p3(ctx context.Context) *Section {
	s := &Section{ID: "P3", Title: "detection latency"}
	s.Method = []string{
		fmt.Sprintf("`ftwall run` (one queue, default `--protocols`: both detectors) in the router; for each of %d peers (198.51.100.1 onwards, all local to the internet namespace) in turn, the client first checks that probes (small UDP datagrams to port %d, not a candidate for any queue rule) reach the peer, then sends one trigger packet to the peer and from then on a numbered probe every %v, on a thread pinned to CPU 0. A receiver in the internet namespace records the highest probe number that arrived. The latency is the send time of the first probe that never arrived (no later probe arrived within %v) minus the send time of the trigger: the time until the peer was in the kernel set peers4 and the rule dropped the next packet to it (resolution %v). A peer not blocked within %v counts as a failure; a peer whose probes stopped but which is not in peers4 fails the run. p50 and p99 are over the peers of one run; the table gives their median over the runs.", r.sz.p3Peers, probePort, probeInterval, probeConfirm, probeInterval, blockTimeout),
		fmt.Sprintf("Two rounds per run, each with a fresh `ftwall run` (empty sets, no client locked yet; the client is locked by the first peer's trigger in both): **FastTrack**, whose trigger is a FastTrack ping (`KaZaA`) to the peer's UDP port %d (the figures labelled *ping*), and **BitTorrent**, whose trigger is a KRPC query as aria2 sends it to the peer's UDP port %d, its ping (%d bytes) to every other peer and its get_peers (%d bytes) to the rest, each with its own transaction id, as in P2's DHT flood (the figures labelled *DHT query*). The p99 target applies to both.", PortFT, PortBT, len(dhtQuery(0)), len(dhtQuery(1))),
	}
	triggers := []p3Trigger{p3FastTrack, p3BitTorrent}
	res := make([]p3Latency, len(triggers))
	for run := range r.o.Runs {
		for t, tr := range triggers {
			lat, first, nfail, err := r.p3Once(ctx, s, tr)
			if err != nil {
				s.fail("run %d, %s: %v", run+1, tr.name, err)
				if ctx.Err() != nil {
					return s
				}
				continue
			}
			res[t].failed.Add(float64(nfail))
			if len(lat) == 0 {
				continue
			}
			res[t].p50.Add(Percentile(lat, 50))
			res[t].p99.Add(Percentile(lat, 99))
			res[t].worst.Add(Percentile(lat, 100))
			if !math.IsNaN(first) {
				res[t].first.Add(first)
				if len(lat) > 1 {
					res[t].rest.Add(Percentile(lat[1:], 99))
				}
			}
		}
	}
	for t, tr := range triggers {
		s.figure("p50 "+tr.name+" → next packet dropped", UnitSeconds, res[t].p50)
	}
	for t, tr := range triggers {
		s.figure("p99 "+tr.name+" → next packet dropped", UnitSeconds, res[t].p99)
	}
	for t, tr := range triggers {
		s.figure("slowest peer of a run, "+tr.name, UnitSeconds, res[t].worst)
	}
	for t, tr := range triggers {
		s.figure("first peer (its trigger also locks the client), "+tr.name, UnitSeconds, res[t].first)
	}
	for t, tr := range triggers {
		s.figure("p99 of the other peers, "+tr.name, UnitSeconds, res[t].rest)
	}
	for t, tr := range triggers {
		s.figure(fmt.Sprintf("peers not blocked within %v (of %d), %s", blockTimeout, r.sz.p3Peers, tr.name), UnitCount, res[t].failed)
	}
	r.p3p99 = res[0].p99
	return s
}

// p3Once runs one round over all peers with trigger tr and returns the
// latencies in seconds (first that of the first peer, NaN if it was not
// blocked; it leads lat otherwise) and the number of peers that were not
// blocked.
func (r *runner) p3Once(ctx context.Context, s *Section, tr p3Trigger) (lat []float64, first float64, nfail int, err error) {
	if err := r.cleanRouter(ctx); err != nil {
		return nil, math.NaN(), 0, err
	}
	defer func() {
		if cerr := r.cleanRouter(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	p, _, err := r.startFtwall(ctx, s, 1)
	if err != nil {
		return nil, math.NaN(), 0, err
	}
	defer stopProc(s, p)

	peers := peerAddrs4(r.sz.p3Peers)
	rx, err := r.lab.Internet.ListenUDP("udp4", fmt.Sprintf("0.0.0.0:%d", probePort))
	if err != nil {
		return nil, math.NaN(), 0, err
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
		return nil, math.NaN(), 0, err
	}
	defer tx.Close()

	type result struct {
		lat   []float64
		first float64
		nfail int
		err   error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the pinned thread ends with the goroutine
		var set unix.CPUSet
		set.Set(0)
		_ = unix.SchedSetaffinity(0, &set)
		res := result{first: math.NaN()}
		for i, a := range peers {
			if ctx.Err() != nil {
				res.err = ctx.Err()
				break
			}
			d, err := probePeer(ctx, tx, uint32(i), a, &last[i], netip.AddrPortFrom(a, tr.port), tr.payload(i))
			if err != nil {
				res.err = err
				break
			}
			if d < 0 {
				res.nfail++
				continue
			}
			res.lat = append(res.lat, d.Seconds())
			if i == 0 {
				res.first = d.Seconds()
			}
			if d > p3Target {
				r.log.Debug("P3 peer slower than the target", "trigger", tr.name, "peer", a, "index", i, "latency", d)
			}
			time.Sleep(2 * time.Millisecond)
		}
		done <- res
	}()
	res := <-done
	if res.err != nil {
		return nil, math.NaN(), 0, res.err
	}
	// The probes say the peers are blocked; the kernel set must agree.
	in, err := r.routerSet(ctx, nft.SetPeers4)
	if err != nil {
		return nil, math.NaN(), 0, err
	}
	missing := 0
	for _, a := range peers {
		if !in[a] {
			missing++
		}
	}
	if missing > res.nfail {
		return nil, math.NaN(), 0, fmt.Errorf("%d of %d peers are not in %s although their probes stopped arriving", missing-res.nfail, len(peers), nft.SetPeers4)
	}
	return res.lat, res.first, res.nfail, nil
}

// probePeer measures one peer: it sends trigger to triggerTo and returns
// the time from then until the first probe that was dropped, or -1 when
// the peer was not blocked within blockTimeout.
func probePeer(ctx context.Context, tx *net.UDPConn, idx uint32, peer netip.Addr, last *atomic.Int64, triggerTo netip.AddrPort, trigger []byte) (time.Duration, error) {
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
	sent := make([]time.Duration, 1, 1<<16) // sent[seq] = send time of probe seq after the trigger
	t0 := time.Now()
	if _, err := tx.WriteToUDPAddrPort(trigger, triggerTo); err != nil {
		return 0, fmt.Errorf("trigger packet to %s: %w", triggerTo, err)
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
