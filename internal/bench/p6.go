package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/share"
	"github.com/ftwall/ftwall/nft"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// P6 targets: propagation p99 between two gateways, and the bucket load
// at start within P4's and P5's budgets.
const (
	p6PropagationTarget = 250 * time.Millisecond
	p6LoadPerMillion    = 2 * time.Second
)

// Address ranges of P6: the peers the client pings (propagation), and the
// entries published straight into the bucket (load). Documentation
// prefixes; no packet is ever sent to the second range.
var (
	p6PingBase = netip.MustParseAddr("2001:db8:100::6000")
	p6LoadBase = netip.MustParseAddr("2001:db8:6000::")
)

// p6Lab is P6's own lab: a core network, a three-node NATS cluster
// (Debian's nats-server) and two gateways with separate LANs.
type p6Lab struct {
	core    *lab.Core
	cluster *lab.NATSCluster
	a, b    *lab.Lab
	kb      *nft.Kernel
	nc      *nats.Conn
	js      jetstream.JetStream
}

func (l *p6Lab) close() {
	if l.nc != nil {
		l.nc.Close()
	}
	if l.kb != nil {
		l.kb.Close()
	}
	for _, x := range []*lab.Lab{l.a, l.b} {
		if x != nil {
			x.Close()
		}
	}
	if l.core != nil {
		l.core.Close()
	}
}

func (r *runner) p6Setup(ctx context.Context) (*p6Lab, error) {
	if _, err := lab.NATSServerPath(); err != nil {
		return nil, fmt.Errorf("nats-server is not installed (make deps): %w", err)
	}
	l := &p6Lab{}
	var err error
	if l.core, err = lab.NewCore(ctx, "ftwbench"); err != nil {
		return nil, err
	}
	if l.cluster, err = lab.StartNATSCluster(ctx, l.core, 3, filepath.Join(r.tmp, "nats"), io.Discard, lab.NATSOptions{}); err != nil {
		l.close()
		return nil, err
	}
	for _, dst := range []**lab.Lab{&l.a, &l.b} {
		if *dst, err = lab.New(ctx, "ftwbench"); err != nil {
			l.close()
			return nil, err
		}
		if _, err = l.core.Attach(ctx, (*dst).Router, lab.IfCore); err != nil {
			l.close()
			return nil, err
		}
	}
	if l.kb, err = nft.Open(nft.WithNetNS(l.b.Router.Fd())); err != nil {
		l.close()
		return nil, err
	}
	l.nc, err = nats.Connect(strings.Join(l.cluster.URLs(), ","), nats.SetCustomDialer(lab.Dialer{NS: l.core.NS}))
	if err == nil {
		l.js, err = jetstream.New(l.nc, jetstream.WithPublishAsyncMaxPending(8192))
	}
	if err != nil {
		l.close()
		return nil, fmt.Errorf("connect to the lab's NATS cluster: %w", err)
	}
	return l, nil
}

