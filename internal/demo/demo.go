package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// session is one demo run: the lab, the programs in it and the result.
type session struct {
	o   Options
	out io.Writer
	res *Result

	lab  *lab.Lab
	sets sets
	ft   *ftwallProc
	node *ftsim.Node
	srv  *ordinaryServers

	stopNode context.CancelFunc
	nodes    []netip.AddrPort // the Kazaa client's cached supernodes

	// ftProblems say how an ftwall run failed to run through or stop
	// cleanly (the demo restarts it once for BitTorrent).
	ftProblems []string
	ftRuns     int
}

// Run plays the demo: it builds the lab, starts ftwall run on its router,
// plays the Kazaa client and the ordinary traffic, writes the narrative to
// opts.Out and removes everything again, also when ctx ends early. The
// Result says which checks passed; the error is non-nil when the demo could
// not run to its end (ErrNotRoot, a lab or ftwall failing to start, ctx
// ending), and then the Result holds the checks made so far.
func Run(ctx context.Context, opts Options) (res Result, err error) {
	start := time.Now()
	defer func() { res.Elapsed = time.Since(start) }()
	o, err := opts.check()
	if err != nil {
		return res, err
	}
	s := &session{o: o, out: o.Out, res: &res}
	err = s.run(ctx, start)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("demo interrupted: %w", context.Cause(ctx))
		s.say("Interrupted: %v.", context.Cause(ctx))
	}
	if cerr := s.cleanup(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("remove the demo lab: %w", cerr))
	}
	return res, err
}

// say writes one line of the narrative. A failing writer (a closed
// terminal) does not stop the demo: the lab must still be removed.
func (s *session) say(format string, args ...any) {
	_, _ = fmt.Fprintf(s.out, format+"\n", args...)
}

// block writes text indented by two spaces.
func (s *session) block(text string) {
	for _, l := range strings.Split(text, "\n") {
		s.say("  %s", l)
	}
}

func (s *session) run(ctx context.Context, start time.Time) error {
	s.say("ftwall demo: a throw-away lab of network namespaces; nothing outside them is touched.")
	l, err := lab.New(ctx, s.o.LabPrefix)
	if err != nil {
		return fmt.Errorf("build the namespace lab: %w", err)
	}
	s.lab = l
	s.res.Lab = strings.TrimSuffix(l.Router.Name, "-"+lab.RoleRouter)
	for _, a := range l.Peers4[:nodes4] {
		s.nodes = append(s.nodes, netip.AddrPortFrom(a, ftPort))
	}
	for _, a := range l.Peers6[:nodes6] {
		s.nodes = append(s.nodes, netip.AddrPortFrom(a, ftPort))
	}
	if err := s.startServices(ctx); err != nil {
		return err
	}
	s.header()
	t0 := time.Now()
	if err := s.startFtwall(ctx); err != nil {
		return err
	}
	s.say("  Namespaces %s-{client,client2,router,internet}; on the router:", s.res.Lab)
	s.say("  %s  (ready in %s, queue backend %s)", s.ft.commandLine(), time.Since(t0).Round(time.Millisecond), orUnknown(s.ft.log.Backend()))
	s.say("")

	for _, step := range []func(context.Context) error{s.udpFlood, s.tcpModes, s.ordinary, s.safetyNet} {
		if err := step(ctx); err != nil {
			return err
		}
		if err := ctxErr(ctx); err != nil {
			return err
		}
	}

	s.say("")
	s.say("What ftwall learned (`ip netns exec %s nft list set inet ftwall …`):", l.Router.Name)
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6, nft.SetLocked4, nft.SetLocked6} {
		out, err := nftListSet(ctx, l.Router, set)
		if err != nil {
			return fmt.Errorf("show the set %s: %w", set, err)
		}
		s.block(out)
	}
	counters, err := ftwallStatusCounters(ctx, l.Router, s.o.FtwallPath)
	if err != nil {
		return fmt.Errorf("show the rule counters: %w", err)
	}
	s.say("Rule counters (`ftwall status`):")
	s.block(counters)

	s.say("")
	if err := s.bittorrent(ctx); err != nil {
		return err
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}

	took := time.Since(start)
	if s.o.Keep {
		s.keep(ctx)
	}
	s.stopFtwall(true)
	if len(s.ftProblems) == 0 {
		what := "ran through the demo and stopped on SIGTERM"
		if s.ftRuns > 1 {
			what = fmt.Sprintf("its %d runs (restarted for BitTorrent) ran through and stopped on SIGTERM", s.ftRuns)
		}
		s.res.add(CheckFtwallRan, true, "%s", what)
	} else {
		s.res.add(CheckFtwallRan, false, "%s", strings.Join(s.ftProblems, "; "))
	}
	s.say("")
	s.say("%s", s.res.Summary())
	s.say("The demo took %.1fs.", took.Seconds())
	if !s.res.Passed() && !s.o.Verbose {
		s.say("The end of ftwall's log (--verbose shows all of it):")
		s.say("%s", s.ft.tail())
	}
	return nil
}

