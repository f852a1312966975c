package demo

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/btlab"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// The BitTorrent scene's settings.
const (
	// btFirstPacketWait bounds the wait for the client's first BitTorrent
	// packet (it comes within a second).
	btFirstPacketWait = 30 * time.Second
	// btObserve is how long the client runs under ftwall, from its start,
	// before the demo counts the bytes it got (internal/e2e waits as long;
	// without ftwall the download takes a second or two).
	btObserve = 6 * time.Second
	// otherServerIndex picks the peer address of the web and DNS-like
	// server of the BitTorrent scene's ordinary traffic (198.51.100.13,
	// 2001:db8:100::d): no Kazaa node of the demo and no DHT node of the
	// BitTorrent lab is there. The tracker's 203.0.113.2 is a blocked peer
	// by then, for every PC of the LAN.
	otherServerIndex = 12
)

// otherServer is the BitTorrent scene's ordinary server (both families).
func (s *session) otherServer() (netip.Addr, netip.Addr) {
	return s.lab.Peers4[otherServerIndex], s.lab.Peers6[otherServerIndex]
}

// btLeecher is the client the scene plays: aria2 when installed (the
// quickest to start and to download, docs/bittorrent-lab.md), else
// qBittorrent; either with the HTTP tracker, DHT on (aria2's DHT on 6882,
// as in internal/e2e).
func btLeecher() btlab.Options {
	if _, err := exec.LookPath(btlab.ProgAria2); err == nil {
		return btlab.Options{Client: btlab.Aria2, Tracker: btlab.TrackerHTTP, DHTPort: 6882}
	}
	return btlab.Options{Client: btlab.QBittorrent, Tracker: btlab.TrackerHTTP}
}

// clientName is how the client's authors write its name.
func clientName(k btlab.ClientKind) string {
	switch k {
	case btlab.Aria2:
		return "aria2"
	case btlab.Transmission:
		return "Transmission"
	case btlab.QBittorrent:
		return "qBittorrent"
	}
	return string(k)
}

// btUnblocked is how long the client takes for the whole file in the lab
// without ftwall (docs/bittorrent-lab.md, "Whole downloads of 4 MiB").
func btUnblocked(k btlab.ClientKind) string {
	switch k {
	case btlab.Aria2:
		return "1.2s"
	case btlab.QBittorrent:
		return "0.7s"
	}
	return "seconds"
}

// bittorrent is step 5: a real BitTorrent client (internal/btlab) against
// ftwall run. Skipped, with a message, when the BitTorrent programs are not
// installed. Everything the BitTorrent lab started is stopped and removed
// before it returns, also on an error or an interruption.
func (s *session) bittorrent(ctx context.Context) error {
	s.say("5. FastTrack is historic; BitTorrent is what networks meet today. Now a real BitTorrent client:")
	bt := newBTT(ctx, "ftwdemo-bittorrent", s.verboseOut())
	var (
		stepErr error
		failed  bool
	)
	err := bt.run(func() { failed, stepErr = s.playBitTorrent(ctx, bt) })
	if failed {
		// The cleanups then log the end of each program's output.
		bt.Errorf("a BitTorrent check failed")
	}
	bt.close()
	var skip *errBTSkipped
	switch {
	case errors.As(err, &skip):
		reason := strings.TrimPrefix(skip.reason, "real-client lab test: ")
		s.say("   Skipped: %s.", reason)
		s.res.skip(btChecks(), reason)
		return nil
	case err != nil:
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !s.o.Verbose {
			s.say("   The BitTorrent lab failed; the end of its log (--verbose shows all of it):")
			s.say("%s", bt.tail())
		}
		return fmt.Errorf("BitTorrent scene: %w", err)
	case stepErr != nil:
		return stepErr
	}
	if failed && !s.o.Verbose {
		s.say("   The end of the BitTorrent lab's log (--verbose shows all of it):")
		s.say("%s", bt.tail())
	}
	return nil
}

