package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Forwarding configurations of the router.
const (
	cfgNone        = "no table"
	cfgFtwall      = "ftwall"
	cfgFtwallFT    = "ftwall --protocols fasttrack"
	cfgHistorical  = "queue every LAN packet (ftwall 1.x design)"
	cfgConntrack   = "conntrack only"
	cfgOneLookup   = "one set lookup"
	p1DetectorsCmp = "ftwall (both detectors) / ftwall --protocols fasttrack"
)

// p1Configs in the order they are measured in each run.
var p1Configs = []string{cfgNone, cfgFtwall, cfgFtwallFT, cfgConntrack, cfgHistorical, cfgOneLookup}

// p1 measures forwarding through the router with no table, with ftwall's
// table (and `ftwall run` reading its queue), and with every LAN packet
// queued to a user-space accept loop, each in every run.
func (r *runner) p1(ctx context.Context) *Section {
	s := &Section{ID: "P1", Title: "forwarding cost"}
	s.Method = []string{
		"Bulk TCP from the client to the internet namespace through the router (iperf3, " + fmt.Sprint(r.sz.iperfSecs) + " s after 1 s omitted) and 64-byte UDP frames (18-byte payloads, sendmmsg from one thread pinned to CPU 0, to 32 addresses, counted and dropped on arrival by a prerouting rule of the internet namespace) per second, in the router configurations below, measured one after another in every run: **no table** (no nftables ruleset at all), **ftwall** (`ftwall run` with its table inet ftwall and the default `--protocols`, both detectors, FastTrack and BitTorrent; the traffic is neither, so nothing of it is queued) and **queue every LAN packet**, the ftwall 1.x design: a table inet ftwbench whose forward chain queues every packet from a LAN interface to `ftwbench accept-loop --historical`, a go-nfqueue reader that accepts everything (no inspection, so this is a lower bound of that design's cost), without fail-open and without GSO as ftwall 1.x's ip_queue reader had (a full queue drops; every TCP segment crosses user space on its own). The ratios are formed within each run; the P1 targets are those of the **ftwall** configuration.",
		"A diagnostic configuration, **ftwall --protocols fasttrack** (`ftwall run --protocols fasttrack`: FastTrack's queue rules only, as before the BitTorrent detector), shows what the BitTorrent detector's queue rules add to the cost of traffic that is neither protocol: from_lan sends each packet to the chain of its transport, where it meets every queue rule until one matches, and a non-candidate leaves each at its first payload test (bytes or length) that fails. The 64-byte datagrams carry zeros, whose first byte the UDP tracker rule takes, so they pass the UDP chain's first-byte rule (udp-other) and meet every UDP queue rule: the worst case for ordinary UDP, on which the targets are judged. A second flood of the same size, **DNS-like** (a DNS query header whose first byte, 0x80–0x9f, no queue rule takes), is what most ordinary UDP costs: it leaves the UDP chain at that first rule; its figures are diagnostic. Its ratios to no table stand beside those of the default, and the ratio of the default to it (" + p1DetectorsCmp + ") is 1 when the second detector costs ordinary traffic nothing.",
		"ftwall's table reads conntrack in its TCP queue rules (`ct state established`, tested after the protocol and the payload bytes, so only TCP candidates reach it) and in FastTrack's session-opener rule (`ct packets`), but those rules switch conntrack on in the router's namespace, so the ftwall configurations track connections and the no-table one does not. Gateways usually track connections anyway (NAT, stateful rules); a diagnostic configuration, **conntrack only** (a table inet ftwbench whose one rule reads `ct state`), shows what that alone costs on this machine, for comparison with ftwall's rules.",
		"A last diagnostic configuration, **one set lookup** (a table inet ftwbench whose forward chain has the single rule `ip daddr @peers4 drop` on an empty set with the timeout flag, as ftwall's peers4), is the least any ruleset that drops blocked peers in the kernel does to every forwarded packet. Its ratio to no table is the floor of what such a design costs on this machine.",
	}
	n := len(p1Configs)
	tcp, pps, offered, dns := make([][]float64, n), make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for run := range r.o.Runs {
		for i, cfg := range p1Configs {
			bps, p, off, d, err := r.p1Once(ctx, s, cfg)
			if err != nil {
				s.fail("run %d, %s: %v", run+1, cfg, err)
				bps, p, off, d = math.NaN(), math.NaN(), math.NaN(), math.NaN()
			}
			tcp[i] = append(tcp[i], bps)
			pps[i] = append(pps[i], p)
			offered[i] = append(offered[i], off)
			dns[i] = append(dns[i], d)
			if ctx.Err() != nil {
				return s
			}
		}
	}
	at := func(v [][]float64, cfg string) []float64 { return v[slices.Index(p1Configs, cfg)] }
	for i, cfg := range p1Configs {
		s.figure("TCP throughput, "+cfg, UnitBits, clean(tcp[i]))
	}
	for i, cfg := range p1Configs {
		s.figure("UDP 64-byte packets/s arrived, "+cfg, UnitPPS, clean(pps[i]))
	}
	for i, cfg := range p1Configs {
		s.figure("UDP packets/s sent (offered), "+cfg, UnitPPS, clean(offered[i]))
	}
	for i, cfg := range p1Configs {
		s.figure("UDP 64-byte DNS-like packets/s arrived, "+cfg, UnitPPS, clean(dns[i]))
	}
	ratio := func(label string, v [][]float64, a, b string) {
		s.figure(label, UnitRatio, Ratios(at(v, a), at(v, b)))
	}
	ratio("TCP ratio ftwall / no table", tcp, cfgFtwall, cfgNone)
	ratio("UDP pps ratio ftwall / no table", pps, cfgFtwall, cfgNone)
	ratio("TCP ratio ftwall --protocols fasttrack / no table (diagnostic)", tcp, cfgFtwallFT, cfgNone)
	ratio("UDP pps ratio ftwall --protocols fasttrack / no table (diagnostic)", pps, cfgFtwallFT, cfgNone)
	ratio("TCP ratio "+p1DetectorsCmp+" (diagnostic)", tcp, cfgFtwall, cfgFtwallFT)
	ratio("UDP pps ratio "+p1DetectorsCmp+" (diagnostic)", pps, cfgFtwall, cfgFtwallFT)
	ratio("TCP ratio queue-everything / no table", tcp, cfgHistorical, cfgNone)
	ratio("UDP pps ratio queue-everything / no table", pps, cfgHistorical, cfgNone)
	ratio("TCP ratio conntrack only / no table (diagnostic)", tcp, cfgConntrack, cfgNone)
	ratio("UDP pps ratio conntrack only / no table (diagnostic)", pps, cfgConntrack, cfgNone)
	ratio("TCP ratio ftwall / conntrack only (diagnostic)", tcp, cfgFtwall, cfgConntrack)
	ratio("UDP pps ratio ftwall / conntrack only (diagnostic)", pps, cfgFtwall, cfgConntrack)
	ratio("UDP pps ratio one set lookup / no table (diagnostic)", pps, cfgOneLookup, cfgNone)
	ratio("UDP pps ratio ftwall / one set lookup (diagnostic)", pps, cfgFtwall, cfgOneLookup)
	ratio("DNS-like UDP pps ratio ftwall / no table (diagnostic)", dns, cfgFtwall, cfgNone)
	ratio("DNS-like UDP pps ratio ftwall / conntrack only (diagnostic)", dns, cfgFtwall, cfgConntrack)
	ratio("DNS-like UDP pps ratio ftwall / one set lookup (diagnostic)", dns, cfgFtwall, cfgOneLookup)
	return s
}

