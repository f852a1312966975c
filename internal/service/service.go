// Package service is `ftwall run`: it applies the ruleset, reads the queued
// candidate packets, classifies them with package inspect, answers them with
// verdicts and spoofed pongs, and keeps the kernel's peer and lock sets, the
// time-lock state, the storefile and the client directory up to date.
//
// Data flows one way: queue readers → inspect → decision → a channel → the
// control goroutine, which alone writes to nftables (coalescing bursts into
// batches) and owns the time-lock tracker, so the packet path never waits on
// netlink.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/stream"
	"github.com/ftwall/ftwall/internal/buildinfo"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/events"
	"github.com/ftwall/ftwall/internal/metrics"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/internal/rawsend"
	"github.com/ftwall/ftwall/internal/share"
	"github.com/ftwall/ftwall/nft"
	"github.com/ftwall/ftwall/timelock"
)

// runState is what the packet path reads; it is replaced whole (atomically)
// on reload and when the interfaces change.
type runState struct {
	cfg       Config
	detectors inspect.Detectors
	settings  inspect.Settings
	ifs       *ifaceView
	dryRun    bool
	events    *events.Events
	// classifier runs the detectors, TCP on the reassembled start of its
	// connection (the Service's stream table).
	classifier *stream.Classifier
}

// Deps are the service's outside world; tests replace them.
type Deps struct {
	Firewall   nft.Firewall
	Sender     sender
	Interfaces interfaceLister
	Now        func() time.Time
	// OpenQueue opens one queue reader; nil = real NFQUEUE readers.
	OpenQueue func(cfg queue.Config) (packetSource, error)
	// Signals delivers reload requests (SIGHUP); nil = the process's SIGHUP.
	Signals <-chan os.Signal
	// DialProbe makes a TCP time-lock probe's connect from src to the
	// client; nil = a real TCP connect.
	DialProbe func(ctx context.Context, src netip.Addr, dst netip.AddrPort) error
	// Neighbours opens the neighbour table the source MAC check reads (on
	// first use, in the control goroutine); nil = rtnetlink in ftwall's
	// network namespace.
	Neighbours func() (neighbourTable, error)
	// WatchInterfaces subscribes to address and link events; nil =
	// rtnetlink in ftwall's network namespace.
	WatchInterfaces func() (ifaceWatcher, error)
	// WatchRuleset subscribes to nftables change notifications; nil = the
	// Firewall's own (nft.Kernel.WatchRuleset), or none (the periodic
	// table check alone) for a Firewall without.
	WatchRuleset func() (rulesetWatcher, error)
	// ProtectFiles are where resolvers and default gateways are read (they
	// are never blocked); nil = /etc/resolv.conf, /proc/net/route and
	// /proc/net/ipv6_route; empty paths read nothing.
	ProtectFiles *ProtectFiles
}

// ProtectFiles name the files of the protected addresses.
type ProtectFiles struct{ ResolvConf, Route4, Route6 string }

// packetSource is a queue reader (queue.Reader): Start returns once packets
// are being delivered to h.
type packetSource interface {
	Start(ctx context.Context, h queue.Handler) error
	Close() error
}

// Service is one running `ftwall run`.
type Service struct {
	log    *slog.Logger
	fw     nft.Firewall
	sender sender
	lister interfaceLister
	now    func() time.Time
	// queueClock: packets carry their time (queue.Packet.Time) from the
	// same clock as now.
	queueClock bool
	deps       Deps
	state      atomic.Pointer[runState]
	stats      handlerStats
	learnCh    chan learned
	limiter    *pongLimiter
	known      *knownClients
	holds      *openerHold
	streams    *stream.Table // stream starts, shared by the queue readers

	ifRefresh chan struct{}
	metrics   *metrics.Metrics // nil = off

	// tableCheck asks the control goroutine to check the table (a
	// notification arrived); never more than one is queued.
	tableCheck chan struct{}
	// ctlCh carries operator requests from the control socket to the
	// control goroutine (operator.go).
	ctlCh chan ctlCall
	// shareClient is the connection to the other gateways (nil: not
	// sharing); shareCtr counts what the control goroutine did with what
	// it received.
	shareClient atomic.Pointer[share.Client]
	shareCtr    shareCounters
	// learnEpoch changes when an operator request changed what evidence
	// would do; the readers then forget what they forwarded (recent.go).
	learnEpoch atomic.Uint64
}