// playBitTorrent is the scene itself, on bt's goroutine: btlab's Fatalf
// and Skipf end it there. It reports whether a check failed; the error is
// for the demo not being able to go on (ctx ending, a set not readable,
// ftwall not restarting).
func (s *session) playBitTorrent(ctx context.Context, bt *btT) (failed bool, err error) {
	l := s.lab
	opts := btLeecher()
	prog := opts.Client.Program()
	progs := []string{btlab.ProgOpentracker, btlab.DefaultSeeder.Program()}
	if !slices.Contains(progs, prog) {
		progs = append(progs, prog)
	}
	btlab.Require(bt, progs...)

	// The Kazaa PC and the neighbour are still time-locked from steps 1-4:
	// a fresh start, so that what follows is BitTorrent's doing alone.
	// The Kazaa clients have quit, but the neighbour's kernel goes on
	// retransmitting the two download requests of step 4 (ftwall dropped
	// them) for minutes, evidence that would lock it again at once: end
	// those connections first.
	if err := endKazaaConnections(ctx, l.Client, l.Client2); err != nil {
		if err := ctxErr(ctx); err != nil {
			return false, err
		}
		s.say("   WARNING: %v; ftwall may lock the neighbour again.", err)
	}
	t0 := time.Now()
	s.stopFtwall(false)
	if err := s.startFtwall(ctx, "--reset"); err != nil {
		return false, err
	}
	s.say("   First ftwall restarts with --reset (empty sets: the Kazaa locks must not do the work); ready in %s.", since(t0))

	t0 = time.Now()
	r := btlab.NewRig(bt, l, btlab.RigOptions{})
	s.say("   The internet's %s runs opentracker (port %d), a DHT node (UDP %d) and a %s seeder (port %d) of a %s file; ready in %s.",
		l.InternetIP4, btlab.TrackerPort, btlab.DHTNodePorts[0], clientName(r.Seeder.Opts.Client), r.Seeder.PeerPort(), sizeText(int(r.Torrent.Size)), since(t0))

	capt := btlab.StartCapture(bt, l.Router, lab.IfLAN0) // before the client
	c := r.StartLeecher(bt, opts)
	tracker := "the trackerless DHT"
	if len(c.Torrent.Announce) > 0 {
		tracker = "the tracker " + c.Torrent.Announce[0]
	}
	s.say("   %s on the PC (%s, %s) fetches it, with a .torrent naming %s.", prog, l.ClientIP4, l.ClientIP6, tracker)
	first, err := capt.WaitBitTorrent(ctx, btFirstPacketWait, l.ClientIP4, l.ClientIP6)
	if err != nil {
		if err := ctxErr(ctx); err != nil {
			return false, err
		}
		bt.Fatalf("no BitTorrent packet from the PC: %v; the end of %s's output:\n%s", err, prog, lastLines(c.Output(), 20))
	}
	s.say("   Its first BitTorrent packet, %s after it started: %s.", first.Time.Sub(c.Started()).Round(time.Millisecond), describeBTPacket(first))

	client, seeder := l.ClientIP4, l.InternetIP4
	sc, _, err := s.sets.waitFor(ctx, func(c setContents) bool {
		return c.has(nft.SetLocked4, client) && c.has(nft.SetPeers4, seeder)
	})
	if err != nil {
		return false, err
	}
	lag := time.Since(first.Time).Round(time.Millisecond)
	locked, blocked := sc.has(nft.SetLocked4, client), sc.has(nft.SetPeers4, seeder)
	switch {
	case locked && blocked:
		s.say("   %s later the PC was time-locked (%s in %s) and %s, tracker, DHT node and seeder in one, blocked (%s).",
			lag, client, nft.SetLocked4, seeder, nft.SetPeers4)
	case locked:
		s.say("   The PC is time-locked (%s in %s), but %s is NOT blocked after %s.", client, nft.SetLocked4, seeder, lag)
	case blocked:
		s.say("   %s is blocked (%s), but the PC is NOT time-locked after %s.", seeder, nft.SetPeers4, lag)
	default:
		s.say("   After %s the PC is NOT time-locked and %s NOT blocked.", lag, seeder)
	}
	if also := alsoLearned(sc, l.ClientIP6, l.InternetIP6); also != "" {
		s.say("   Over IPv6 as well: %s.", also)
	}
	s.res.add(CheckBTClientLocked, locked, "%s not in %s %s after the client's first BitTorrent packet (%s)", client, nft.SetLocked4, s.sets.wait, first)
	s.res.add(CheckBTPeerBlocked, blocked, "%s not in %s (it holds: %s)", seeder, nft.SetPeers4, orNothing(joinAddrs(sc[nft.SetPeers4])))
	failed = !locked || !blocked

	// The neighbour's ordinary traffic while the client keeps trying.
	srv4, srv6 := s.otherServer()
	s.say("   Meanwhile the neighbour's ordinary traffic, to another web + DNS-like server at %s and %s:", srv4, srv6)
	o, err := s.ordinaryTraffic(ctx, srv4, srv6, "locked BitTorrent PC")
	if err != nil {
		return failed, err
	}
	sc, err = s.sets.read(ctx)
	if err != nil {
		return failed, err
	}
	var learned []string
	for _, a := range []netip.Addr{l.Client2IP4, l.Client2IP6} {
		if sc.has(lockedSet(a), a) {
			learned = append(learned, fmt.Sprintf("%s in %s", a, lockedSet(a)))
		}
	}
	for _, a := range []netip.Addr{srv4, srv6} {
		if sc.has(peersSet(a), a) {
			learned = append(learned, fmt.Sprintf("%s in %s", a, peersSet(a)))
		}
	}
	if len(learned) == 0 {
		s.say("   ftwall learned nothing from it: the neighbour is not locked, the server not blocked.")
	} else {
		s.say("   ftwall WRONGLY learned from it: %s.", strings.Join(learned, ", "))
	}
	problems := append(append(append([]string(nil), o.httpFailed...), o.udpFailed...), learned...)
	s.res.add(CheckBTOrdinary, len(problems) == 0, "%s", strings.Join(problems, "; "))
	failed = failed || len(problems) > 0

	// Give the client the time it would need many times over.
	if wait := time.Until(c.Started().Add(btObserve)); wait > 0 {
		select {
		case <-ctx.Done():
			return failed, context.Cause(ctx)
		case <-time.After(wait):
		}
	}
	got, err := c.CompletedBytes()
	if err != nil {
		return failed, fmt.Errorf("count the BitTorrent client's verified bytes: %w", err)
	}
	fromSeeder := 0
	for _, p := range capt.Packets() {
		if p.Outgoing && (p.Src.Addr() == l.InternetIP4 || p.Src.Addr() == l.InternetIP6) && p.Src.Port() == r.Seeder.PeerPort() {
			fromSeeder += p.Len
		}
	}
	s.say("   After %s %s has %d verified bytes of the %s file (without ftwall it has all of them in about %s);",
		time.Since(c.Started()).Round(time.Second), prog, got, sizeText(int(r.Torrent.Size)), btUnblocked(opts.Client))
	s.say("   %d payload bytes of the seeder crossed the router towards the PC.", fromSeeder)
	s.res.add(CheckBTNoPayload, got == 0 && fromSeeder == 0, "%d verified bytes of the file reached the client; %d payload bytes of the seeder crossed %s", got, fromSeeder, lab.IfLAN0)
	failed = failed || got != 0 || fromSeeder != 0

	s.say("   The lock and the peer in the kernel (`nft list set inet ftwall %s`, `… %s`):", nft.SetLocked4, nft.SetPeers4)
	for _, set := range []string{nft.SetLocked4, nft.SetPeers4} {
		out, err := nftListSet(ctx, l.Router, set)
		if err != nil {
			return failed, fmt.Errorf("show the set %s: %w", set, err)
		}
		s.block(out)
	}
	return failed, nil
}

