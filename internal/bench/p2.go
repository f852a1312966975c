package bench

import (
	"context"
	"fmt"
	"math"
	"strconv"
)

// Candidate floods of P2.
const (
	floodPing = "ping"
	floodHTTP = "http"
)

// p2Key names one P2 configuration.
type p2Key struct {
	flood  string
	queues int
	ftwall bool
}

func (k p2Key) label() string {
	who := "bare verdict loop"
	if k.ftwall {
		who = "ftwall run"
	}
	what := "ping flood"
	if k.flood == floodHTTP {
		what = "GET flood"
	}
	q := "1 queue"
	if k.queues > 1 {
		q = strconv.Itoa(k.queues) + " queues"
	}
	return fmt.Sprintf("%s, %s, %s", what, q, who)
}

// p2 measures how many candidate packets per second `ftwall run` verdicts,
// against the bare loop on the same ruleset, for both floods and one and
// two queues.
func (r *runner) p2(ctx context.Context) *Section {
	s := &Section{ID: "P2", Title: "inspector throughput"}
	s.Method = []string{
		fmt.Sprintf("The client floods candidate packets to %d distinct peers (198.51.100.0/24, 192.0.2.0/24) through the router, with one sender thread per queue, each pinned to its own CPU (the queues fan out by CPU): the **ping flood** is FastTrack UDP node pings (`27 00 00 00 29 80 KaZaA\\0`, UDP port 1214, from one UDP socket with sendmmsg), the **GET flood** is TCP segments (PSH|ACK, one source port per peer, from a raw socket) each carrying a Kazaa download request `GET /.hash=… HTTP/1.1` with X-Kazaa headers. Both are exactly what ftwall's table queues, and ftwall drops every one of them (learning each peer and time-locking the client).", r.sz.p2Peers),
		fmt.Sprintf("**ftwall run** reads the queues itself; the **bare verdict loop** is `ftwbench accept-loop --drop`: internal/queue's reader (the one `ftwall run` uses: fail-open, GSO, 4096-packet queues, 8 MiB socket buffer, NoENOBUFS) with a handler that returns a verdict without looking at the packet, behind the same table installed by `ftwall setup`. Its verdict is drop, the one ftwall gives every packet of these floods: with accept the kernel would forward each packet inside the loop's verdict call, which makes the baseline slower than ftwall itself (ratios of 1.2–1.6 on the GET flood when tried), so the ratio would no longer show what inspection costs. After %v of flood, the packets verdicted in a %v window are counted from the router's /proc/net/netfilter/nfnetlink_queue (per queue: id_sequence, the packets handed to the reader, minus queue_total, those still waiting for a verdict). The floods offer more than a reader can take; the surplus passes uninspected through fail-open. Every configuration runs in every run; the ratios are formed within a run.", r.sz.p2Warm, r.sz.p2Window),
		"The senders, the kernel's forwarding and the readers share the machine's CPUs, so with two queues the two senders compete with the two readers.",
	}
	rates := map[p2Key][]float64{}
	offered := map[p2Key][]float64{}
	var peaks []float64
	keys := []p2Key{}
	for _, flood := range []string{floodPing, floodHTTP} {
		for _, q := range []int{1, 2} {
			for _, fw := range []bool{true, false} {
				keys = append(keys, p2Key{flood, q, fw})
			}
		}
	}
	for run := range r.o.Runs {
		peak := math.NaN()
		for _, k := range keys {
			rate, off, rss, err := r.p2Once(ctx, s, k)
			if err != nil {
				s.fail("run %d, %s: %v", run+1, k.label(), err)
				rate, off = math.NaN(), math.NaN()
			}
			rates[k] = append(rates[k], rate)
			offered[k] = append(offered[k], off)
			if rss > 0 && (math.IsNaN(peak) || float64(rss) > peak) {
				peak = float64(rss)
			}
			if ctx.Err() != nil {
				return s
			}
		}
		peaks = append(peaks, peak)
	}
	for _, k := range keys {
		s.figure("verdicts/s, "+k.label(), UnitPPS, clean(rates[k]))
	}
	for _, k := range keys {
		if k.ftwall {
			bare := p2Key{k.flood, k.queues, false}
			s.figure("ratio ftwall / bare verdict loop, "+p2Key{k.flood, k.queues, false}.labelNoWho(), UnitRatio, Ratios(rates[k], rates[bare]))
		}
	}
	for _, k := range keys {
		s.figure("offered packets/s, "+k.label(), UnitPPS, clean(offered[k]))
	}
	r.p2Peaks = clean(peaks)
	return s
}

func (k p2Key) labelNoWho() string {
	what := "ping flood"
	if k.flood == floodHTTP {
		what = "GET flood"
	}
	if k.queues > 1 {
		return fmt.Sprintf("%s, %d queues", what, k.queues)
	}
	return what + ", 1 queue"
}

// p2Once measures one configuration; rss is ftwall's peak RSS (0 for the
// bare loop).
func (r *runner) p2Once(ctx context.Context, s *Section, k p2Key) (rate, offered float64, rss uint64, err error) {
	if err := r.cleanRouter(ctx); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		if cerr := r.cleanRouter(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	var p *Proc
	if k.ftwall {
		if p, _, err = r.startFtwall(ctx, s, k.queues); err != nil {
			return 0, 0, 0, err
		}
	} else {
		args := []string{"setup", "--lan", r.lab.LANIfs[0], "--lan", r.lab.LANIfs[1], "--queues", strconv.Itoa(k.queues)}
		if _, _, err := RunTimed(ctx, r.lab.Router, r.o.Ftwall, args...); err != nil {
			return 0, 0, 0, err
		}
		s.command("ip netns exec <router> " + ShellQuote(append([]string{r.o.Ftwall}, args...)))
		if p, err = r.startAcceptLoop(ctx, s, k.queues, false, true); err != nil {
			return 0, 0, 0, err
		}
	}
	defer stopProc(s, p)

	peers := peerAddrs4(r.sz.p2Peers)
	var socks []*FloodSocket
	defer func() {
		for _, sk := range socks {
			sk.Close()
		}
	}()
	var msgs [][]Datagram
	for range k.queues {
		var sk *FloodSocket
		var m []Datagram
		if k.flood == floodPing {
			sk, err = OpenUDPSocket(r.lab.Client, false)
			m = pingFlood(peers)
		} else {
			sk, err = OpenRawSocket(r.lab.Client)
			m = getFlood(r.lab.ClientIP4, peers)
		}
		if err != nil {
			return 0, 0, 0, err
		}
		socks = append(socks, sk)
		msgs = append(msgs, m)
	}
	var before map[uint16]uint32
	counter := func() (uint64, error) {
		m, err := queueVerdicts(r.lab.Router)
		if err != nil {
			return 0, err
		}
		if before == nil {
			before = m
			return 0, nil
		}
		return verdictDelta(before, m), nil
	}
	w, err := r.floodWindow(ctx, socks, msgs, r.sz.p2Warm, r.sz.p2Window, counter)
	if err != nil {
		return 0, 0, 0, err
	}
	if k.ftwall {
		if rss, err = p.PeakRSS(); err != nil {
			return 0, 0, 0, err
		}
	}
	return w.counted, w.offered, rss, nil
}
