package demo

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// The simulated Kazaa client's settings.
const (
	ftPort = 1214
	// nodes4 and nodes6 are the numbers of IPv4 and IPv6 supernodes in the
	// client's cache: the first peer addresses of the lab's internet.
	nodes4 = 12
	nodes6 = 4
	// pingWait bounds the wait for pongs; it ends early once every node
	// answered.
	pingWait = 2 * time.Second
	// connectTimeout bounds each TCP connect of the TCP modes.
	connectTimeout = 400 * time.Millisecond
	// downloadTimeout bounds each FastTrack HTTP download.
	downloadTimeout = 2 * time.Second
	// clientTimeout bounds a whole client run.
	clientTimeout = 30 * time.Second
)

// runClient runs the simulated Kazaa client in ns.
func runClient(ctx context.Context, ns *lab.NS, opts ftsim.ClientOptions) (ftsim.ClientReport, error) {
	opts.Net = ftsim.InNamespace(ns.Do)
	cctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	rep, err := ftsim.RunClient(cctx, opts)
	if err != nil {
		return rep, fmt.Errorf("run the simulated Kazaa client: %w", err)
	}
	// Interrupted: what the client saw then is not worth telling.
	return rep, ctxErr(ctx)
}

func (s *session) nodeAddrs() []netip.Addr {
	out := make([]netip.Addr, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = n.Addr()
	}
	return out
}

// udpFlood is step 1: the ping flood.
func (s *session) udpFlood(ctx context.Context) error {
	l := s.lab
	n4, n6 := countFamilies(s.nodeAddrs())
	s.say("1. A Kazaa client on the PC at %s starts: it pings the %d supernodes of its cache over UDP (%d IPv4, %d IPv6).",
		l.ClientIP4, len(s.nodes), n4, n6)
	rep, err := runClient(ctx, l.Client, ftsim.ClientOptions{Nodes: s.nodes, PingWait: pingWait})
	if err != nil {
		return err
	}
	spoofed := 0
	for _, p := range rep.Pings {
		if p.Pongs > 0 && p.Pong == ftsim.TypeNodePong && p.PongFrom.Addr() == p.Node.Addr() {
			spoofed++
		}
	}
	received := s.node.Report().PingsReceived
	s.say("   ftwall answered %d/%d pings with a spoofed node pong (0x29) from the pinged address;", spoofed, len(s.nodes))
	s.say("   the real nodes on the internet received %d pings.", received)
	s.res.add(CheckPingsStopped, received == 0, "the nodes received %d pings", received)
	s.res.add(CheckSpoofedPongs, spoofed == len(s.nodes), "%d of %d pings answered with a 0x29 pong from the pinged address", spoofed, len(s.nodes))
	if rep.Outcome == ftsim.OutcomeUDPOnly {
		s.say("   Kazaa thinks its nodes are alive but none invites it to a session: it stays in UDP mode, where ftwall sees it.")
	} else {
		s.say("   The client's verdict: %s (%s).", rep.Outcome, rep.Reason)
	}

	t0 := time.Now()
	peers, client := s.nodeAddrs(), []netip.Addr{l.ClientIP4, l.ClientIP6}
	c, _, err := s.sets.waitFor(ctx, func(c setContents) bool { return allIn(c, peers, false) && allIn(c, client, true) })
	if err != nil {
		return err
	}
	took := time.Since(t0).Round(time.Millisecond)
	peersOK, lockOK := allIn(c, peers, false), allIn(c, client, true)
	nPeers := len(peers) - len(missing(c, peers, false))
	if peersOK {
		s.say("   Within %s ftwall put them into the kernel: %d peers blocked (%s %d, %s %d);",
			took, nPeers, nft.SetPeers4, len(c[nft.SetPeers4]), nft.SetPeers6, len(c[nft.SetPeers6]))
	} else {
		s.say("   After %s ftwall had blocked only %d of the %d nodes (%s %d, %s %d);",
			took, nPeers, len(peers), nft.SetPeers4, len(c[nft.SetPeers4]), nft.SetPeers6, len(c[nft.SetPeers6]))
	}
	if lockOK {
		s.say("   the PC (%s, %s) is time-locked for %s.", l.ClientIP4, l.ClientIP6, TimeLock)
	} else {
		s.say("   the PC is NOT time-locked: %s.", joinAddrs(missing(c, client, true)))
	}
	s.res.add(CheckPeersLearned, peersOK, "not in the peers sets after %s: %v", s.sets.wait, missing(c, peers, false))
	s.res.add(CheckClientLocked, lockOK, "not in the locked sets after %s: %v", s.sets.wait, missing(c, client, true))
	return nil
}