// Run runs `ftwall run` until ctx is cancelled (SIGINT/SIGTERM in the CLI).
// It returns nil after a clean stop; the table stays unless
// cfg.TeardownOnExit.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	fw, err := nft.Open(nft.WithLogger(log))
	if err != nil {
		return err
	}
	defer fw.Close()
	snd, err := rawsend.Open()
	if err != nil {
		return err
	}
	defer snd.Close()
	s, err := New(cfg, log, Deps{Firewall: fw, Sender: snd})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// New prepares a service; nothing touches the kernel before Run.
func New(cfg Config, log *slog.Logger, deps Deps) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if deps.Interfaces == nil {
		deps.Interfaces = sysInterfaces{}
	}
	// With the real clock, a queued packet's time is the one its reader
	// stamped (read once per queue.ClockEvery packets).
	queueClock := deps.Now == nil
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.OpenQueue == nil {
		deps.OpenQueue = func(c queue.Config) (packetSource, error) { return queue.Open(c) }
	}
	s := &Service{
		log:        log,
		fw:         deps.Firewall,
		sender:     deps.Sender,
		lister:     deps.Interfaces,
		now:        deps.Now,
		queueClock: queueClock,
		deps:       deps,
		learnCh:    make(chan learned, 8192),
		limiter:    newPongLimiter(cfg.PongRate, cfg.PongBurst, 65536),
		known:      newKnownClients(nft.LockSetSize, cfg.Ruleset.TimeLock),
		holds:      newOpenerHold(),
		streams:    stream.New(stream.Config{Window: inspect.StreamWindow}),
		ifRefresh:  make(chan struct{}, 1),

		tableCheck: make(chan struct{}, 1),
		ctlCh:      make(chan ctlCall),
	}
	st, err := s.buildState(cfg)
	if err != nil {
		return nil, err
	}
	s.state.Store(st)
	return s, nil
}