// p6 measures sharing: how long a peer learned on gateway A takes to reach
// gateway B's kernel, and how long B takes to load the bucket at start.
func (r *runner) p6(ctx context.Context) *Section {
	s := &Section{ID: "P6", Title: "sharing between gateways (NATS JetStream)"}
	pings, big, small := r.sz.p6Pings, r.sz.p6Load, r.sz.p6Load/10
	s.Method = []string{
		fmt.Sprintf("A lab of its own: a core network joining a three-node NATS JetStream cluster (Debian's nats-server %s, one node per namespace, buckets with 3 replicas) and two routers with separate LANs, A and B, each running `ftwall run --share-url <the three servers>` (mode peers).", natsVersion()),
		fmt.Sprintf("**Propagation**: A's client sends one FastTrack ping every 10 ms to %d new IPv6 peers; B's peers6 is read every 2 ms through netlink; a peer's propagation time is from the ping leaving A's client to the peer's first appearance in B's kernel (detection on A, A's kernel write and publish, the cluster's replication, B's watcher, B's kernel write). A fresh bucket and fresh tables in every run.", pings),
		fmt.Sprintf("**Load at start**: %d and then %d entries are published into the bucket straight from the core namespace (asynchronous publishes, as a fleet of gateways would have left them); B's table is removed and `ftwall run` started; load time is from its start until it logs `shared entries loaded` (its `took=` is the part after the connection), and the elements are counted in B's kernel. Peak RSS of that ftwall run is its VmHWM. **The floor** is the same cluster delivering the bucket to a bare ordered consumer in the core namespace that only counts messages: no gateway can load faster on this machine, whose two CPUs also run the three servers.", small, big),
	}
	l, err := r.p6Setup(ctx)
	if err != nil {
		s.fail("%v", err)
		return s
	}
	defer l.close()

	var p50, p99, worst, missing Series
	for run := range r.o.Runs {
		lat, miss, err := r.p6Propagation(ctx, s, l, pings)
		if err != nil {
			s.fail("propagation run %d: %v", run+1, err)
			p50.Add(math.NaN())
			p99.Add(math.NaN())
			continue
		}
		p50.Add(Percentile(lat, 50))
		p99.Add(Percentile(lat, 99))
		worst.Add(Percentile(lat, 100))
		missing.Add(float64(miss))
		if ctx.Err() != nil {
			return s
		}
	}
	s.figure("propagation p50, peer learned on A → in B's kernel", UnitSeconds, p50)
	s.figure("propagation p99, peer learned on A → in B's kernel", UnitSeconds, p99)
	s.figure("propagation, slowest peer of the run", UnitSeconds, worst)
	s.figure("peers that never reached B within 5 s", UnitCount, missing)

	for _, n := range []int{small, big} {
		if err := r.p6Fill(ctx, l, n); err != nil {
			s.fail("fill the bucket with %d entries: %v", n, err)
			return s
		}
		var load, took, rss, raw Series
		for run := range r.o.Runs {
			if d, err := r.p6Raw(ctx, l, n); err != nil {
				s.fail("bare consumer of %d, run %d: %v", n, run+1, err)
				raw.Add(math.NaN())
			} else {
				raw.Add(d.Seconds())
			}
			ld, tk, peak, err := r.p6Load(ctx, s, l, n)
			if err != nil {
				s.fail("load of %d, run %d: %v", n, run+1, err)
				ld, tk, peak = math.NaN(), math.NaN(), math.NaN()
			}
			load.Add(ld)
			took.Add(tk)
			rss.Add(peak)
			if ctx.Err() != nil {
				return s
			}
		}
		s.figure(fmt.Sprintf("load time of %d shared entries (start → shared entries loaded)", n), UnitSeconds, load)
		if n == big {
			perM := Series{}
			for _, v := range load {
				perM.Add(v * 1e6 / float64(n))
			}
			s.figure("load time per million shared entries (the large bucket)", UnitSeconds, perM)
		}
		s.figure(fmt.Sprintf("of which after connecting (took=), %d entries", n), UnitSeconds, took)
		s.figure(fmt.Sprintf("peak RSS of ftwall run loading %d shared entries", n), UnitBytes, rss)
		if n == big {
			s.figure("peak RSS of ftwall run loading the large bucket", UnitBytes, rss)
		}
		s.figure(fmt.Sprintf("the cluster's delivery of %d entries to a bare consumer (no ftwall; the floor)", n), UnitSeconds, raw)
	}
	return s
}

func natsVersion() string {
	v, err := lab.NATSServerVersion()
	if err != nil {
		return "(version unknown)"
	}
	return v
}

// p6Start starts ftwall run in router ns as gateway name, waiting until
// the bucket's contents are loaded.
func (r *runner) p6Start(ctx context.Context, s *Section, l *p6Lab, ns *lab.NS, name string) (*Proc, time.Duration, error) {
	args := ftwallRunArgs(1, "--share-url", strings.Join(l.cluster.URLs(), ","), "--share-name", name, "--share-replicas", "3", "--log-level", "info")
	p, err := StartProc(ns, "ftwall run "+name, r.o.Ftwall, args...)
	if err != nil {
		return nil, 0, err
	}
	s.command("ip netns exec <router " + name + "> " + p.CommandLine())
	ready, err := p.WaitOutput(ctx, "msg=\"shared entries loaded\"", 5*time.Minute)
	if err != nil {
		p.Kill()
		return nil, 0, err
	}
	return p, ready, nil
}

// teardownIn removes table inet ftwall from the router namespace ns.
func teardownIn(ctx context.Context, ns *lab.NS) error {
	k, err := nft.Open(nft.WithNetNS(ns.Fd()))
	if err != nil {
		return err
	}
	defer k.Close()
	if _, err := k.Teardown(ctx); err != nil {
		return fmt.Errorf("remove table inet %s from %s: %w", nft.TableName, ns.Name, err)
	}
	return nil
}

func (l *p6Lab) resetBucket(ctx context.Context) error {
	err := l.js.DeleteKeyValue(ctx, share.DefaultPeersBucket)
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete the bucket: %w", err)
	}
	return nil
}