// tcpModes is step 2: the client tries TCP.
func (s *session) tcpModes(ctx context.Context) error {
	l := s.lab
	s.say("2. Suppose it gives up on UDP and tries TCP to the same %d nodes, all at once, then one at a time:", len(s.nodes))
	rep, err := runClient(ctx, l.Client, ftsim.ClientOptions{Nodes: s.nodes, NoUDP: true, ConnectTimeout: connectTimeout})
	if err != nil {
		return err
	}
	connected := 0
	for _, mode := range []struct{ id, name string }{{ftsim.ModeParallelTCP, "all at once"}, {ftsim.ModeTraditional, "one at a time"}} {
		atts := rep.Attempts(mode.id)
		if len(atts) == 0 {
			continue
		}
		for _, a := range atts {
			if a.Result == ftsim.ResultConnected {
				connected++
			}
		}
		s.say("   %s: %d connects, %s.", mode.name, len(atts), attemptSummary(atts))
	}
	accepted := s.node.Report().TCPAccepted
	if connected == 0 && accepted == 0 {
		s.say("   The nodes accepted %d connections: the client did not get onto the network.", accepted)
	} else {
		s.say("   The nodes accepted %d connections: the client GOT ONTO the network.", accepted)
	}
	s.res.add(CheckTCPBlocked, len(rep.TCP) > 0 && connected == 0 && accepted == 0,
		"%d TCP connects, %d succeeded, the nodes accepted %d (outcome %s)", len(rep.TCP), connected, accepted, rep.Outcome)

	web4 := netip.AddrPortFrom(l.InternetIP4, httpPort)
	web6 := netip.AddrPortFrom(l.InternetIP6, httpPort)
	r4, r6 := tcpConnect(ctx, l.Client, web4), tcpConnect(ctx, l.Client, web6)
	if err := ctxErr(ctx); err != nil {
		return err
	}
	what := fmt.Sprintf("%s and %s: %s", web4, web6, r4)
	if r4 != r6 {
		what = fmt.Sprintf("%s: %s, %s: %s", web4, r4, web6, r6)
	}
	if r4 != connOK && r6 != connOK {
		s.say("   While locked, no new TCP connection of the PC gets out: web server %s.", what)
		s.say("   The lock lapses %s after Kazaa stops: at half time ftwall probes the client, and Kazaa's answer renews it.", TimeLock)
	} else {
		s.say("   New TCP of the PC to the web server %s: the PC is NOT time-locked.", what)
	}
	s.res.add(CheckLockRefuses, r4 != connOK && r6 != connOK, "locked client's new TCP: %s %s, %s %s", web4, r4, web6, r6)
	return nil
}

// ordinary is step 3: ordinary traffic.
func (s *session) ordinary(ctx context.Context) error {
	l := s.lab
	s.say("3. Ordinary traffic of the neighbour at %s (no Kazaa there):", l.Client2IP4)
	o, err := s.ordinaryTraffic(ctx, l.InternetIP4, l.InternetIP6, "locked Kazaa PC")
	if err != nil {
		return err
	}
	s.res.add(CheckOrdinaryHTTP, len(o.httpFailed) == 0, "%s", strings.Join(o.httpFailed, "; "))
	s.res.add(CheckOrdinaryUDP, len(o.udpFailed) == 0, "%s", strings.Join(o.udpFailed, "; "))

	c, err := s.sets.read(ctx)
	if err != nil {
		return err
	}
	extra := unexpected(c, s.nodeAddrs(), []netip.Addr{l.ClientIP4, l.ClientIP6})
	if len(extra) == 0 {
		s.say("   ftwall learned nothing from it: the sets still hold only the Kazaa nodes and the Kazaa PC.")
	} else {
		s.say("   ftwall WRONGLY learned from it: %s.", strings.Join(extra, ", "))
	}
	s.res.add(CheckNothingLearned, len(extra) == 0, "unexpected set elements: %s", strings.Join(extra, ", "))
	return nil
}

