package bench

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// measureTCP runs one iperf3 bulk TCP test from the client to dst and
// returns the received bit rate.
func (r *runner) measureTCP(ctx context.Context, s *Section, dst netip.Addr) (float64, error) {
	args := []string{"-c", dst.String(), "-p", strconv.Itoa(iperfPort), "-t", strconv.Itoa(r.sz.iperfSecs), "-O", "1", "-J"}
	if dst.Is6() {
		args = append(args, "-6")
	}
	s.command("ip netns exec <internet> iperf3 -s -p " + strconv.Itoa(iperfPort))
	s.command("ip netns exec <client> " + ShellQuote(append([]string{"iperf3"}, args...)))
	ctx, cancel := context.WithTimeout(ctx, time.Duration(r.sz.iperfSecs+30)*time.Second)
	defer cancel()
	out, _, err := RunTimed(ctx, r.lab.Client, "iperf3", args...)
	if err != nil {
		if bps, perr := ParseIperf3([]byte(out)); perr == nil {
			return bps, nil
		}
		return 0, err
	}
	return ParseIperf3([]byte(out))
}

// measurePPS floods small UDP datagrams from the client to the lab's 32
// peers (port 9, counted and dropped on arrival in the internet namespace)
// and returns the packets per second that arrived and that were sent.
func (r *runner) measurePPS(ctx context.Context, s *Section, six, dnsLike bool) (arrived, offered float64, err error) {
	dsts := r.lab.Peers4
	if six {
		dsts = r.lab.Peers6
	}
	kind := "zero"
	if dnsLike {
		kind = "DNS-like"
	}
	s.command(fmt.Sprintf("ftwbench UDP flood in <client>: sendmmsg, %d-byte %s payloads, to %s–%s port %d, one thread on CPU 0; counted by table inet %s in <internet>",
		smallPayload, kind, dsts[0], dsts[len(dsts)-1], PortUDPSink, TableName))
	sock, err := OpenUDPSocket(r.lab.Client, six)
	if err != nil {
		return 0, 0, err
	}
	defer sock.Close()
	rate, err := r.floodWindow(ctx, []*FloodSocket{sock}, [][]Datagram{smallUDP(dsts, PortUDPSink, dnsLike)}, 200*time.Millisecond, r.sz.pps,
		func() (uint64, error) { return r.sinks.Count(SinkUDP) })
	if err != nil {
		return 0, 0, err
	}
	return rate.counted, rate.offered, nil
}

// windowRates are the rates seen during a flood's measuring window.
type windowRates struct {
	counted float64 // counter increase per second over the window
	offered float64 // packets the senders handed to the kernel per second, same window
}

// floodWindow runs one sender per socket (sender i pinned to CPU i), waits
// warm, reads counter, waits window, reads it again, and stops the flood.
func (r *runner) floodWindow(ctx context.Context, socks []*FloodSocket, msgs [][]Datagram, warm, window time.Duration, counter func() (uint64, error)) (windowRates, error) {
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	type res struct {
		n   uint64
		err error
	}
	results := make(chan res, len(socks))
	var sent atomic.Uint64
	for i, sock := range socks {
		go func() {
			n, err := sock.Flood(fctx, FloodConfig{Messages: msgs[i], CPU: i % numCPU(), Sent: &sent})
			results <- res{n, err}
		}()
	}
	collect := func() (uint64, error) {
		stop()
		var total uint64
		var errs []error
		for range socks {
			x := <-results
			total += x.n
			if x.err != nil {
				errs = append(errs, x.err)
			}
		}
		if len(errs) > 0 {
			return total, errs[0]
		}
		return total, nil
	}
	if err := sleepCtx(ctx, warm); err != nil {
		collect()
		return windowRates{}, err
	}
	c0, err := counter()
	s0, t0 := sent.Load(), time.Now()
	if err != nil {
		collect()
		return windowRates{}, err
	}
	if err := sleepCtx(ctx, window); err != nil {
		collect()
		return windowRates{}, err
	}
	c1, err := counter()
	s1, t1 := sent.Load(), time.Now()
	_, ferr := collect()
	if err != nil {
		return windowRates{}, err
	}
	if ferr != nil {
		return windowRates{}, ferr
	}
	return windowRates{
		counted: float64(c1-c0) / t1.Sub(t0).Seconds(),
		offered: float64(s1-s0) / t1.Sub(t0).Seconds(),
	}, nil
}