// protectedPrefixes is what Decide treats as allowlisted: --allow, the
// resolvers and default gateways, --protect, and for every IPv4 one (own
// addresses included) its NAT64 and 6to4 forms.
func (s *Service) protectedPrefixes(cfg Config, own []netip.Addr) ([]netip.Prefix, error) {
	src := systemProtectedSources
	if f := s.deps.ProtectFiles; f != nil {
		src = protectedSources{f.ResolvConf, f.Route4, f.Route6}
	}
	found, err := readProtected(src)
	if err != nil {
		// Not fatal: the allowlist and --protect still hold.
		s.log.Warn("resolvers and default gateways not read; they are not protected", "err", err)
	}
	ps := append(append([]netip.Prefix(nil), cfg.Ruleset.Allow...), cfg.Protect...)
	for _, a := range found {
		ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(found) > 0 || len(cfg.Protect) > 0 {
		s.log.Info("protected addresses (never blocked)", "resolvers_and_gateways", found, "protect", cfg.Protect)
	}
	out := withEmbeddings(ps)
	for _, a := range own {
		if a.Is4() {
			out = append(out, withEmbeddings([]netip.Prefix{netip.PrefixFrom(a, 32)})[1:]...)
		}
	}
	return out, nil
}

func (s *Service) buildState(cfg Config) (*runState, error) {
	own := append([]netip.Addr(nil), cfg.Own...)
	for _, a := range []netip.Addr{cfg.ProbeSource4, cfg.ProbeSource6} {
		if a.IsValid() {
			own = append(own, a) // probe answers go there
		}
	}
	ifs, err := buildIfaceView(s.lister, cfg.Ruleset.LAN, own)
	if err != nil {
		return nil, err
	}
	mask, err := events.ParseLetters(cfg.LogLetters)
	if err != nil {
		return nil, fmt.Errorf("--log: %w", err)
	}
	st := &runState{
		cfg:       cfg,
		detectors: cfg.Detectors,
		ifs:       ifs,
		dryRun:    cfg.DryRun,
		events:    events.New(s.log, mask),
		settings: inspect.Settings{
			LAN:      ifs.lanNets,
			Allow:    cfg.Ruleset.Allow,
			Own:      ifs.own,
			BlockUDP: !cfg.NoUDPBlock,
			TimeLock: cfg.Ruleset.TimeLock > 0,
			PongType: cfg.PongType,
		},
	}
	st.classifier = stream.NewClassifier(cfg.Detectors, s.streams)
	// Settings.LAN holds the LAN interfaces' own prefixes: addresses there
	// are never peers.
	lan := make([]netip.Prefix, 0, len(ifs.lanNets))
	for _, p := range ifs.lanNets {
		lan = append(lan, p.Masked())
	}
	st.settings.LAN = lan
	allow, err := s.protectedPrefixes(cfg, ifs.own)
	if err != nil {
		return nil, err
	}
	st.settings.Allow = allow
	st.settings.Compile()
	return st, nil
}

func (s *Service) requestIfaceRefresh() {
	select {
	case s.ifRefresh <- struct{}{}:
	default:
	}
}

// Stats returns the packet path's counters.
func (s *Service) Stats() *handlerStats { return &s.stats }

// Run applies the ruleset, restores state, reads the queues and runs the
// control loop until ctx is cancelled.
func (s *Service) Run(ctx context.Context) error {
	st := s.state.Load()
	cfg := st.cfg
	// One owner of the table: the run directory's lock, held until exit.
	var owner *ctl.Owner
	if cfg.RunDir != "" {
		o, err := ctl.Acquire(cfg.RunDir, 5*time.Second)
		if err != nil {
			var he *ctl.HeldError
			if errors.As(err, &he) {
				return fmt.Errorf("another ftwall run owns the table: %w; stop it first (systemctl stop ftwall), or give this one another --run-dir and --queue", err)
			}
			return fmt.Errorf("--run-dir: %w", err)
		}
		owner = o
		defer owner.Release()
	}
	if cfg.DryRun {
		// Dry-run leaves the kernel as it found it: it creates the table
		// and deletes it at exit, so it does not start over one that exists.
		cur, err := s.fw.Status(ctx, 0)
		if err != nil {
			return fmt.Errorf("dry-run: read table inet %s: %w", nft.TableName, err)
		}
		if cur.Present {
			return fmt.Errorf("dry-run: table inet %s exists (ftwall setup, or an ftwall run that stopped, left it); dry-run would change it and leaves the kernel as it found it: remove it first with ftwall teardown, or run without --dry-run", nft.TableName)
		}
	}
	res, err := s.fw.Setup(ctx, cfg.Ruleset, nft.SetupOptions{Reset: cfg.Reset})
	if err != nil {
		return fmt.Errorf("apply ruleset: %w", err)
	}
	createdForDryRun := cfg.DryRun && res.Created
	if createdForDryRun {
		// Whatever stops us from here on, the table goes with us.
		defer func() {
			if !s.state.Load().dryRun {
				return // dry-run was turned off: a real service now, its table stays
			}
			finish, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, err := s.fw.Teardown(finish); err != nil {
				s.log.Error("dry-run: table inet "+nft.TableName+" not removed at exit; remove it with ftwall teardown", "err", err)
				return
			}
			s.log.Info("dry-run: table removed at exit, the kernel is as it was", "table", "inet "+nft.TableName)
		}()
	}
	// nft logs "ruleset applied" with the backend, the fingerprint and what
	// changed; the "inspecting" line below says the rest once.

	if cfg.MetricsListen != "" {
		ln, err := metrics.Listen(cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		s.metrics = metrics.New(metrics.Logger(s.log), metrics.Streams(func() metrics.StreamStats {
			st := s.streams.Stats()
			return metrics.StreamStats{Tracked: st.Tracked, Evicted: st.Evicted, Refused: st.Refused, Rewritten: st.Conflicts}
		}))
		v, gov := buildinfo.Module()
		s.metrics.SetBuildInfo(v, gov, res.Backend.String())
		go func() {
			if err := metrics.ServeListener(ctx, ln, s.metrics.Handler(), s.log); err != nil {
				s.log.Error("metrics listener stopped", "err", err)
			}
		}()
	}

	ctrl, err := newControl(ctx, s, cfg)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			// Asked to stop while starting (SIGTERM during the storefile
			// load): a clean stop; the storefile is untouched.
			s.log.Info("stopped while starting", "err", err)
			return nil
		}
		return err
	}
	ctrl.backend = res.Backend

	// Sharing with other gateways: it connects in the background, and the
	// gateway works alone until it has.
	if sc, err := s.openShare(cfg); err != nil {
		return fmt.Errorf("--share: %w", err)
	} else if sc != nil {
		ctrl.share = newShareApply(sc, s.now())
		s.shareClient.Store(sc)
		if s.metrics != nil {
			s.metrics.RegisterShare(s.shareMetrics)
		}
		defer func() {
			finish, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
			defer cancel()
			if err := sc.Close(finish); err != nil {
				s.log.Warn("share: not everything learned was published before the stop", "err", err)
			}
			s.logShareStop()
		}()
	}

	// Operator requests (ftwall block, unblock, unlock, status) arrive on
	// the control socket.
	if owner != nil {
		srv, err := ctl.Listen(owner, s.log)
		if err != nil {
			return fmt.Errorf("--run-dir: %w", err)
		}
		srvCtx, stopServing := context.WithCancel(ctx)
		served := make(chan struct{})
		go func() { s.serveControl(srvCtx, srv); close(served) }()
		defer func() { stopServing(); <-served }()
	}

	// Readers: one per queue number.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	var readers []packetSource
	for i := uint16(0); i < cfg.Ruleset.Queues; i++ {
		num := cfg.Ruleset.QueueNum + i
		// Dry-run is the handler's (it follows a reload); the reader
		// gives the handler's verdicts.
		r, err := s.deps.OpenQueue(queue.Config{Num: num, MaxLen: cfg.QueueMaxLen, Logger: s.log})
		if err != nil {
			for _, r := range readers {
				r.Close()
			}
			return err
		}
		readers = append(readers, r)
	}
	for i, r := range readers {
		rd := s.newReader(i)
		if err := r.Start(readCtx, rd.handle); err != nil {
			for _, r := range readers {
				r.Close()
			}
			return fmt.Errorf("queue %d: %w", cfg.Ruleset.QueueNum+uint16(i), err)
		}
	}
	// Own addresses follow the kernel's address and link events.
	stopWatch := s.watchInterfaces(ctx)
	defer stopWatch()
	// Changes to the table by others are repaired (selfheal.go).
	stopRuleWatch := s.watchRuleset(ctx)
	defer stopRuleWatch()
	if s.metrics != nil {
		s.metrics.SetTablePresent(true)
	}

	// Only now are candidates inspected: say so (tests and the demo wait for it).
	s.log.Info("inspecting", "queues", fmt.Sprintf("%d..%d", cfg.Ruleset.QueueNum, cfg.Ruleset.QueueNum+cfg.Ruleset.Queues-1),
		"lan", cfg.Ruleset.LAN, "timelock", cfg.Ruleset.TimeLock, "peer_timeout", cfg.Ruleset.PeerTimeout,
		"backend", res.Backend.String(), "dry_run", cfg.DryRun)

	hup := s.deps.Signals
	if hup == nil {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		defer signal.Stop(c)
		hup = c
	}

	runErr := ctrl.loop(ctx, hup)
	// Stopping: no more table checks, before a --teardown-on-exit.
	ctrl.stopping = true
	stopRuleWatch()

	// Stop reading first (unbinding the queues lets bypass accept new
	// candidates), then write what the readers handed over.
	stopReading()
	for _, r := range readers {
		if err := r.Close(); err != nil {
			s.log.Debug("close queue", "err", err)
		}
	}
	finish, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ctrl.drain(finish)
	if err := ctrl.shutdown(finish); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if s.state.Load().cfg.TeardownOnExit {
		if _, err := s.fw.Teardown(finish); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("teardown on exit: %w", err))
		} else {
			s.log.Info("table removed on exit", "table", "inet "+nft.TableName)
		}
	}
	s.log.Info("stopped", "candidates", s.totalCandidates(), "dropped", s.stats.Dropped.Load(),
		"pongs", s.stats.PongsSent.Load(), "pongs_withheld", s.stats.PongsLimited.Load(), "peers_learned", ctrl.peersLearned, "probes_sent", ctrl.probesSent,
		"set_write_errors", ctrl.writeErrors, "evidence_lost", s.stats.LearnDropped.Load(), "evidence_repeats_held", s.stats.RepeatsHeld.Load(), "peers_over_budget", ctrl.peersOverBudget, "set_full_drops", ctrl.setFullDrops,
		"forged_mac_mismatch", ctrl.macs.mismatches, "forged_unresolved", ctrl.macs.unresolved, "table_repairs", ctrl.tableRepairs)
	return runErr
}

func (s *Service) totalCandidates() uint64 {
	n := s.stats.NotEvidence.Load()
	for i := range s.stats.Candidates {
		for k := range s.stats.Candidates[i] {
			n += s.stats.Candidates[i][k].Load()
		}
	}
	return n
}

// newTracker makes the time-lock tracker for cfg.
func newTracker(cfg Config) *timelock.Tracker {
	return timelock.New(timelock.Config{TimeLock: cfg.Ruleset.TimeLock})
}