// ordinaryOutcome is what went wrong with the neighbour's ordinary
// traffic (nothing: empty).
type ordinaryOutcome struct {
	httpFailed, udpFailed []string
}

// ordinaryTraffic plays and tells the neighbour's ordinary traffic to the
// web and DNS-like servers at srv4 and srv6: an HTTP download over each
// family from the neighbour, and DNS-like UDP queries from the neighbour
// and from the locked PC (named lockedName in the narrative).
func (s *session) ordinaryTraffic(ctx context.Context, srv4, srv6 netip.Addr, lockedName string) (ordinaryOutcome, error) {
	l := s.lab
	var o ordinaryOutcome
	for _, u := range []string{
		fmt.Sprintf("http://%s%s", srv4, filePath),
		fmt.Sprintf("http://[%s]%s", srv6, filePath),
	} {
		d := httpGet(ctx, l.Client2, u, s.srv.body)
		if err := ctxErr(ctx); err != nil {
			return o, err
		}
		s.say("   HTTP download %s: %s", u, d.describe())
		if !d.Intact {
			o.httpFailed = append(o.httpFailed, u+": "+d.describe())
		}
	}

	dsts := []netip.AddrPort{netip.AddrPortFrom(srv4, dnsPort), netip.AddrPortFrom(srv6, dnsPort)}
	answered, asked := 0, 0
	for _, h := range []struct {
		ns   *lab.NS
		name string
	}{{l.Client2, "neighbour"}, {l.Client, lockedName}} {
		for _, dst := range dsts {
			asked++
			err := udpQuery(ctx, h.ns, dst)
			if err := ctxErr(ctx); err != nil {
				return o, err
			}
			if err != nil {
				o.udpFailed = append(o.udpFailed, fmt.Sprintf("%s → %s: %s", h.name, dst, shortErr(err)))
				continue
			}
			answered++
		}
	}
	if len(o.udpFailed) == 0 {
		s.say("   DNS-like UDP queries to %s and %s: %d/%d answered (from the neighbour and from the %s).", dsts[0], dsts[1], answered, asked, lockedName)
	} else {
		s.say("   DNS-like UDP queries: %d/%d answered; NOT: %s.", answered, asked, strings.Join(o.udpFailed, "; "))
	}
	return o, nil
}

// safetyNet is step 4: FastTrack HTTP downloads with UDP off.
func (s *session) safetyNet(ctx context.Context) error {
	l := s.lab
	s.say("4. The neighbour starts Kazaa too, behind a personal firewall that blocks UDP: no pings, straight to downloads:")
	type dl struct {
		target, supernode netip.AddrPort
		rep               ftsim.ClientReport
		err               error
	}
	dls := []*dl{
		{target: netip.AddrPortFrom(l.Peers4[20], ftPort), supernode: netip.AddrPortFrom(l.Peers4[21], ftPort)},
		{target: netip.AddrPortFrom(l.Peers6[20], ftPort), supernode: netip.AddrPortFrom(l.Peers6[21], ftPort)},
	}
	var wg sync.WaitGroup
	for _, d := range dls {
		wg.Go(func() {
			d.rep, d.err = runClient(ctx, l.Client2, ftsim.ClientOptions{NoUDP: true, HTTP: d.target, Supernode: d.supernode, HTTPTimeout: downloadTimeout})
		})
	}
	wg.Wait()
	stopped := true
	var blocked []netip.Addr
	for _, d := range dls {
		if d.err != nil {
			return d.err
		}
		ok, text := describeFastTrackDownload(d.rep.HTTP)
		stopped = stopped && ok
		s.say("   %s to %s (supernode %s): %s", requestText(d.rep.HTTP), d.target, d.supernode.Addr(), text)
		blocked = append(blocked, d.target.Addr(), d.supernode.Addr())
	}
	served := len(s.node.Report().Downloads)

	neighbour := []netip.Addr{l.Client2IP4, l.Client2IP6}
	c, _, err := s.sets.waitFor(ctx, func(c setContents) bool { return allIn(c, blocked, false) && allIn(c, neighbour, true) })
	if err != nil {
		return err
	}
	peersOK, lockOK := allIn(c, blocked, false), allIn(c, neighbour, true)
	what := fmt.Sprintf("now blocked: %s", joinAddrs(blocked))
	if !peersOK {
		what = fmt.Sprintf("NOT blocked: %s", joinAddrs(missing(c, blocked, false)))
	}
	lock := fmt.Sprintf("the neighbour (%s, %s) is time-locked", l.Client2IP4, l.Client2IP6)
	if !lockOK {
		lock = fmt.Sprintf("NOT time-locked: %s", joinAddrs(missing(c, neighbour, true)))
	}
	s.say("   The nodes served %d downloads. Targets and supernodes %s;", served, what)
	s.say("   %s.", lock)
	s.res.add(CheckSafetyNet, stopped && served == 0 && peersOK && lockOK,
		"downloads stopped %v, served %d, not blocked %v, not locked %v", stopped, served, missing(c, blocked, false), missing(c, neighbour, true))
	return nil
}