// endKazaaConnections ends the TCP connections to FastTrack's port left in
// the namespaces (`ss -K`, SOCK_DESTROY), and reports any that remain.
func endKazaaConnections(ctx context.Context, nss ...*lab.NS) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	filter := []string{"dport", "=", fmt.Sprintf(":%d", ftPort)}
	for _, ns := range nss {
		if _, err := ns.Run(ctx, "ss", append([]string{"-K", "-t", "-n"}, filter...)...); err != nil {
			return fmt.Errorf("end the Kazaa connections in %s (ss -K): %w", ns.Name, err)
		}
		out, err := ns.Run(ctx, "ss", append([]string{"-H", "-t", "-n"}, filter...)...)
		if err != nil {
			return fmt.Errorf("list the TCP connections in %s (ss): %w", ns.Name, err)
		}
		if left := strings.TrimSpace(out); left != "" {
			return fmt.Errorf("Kazaa connections left in %s after ss -K (a kernel without CONFIG_INET_DIAG_DESTROY?): %s", ns.Name, left)
		}
	}
	return nil
}

// alsoLearned tells which of the client's and the seeder's IPv6
// addresses are locked and blocked ("" when neither).
func alsoLearned(c setContents, client6, seeder6 netip.Addr) string {
	var parts []string
	if c.has(nft.SetLocked6, client6) {
		parts = append(parts, fmt.Sprintf("%s in %s", client6, nft.SetLocked6))
	}
	if c.has(nft.SetPeers6, seeder6) {
		parts = append(parts, fmt.Sprintf("%s in %s", seeder6, nft.SetPeers6))
	}
	return strings.Join(parts, ", ")
}

// describeBTPacket says what a captured BitTorrent packet is, e.g. "a DHT
// ping query (krpc-query), UDP 10.0.1.2:6882 → 203.0.113.2:6881, 67 bytes".
func describeBTPacket(p btlab.Packet) string {
	var what string
	switch p.Kind {
	case btlab.KindKRPCQuery:
		what = "a DHT query"
		if m := btlab.KRPCMethod(p.Payload); m != "" {
			what = "a DHT " + m + " query"
		}
	case btlab.KindHTTPAnnounce:
		what = "an HTTP tracker announce, GET /announce?info_hash=…"
	case btlab.KindHTTPScrape:
		what = "an HTTP tracker scrape"
	case btlab.KindUDPConnect:
		what = "a UDP tracker connect"
	case btlab.KindUDPAnnounce:
		what = "a UDP tracker announce"
	case btlab.KindHandshake:
		what = "a plaintext BitTorrent handshake"
	case btlab.KindMSE:
		what = "an encrypted (MSE) handshake"
	case btlab.KindUTPSyn:
		what = "a uTP SYN"
	default:
		what = "a BitTorrent packet"
	}
	return fmt.Sprintf("%s (%s), %s %s → %s, %d bytes", what, p.Kind, strings.ToUpper(p.Proto), p.Src, p.Dst, p.Len)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// since is the time since t, rounded for the narrative.
func since(t time.Time) time.Duration {
	d := time.Since(t)
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