func (r *runner) p6Propagation(ctx context.Context, s *Section, l *p6Lab, n int) (lat []float64, missing int, err error) {
	for _, ns := range []*lab.NS{l.a.Router, l.b.Router} {
		if err := teardownIn(ctx, ns); err != nil {
			return nil, 0, err
		}
	}
	if err := l.resetBucket(ctx); err != nil {
		return nil, 0, err
	}
	pa, _, err := r.p6Start(ctx, s, l, l.a.Router, "gw-a")
	if err != nil {
		return nil, 0, err
	}
	defer stopProc(s, pa)
	pb, _, err := r.p6Start(ctx, s, l, l.b.Router, "gw-b")
	if err != nil {
		return nil, 0, err
	}
	defer stopProc(s, pb)

	peers := make([]netip.Addr, n)
	sent := make([]time.Time, n)
	seen := make([]time.Time, n)
	idx := map[netip.Addr]int{}
	a := p6PingBase
	for i := range peers {
		peers[i], idx[a] = a, i
		a = a.Next()
	}
	c, err := l.a.Client.ListenUDP("udp6", "[::]:0")
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	ping := fasttrack.AppendPing(nil, "KaZaA")
	done := make(chan error, 1)
	go func() {
		for i, p := range peers {
			sent[i] = time.Now()
			if _, err := c.WriteToUDPAddrPort(ping, netip.AddrPortFrom(p, PortFT)); err != nil {
				done <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		done <- nil
	}()
	var sendErr error
	sending := true
	deadline := time.Now().Add(time.Duration(n)*10*time.Millisecond + 5*time.Second)
	left := n
	for left > 0 && time.Now().Before(deadline) {
		if sending {
			select {
			case sendErr = <-done:
				sending = false
			default:
			}
		}
		err := l.kb.EachElement(ctx, nft.SetPeers6, func(e nft.Element) bool {
			if i, ok := idx[e.Addr]; ok && seen[i].IsZero() {
				seen[i] = time.Now()
				left--
			}
			return true
		})
		if err != nil {
			return nil, 0, err
		}
		time.Sleep(2 * time.Millisecond)
	}
	if sending {
		sendErr = <-done
	}
	if sendErr != nil {
		return nil, 0, sendErr
	}
	for i := range peers {
		if seen[i].IsZero() {
			missing++
			continue
		}
		lat = append(lat, seen[i].Sub(sent[i]).Seconds())
	}
	if len(lat) == 0 {
		return nil, missing, errors.New("no peer reached B")
	}
	return lat, missing, nil
}

// p6Fill makes the bucket hold n entries of the load range (publishing the
// ones beyond what it holds).
func (r *runner) p6Fill(ctx context.Context, l *p6Lab, n int) error {
	kv, err := l.js.KeyValue(ctx, share.DefaultPeersBucket)
	if err != nil {
		return err
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return err
	}
	have := int(st.Values())
	start := time.Now()
	val, err := share.Encode(share.Entry{Addr: p6LoadBase, Timeout: 24 * time.Hour, Protocol: "fasttrack", Reason: "ping", Gateway: "ftwbench"})
	if err != nil {
		return err
	}
	a := p6LoadBase
	for range have {
		a = a.Next()
	}
	for i := have; i < n; i++ {
		a = a.Next()
		for {
			_, err := l.js.PublishAsync("$KV."+share.DefaultPeersBucket+"."+share.Key(a), val)
			if err == nil {
				break
			}
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				return err
			}
			// The servers are behind: let them catch up.
			select {
			case <-l.js.PublishAsyncComplete():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	select {
	case <-l.js.PublishAsyncComplete():
	case <-time.After(10 * time.Minute):
		return errors.New("publishes not acknowledged within 10 minutes")
	case <-ctx.Done():
		return ctx.Err()
	}
	r.log.Info("bucket filled", "entries", n, "published", n-have, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (r *runner) p6Load(ctx context.Context, s *Section, l *p6Lab, n int) (load, took, rss float64, err error) {
	if err := teardownIn(ctx, l.b.Router); err != nil {
		return 0, 0, 0, err
	}
	p, ready, err := r.p6Start(ctx, s, l, l.b.Router, "gw-b")
	if err != nil {
		return 0, 0, 0, err
	}
	defer stopProc(s, p)
	d, ok := LogDuration(p.Output(), "shared entries loaded", "took")
	if !ok {
		return 0, 0, 0, fmt.Errorf("no `shared entries loaded … took=` line:\n%s", tail(p.Output(), 2000))
	}
	if got := LogAttr(p.Output(), "shared entries loaded", "entries"); got != strconv.Itoa(n) {
		return 0, 0, 0, fmt.Errorf("loaded entries=%s, want %d", got, n)
	}
	count := 0
	if err := l.kb.EachElement(ctx, nft.SetPeers6, func(nft.Element) bool { count++; return true }); err != nil {
		return 0, 0, 0, err
	}
	if count < n {
		return 0, 0, 0, fmt.Errorf("B's peers6 holds %d elements after the load, want %d", count, n)
	}
	peak, err := p.PeakRSS()
	if err != nil {
		return 0, 0, 0, err
	}
	return ready.Seconds(), d.Seconds(), float64(peak), nil
}

// p6Raw times the cluster delivering the bucket's n entries to a bare
// ordered consumer in the core namespace that only counts them: the floor
// under any gateway's load time on this machine.
func (r *runner) p6Raw(ctx context.Context, l *p6Lab, n int) (time.Duration, error) {
	st, err := l.js.Stream(ctx, "KV_"+share.DefaultPeersBucket)
	if err != nil {
		return 0, err
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return 0, err
	}
	done := make(chan struct{})
	count := 0
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		count++
		if count == n {
			close(done)
		}
	}, jetstream.PullMaxMessages(1024))
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	select {
	case <-done:
		return time.Since(start), nil
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("only %d of %d entries delivered in 5 minutes", count, n)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