// ctxErr is the cause of ctx's end, nil while it runs.
func ctxErr(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// describeFastTrackDownload says how a FastTrack download ended and whether
// it was stopped (no file arrived).
func describeFastTrackDownload(r *ftsim.DownloadResult) (stopped bool, text string) {
	switch {
	case r == nil:
		return false, "no download made"
	case r.Intact || r.Status != 0:
		return false, fmt.Sprintf("GOT THROUGH: %s, %d bytes", r.StatusLine, r.Bytes)
	case r.Result != ftsim.ResultConnected:
		return true, fmt.Sprintf("stopped: connect %s", r.Result)
	}
	return true, fmt.Sprintf("stopped, never answered (%s)", lastPart(r.Error))
}

// requestText is a short form of the download's request line.
func requestText(r *ftsim.DownloadResult) string {
	if r == nil || r.Request == "" {
		return "HTTP download"
	}
	line := strings.TrimSuffix(r.Request, " HTTP/1.1")
	if i := strings.Index(line, "/.hash="); i >= 0 && len(line) > i+7+8 {
		line = line[:i+7+8] + "…"
	}
	return line
}

// attemptSummary counts TCP attempts by result, e.g. "16 refused (TCP
// reset)".
func attemptSummary(atts []ftsim.TCPAttempt) string {
	counts := map[string]int{}
	for _, a := range atts {
		counts[a.Result]++
	}
	var parts []string
	for _, r := range []struct{ id, text string }{
		{ftsim.ResultRefused, connReset},
		{ftsim.ResultTimeout, fmt.Sprintf("no answer within %s (dropped)", connectTimeout)},
		{ftsim.ResultUnreachable, "unreachable (ICMP)"},
		{ftsim.ResultConnected, "CONNECTED"},
		{ftsim.ResultError, "failed otherwise"},
	} {
		if n := counts[r.id]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r.text))
		}
	}
	if len(parts) == 0 {
		return "none made"
	}
	return strings.Join(parts, ", ")
}

// unexpected lists set elements other than the peers and locked clients
// expected.
func unexpected(c setContents, peers, locked []netip.Addr) []string {
	var out []string
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6} {
		for _, a := range c[set] {
			if !slices.Contains(peers, a) {
				out = append(out, fmt.Sprintf("%s in %s", a, set))
			}
		}
	}
	for _, set := range []string{nft.SetLocked4, nft.SetLocked6} {
		for _, a := range c[set] {
			if !slices.Contains(locked, a) {
				out = append(out, fmt.Sprintf("%s in %s", a, set))
			}
		}
	}
	return out
}

func countFamilies(addrs []netip.Addr) (v4, v6 int) {
	for _, a := range addrs {
		if a.Is4() {
			v4++
		} else {
			v6++
		}
	}
	return v4, v6
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