// startFtwall starts ftwall run on the router with extra arguments and
// waits until it reads its queue.
func (s *session) startFtwall(ctx context.Context, extra ...string) error {
	ft, err := startFtwall(s.lab.Router, s.o.FtwallPath, s.verboseOut(), extra...)
	if err != nil {
		return err
	}
	s.ft = ft
	s.ftRuns++
	if err := ft.waitReady(ctx); err != nil {
		return err
	}
	if err := waitQueueBound(ctx, s.lab.Router, queueNum); err != nil {
		if ctx.Err() != nil {
			return err
		}
		// Tell, and play anyway: the checks will show what it means.
		s.say("  WARNING: %v", err)
	}
	return nil
}

// header draws the lab.
func (s *session) header() {
	l := s.lab
	pc := fmt.Sprintf("  Kazaa PC  %-9s %-10s ── %s ", l.ClientIP4, l.ClientIP6, lab.IfLAN0)
	nb := fmt.Sprintf("  neighbour %-9s %-10s ── %s ", l.Client2IP4, l.Client2IP6, lab.IfLAN1)
	mid := fmt.Sprintf("├ router (ftwall) %s ── internet: ", lab.IfWAN0)
	n4, n6 := countFamilies(s.nodeAddrs())
	s.say("%s┐", pc)
	s.say("%s%sweb + DNS-like server %s %s,", strings.Repeat(" ", utf8.RuneCountInString(pc)), mid, l.InternetIP4, l.InternetIP6)
	s.say("%s┘%s%d Kazaa supernodes %s–%d %s–%x, port %d", nb, strings.Repeat(" ", utf8.RuneCountInString(mid)-1),
		len(s.nodes), l.Peers4[0], l.Peers4[n4-1].As4()[3], l.Peers6[0], l.Peers6[n6-1].As16()[15], ftPort)
}

// verboseOut is where ftwall's log goes as it runs (nil: only kept for a
// failure report).
func (s *session) verboseOut() io.Writer {
	if s.o.Verbose {
		return s.out
	}
	return nil
}

// startServices starts the supernodes and the ordinary servers in the
// internet namespace, and opens the router's nftables view.
func (s *session) startServices(ctx context.Context) error {
	l := s.lab
	nodeCtx, cancel := context.WithCancel(context.Background())
	s.stopNode = cancel
	node, err := ftsim.StartNode(nodeCtx, ftsim.NodeOptions{Net: ftsim.InNamespace(l.Internet.Do), Port: ftPort})
	if err != nil {
		return fmt.Errorf("start the simulated supernodes: %w", err)
	}
	s.node = node
	srv4, srv6 := s.otherServer()
	srv, err := startOrdinary(l.Internet, []netip.Addr{l.InternetIP4, l.InternetIP6, srv4, srv6})
	if err != nil {
		return err
	}
	s.srv = srv
	k, err := nft.Open(nft.WithNetNS(l.Router.Fd()))
	if err != nil {
		return fmt.Errorf("open nftables in the router namespace: %w", err)
	}
	s.sets = sets{k: k, wait: s.o.learnWait}
	return ctx.Err()
}

// keep leaves the lab running until ctx ends, with hints for looking around.
func (s *session) keep(ctx context.Context) {
	l := s.lab
	s.say("")
	s.say("The lab stays up until you press Ctrl-C. Look around, e.g.:")
	s.say("  ip netns exec %s nft list ruleset", l.Router.Name)
	s.say("  ip netns exec %s %s status", l.Router.Name, s.o.FtwallPath)
	s.say("  ip netns exec %s ping -c1 %s", l.Client.Name, l.InternetIP4)
	<-ctx.Done()
	s.say("Ctrl-C: stopping.")
}

// stopFtwall stops ftwall run and notes in s.ftProblems when it had not
// run through or did not stop cleanly; final is the stop at the end of the
// demo (not the restart for BitTorrent).
func (s *session) stopFtwall(final bool) {
	wasRunning, err := s.ft.stop()
	switch {
	case !wasRunning:
		s.ftProblems = append(s.ftProblems, fmt.Sprintf("ftwall run exited during the demo: %v", s.ft.Err()))
	case err != nil && !(final && s.o.Keep):
		// With Keep, Ctrl-C reached the last ftwall as well; how it
		// exited then is not the demo's business.
		s.ftProblems = append(s.ftProblems, fmt.Sprintf("ftwall run did not stop cleanly on SIGTERM: %v", err))
	}
}

// cleanup stops everything and removes the lab; it runs after every Run.
func (s *session) cleanup() error {
	var errs []error
	if s.ft != nil && s.ft.Running() {
		// An aborted run: how ftwall exits matters less than the
		// namespaces going away (they take its table with them).
		_, _ = s.ft.stop()
	}
	if s.node != nil {
		s.node.Stop()
	}
	if s.stopNode != nil {
		s.stopNode()
	}
	if s.srv != nil {
		s.srv.close()
	}
	if s.sets.k != nil {
		if err := s.sets.k.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.lab != nil {
		if err := s.lab.Close(); err != nil {
			errs = append(errs, err)
		} else {
			s.say("Lab removed: no namespace, interface or rule of the demo is left.")
		}
	}
	return errors.Join(errs...)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