// clean drops the NaNs of failed runs.
func clean(v []float64) Series {
	var s Series
	for _, x := range v {
		s.Add(x)
	}
	return s
}

// p1Once sets up one configuration, measures TCP and UDP (zero and
// DNS-like payloads), and removes it.
func (r *runner) p1Once(ctx context.Context, s *Section, cfg string) (bps, pps, offered, dns float64, err error) {
	if err := r.cleanRouter(ctx); err != nil {
		return 0, 0, 0, 0, err
	}
	defer func() {
		if cerr := r.cleanRouter(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	switch cfg {
	case cfgFtwall, cfgFtwallFT:
		var extra []string
		if cfg == cfgFtwallFT {
			extra = []string{"--protocols", "fasttrack"}
		}
		p, _, err := r.startFtwall(ctx, s, 1, extra...)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		defer stopProc(s, p)
	case cfgConntrack:
		if err := InstallConntrackOnly(r.lab.Router); err != nil {
			return 0, 0, 0, 0, err
		}
		s.command(fmt.Sprintf("table inet %s in <router>: forward hook, priority -1: ct state new counter (conntrack on, nothing else)", TableName))
	case cfgOneLookup:
		if err := InstallOneLookup(r.lab.Router); err != nil {
			return 0, 0, 0, 0, err
		}
		s.command(fmt.Sprintf("table inet %s in <router>: forward hook, priority -1: ip daddr @peers4 drop (empty set, timeout flag)", TableName))
	case cfgHistorical:
		rs, err := InstallHistorical(ctx, r.lab.Router, r.lab.LANIfs, 0)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		s.command(fmt.Sprintf("table inet %s in <router>: forward hook, priority -1: iifname %q/%q → queue num 0 bypass (%s backend)", TableName, r.lab.LANIfs[0], r.lab.LANIfs[1], rs.Backend))
		p, err := r.startAcceptLoop(ctx, s, 1, true, false)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		defer stopProc(s, p)
	}
	if bps, err = r.measureTCP(ctx, s, r.lab.InternetIP4); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("iperf3: %w", err)
	}
	if pps, offered, err = r.measurePPS(ctx, s, false, false); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("UDP flood: %w", err)
	}
	if dns, _, err = r.measurePPS(ctx, s, false, true); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("DNS-like UDP flood: %w", err)
	}
	return bps, pps, offered, dns, nil
}
