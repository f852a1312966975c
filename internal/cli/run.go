package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/events"
	"github.com/ftwall/ftwall/internal/service"
	"github.com/ftwall/ftwall/internal/share"
)

// logSettings are run's logging options; they take effect at start only.
type logSettings struct {
	format string
	level  slog.Level
	syslog bool
}

func (inv *invocation) run(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	cfg, logs, err := inv.runConfig(c)
	if err != nil {
		return err
	}
	if err := inv.checkInterfaces(c, cfg.Ruleset); err != nil {
		return err
	}
	if inv.captureRun != nil {
		inv.captureRun(cfg)
		return nil
	}
	if c.Bool(optCheck) {
		return inv.printCheck(c, runOptions(), inv.interfaceWarnings(cfg.Ruleset))
	}
	if err := inv.requireCapabilities("ftwall run", capNetAdmin, capNetRaw); err != nil {
		return err
	}
	log, closer, err := inv.env.newLogger(inv.env.stderr, logs.format, logs.level, logs.syslog)
	if err != nil {
		return fmt.Errorf("set up logging: %w", err)
	}
	defer closer.Close()
	// The service logs in the chosen format, so the interface warnings go
	// to its log too.
	warns, err := inv.missingInterfaces(cfg.Ruleset)
	if err != nil {
		log.Warn("cannot check whether the interfaces exist", "err", err)
	}
	for _, w := range warns {
		log.Warn(w)
	}
	cfg.Reload = inv.reloadFunc()
	err = inv.env.runService(c.Context, cfg, log)
	if err != nil && errors.Is(err, context.Canceled) && c.Context.Err() != nil {
		return nil // stopped by SIGINT/SIGTERM
	}
	return err
}

// reloadFunc returns the service's SIGHUP callback: it parses the original
// command line again, which re-reads the configuration file and the
// environment.
func (inv *invocation) reloadFunc() func() (service.Config, error) {
	e, args := inv.env, inv.args
	var reload func() (service.Config, error)
	reload = func() (service.Config, error) {
		cfg, err := loadRunConfig(e, args)
		if err != nil {
			return service.Config{}, err
		}
		cfg.Reload = reload
		return cfg, nil
	}
	return reload
}

// loadRunConfig parses args (a `run` command line, as given to Main) with
// the current environment and configuration file and returns the
// service configuration it describes, without starting anything and
// without output.
func loadRunConfig(e *env, args []string) (service.Config, error) {
	quiet := *e
	quiet.stdout, quiet.stderr = io.Discard, io.Discard
	var cfg service.Config
	captured := false
	inv := &invocation{env: &quiet, args: args, captureRun: func(c service.Config) {
		cfg, captured = c, true
	}}
	if err := inv.app().RunContext(context.Background(), args); err != nil {
		return service.Config{}, errors.New(oneLine(err))
	}
	if !captured {
		return service.Config{}, errors.New("the command line is no longer a run command; configuration not reloaded")
	}
	return cfg, nil
}

// runConfig builds and validates the service configuration and the log
// settings from run's options.
func (inv *invocation) runConfig(c *cli.Context) (service.Config, logSettings, error) {
	var logs logSettings
	rs, err := inv.rulesetConfig(c)
	if err != nil {
		return service.Config{}, logs, err
	}
	ds, err := inv.detectors(c)
	if err != nil {
		return service.Config{}, logs, err
	}
	cfg := service.Config{
		Ruleset:         rs,
		Detectors:       ds,
		Reset:           c.Bool(optReset),
		DryRun:          c.Bool(optDryRun),
		NoUDPBlock:      c.Bool(optNoUDPBlock),
		TeardownOnExit:  c.Bool(optTeardownOnExit),
		Store:           strings.TrimSpace(c.String(optStore)),
		StoreInterval:   c.Duration(optStoreInterval),
		ClientDir:       strings.TrimSpace(c.String(optClientDir)),
		LogLetters:      c.String(optLog),
		SummaryInterval: c.Duration(optSummaryInterval),
		MetricsListen:   strings.TrimSpace(c.String(optMetricsListen)),
		RunDir:          inv.runDir(c),
	}
	if cfg.PongType, err = parsePong(c.String(optPong)); err != nil {
		return cfg, logs, inv.badOption(optPong, "%v", err)
	}
	if cfg.PongRate = c.Int(optPongRate); cfg.PongRate < 1 {
		return cfg, logs, inv.badOption(optPongRate, "%d: want at least 1 pong per second", cfg.PongRate)
	}
	if cfg.PongBurst = c.Int(optPongBurst); cfg.PongBurst < 1 {
		return cfg, logs, inv.badOption(optPongBurst, "%d: want at least 1 pong", cfg.PongBurst)
	}
	for _, v := range listValue(c, optProtect) {
		p, err := parsePrefix(v)
		if err != nil {
			return cfg, logs, inv.badOption(optProtect, "%v", err)
		}
		cfg.Protect = append(cfg.Protect, p)
	}
	switch cfg.PeerBudget = c.Int(optPeerBudget); {
	case cfg.PeerBudget < 0:
		return cfg, logs, inv.badOption(optPeerBudget, "%d is negative (0 means no budget)", cfg.PeerBudget)
	case cfg.PeerBudget == 0:
		cfg.PeerBudget = -1
	}
	if cfg.PeerBudgetRate = c.Int(optPeerBudgetRate); cfg.PeerBudgetRate < 1 {
		return cfg, logs, inv.badOption(optPeerBudgetRate, "%d: want at least 1 peer per second", cfg.PeerBudgetRate)
	}
	if cfg.StoreInterval <= 0 {
		return cfg, logs, inv.badOption(optStoreInterval, "%s: want a positive duration", cfg.StoreInterval)
	}
	if cfg.Store != "" {
		// The storefile is written next to itself (a temporary file, then a
		// rename): without its directory every save fails.
		if dir := filepath.Dir(cfg.Store); inv.env.checkDir(dir) != nil {
			return cfg, logs, inv.badOption(optStore, "%s: its directory %s %v", cfg.Store, dir, inv.env.checkDir(dir))
		}
	}
	if cfg.SummaryInterval < 0 {
		return cfg, logs, inv.badOption(optSummaryInterval, "%s is negative (0 turns the summary off)", cfg.SummaryInterval)
	}
	if _, err := events.ParseLetters(cfg.LogLetters); err != nil {
		return cfg, logs, inv.badOption(optLog, "%v", err)
	}
	if cfg.MetricsListen != "" {
		if err := checkListenAddr(cfg.MetricsListen); err != nil {
			return cfg, logs, inv.badOption(optMetricsListen, "%v", err)
		}
	}
	for _, s := range listValue(c, optOwn) {
		a, err := parseAddr(s)
		if err != nil {
			return cfg, logs, inv.badOption(optOwn, "%v", err)
		}
		cfg.Own = append(cfg.Own, a)
	}
	for _, s := range listValue(c, optProbeSource) {
		a, err := parseAddr(s)
		if err != nil {
			return cfg, logs, inv.badOption(optProbeSource, "%v", err)
		}
		p := &cfg.ProbeSource4
		if a.Is6() {
			p = &cfg.ProbeSource6
		}
		if p.IsValid() {
			return cfg, logs, inv.badOption(optProbeSource, "%s and %s: give at most one IPv4 and one IPv6 address", *p, a)
		}
		*p = a
	}
	if cfg.Share, err = inv.shareConfig(c); err != nil {
		return cfg, logs, err
	}
	ml := c.Uint(optQueueMaxLen)
	if ml < 1 || ml > math.MaxUint32 {
		return cfg, logs, inv.badOption(optQueueMaxLen, "%d is out of range 1-%d", ml, uint64(math.MaxUint32))
	}
	cfg.QueueMaxLen = uint32(ml)

	switch logs.format = strings.ToLower(strings.TrimSpace(c.String(optLogFormat))); logs.format {
	case "text", "json":
	default:
		return cfg, logs, inv.badOption(optLogFormat, "%q is not a log format: want text or json", c.String(optLogFormat))
	}
	if err := logs.level.UnmarshalText([]byte(strings.TrimSpace(c.String(optLogLevel)))); err != nil {
		return cfg, logs, inv.badOption(optLogLevel, "%q is not a log level: want debug, info, warn or error", c.String(optLogLevel))
	}
	logs.syslog = c.Bool(optSyslog)

	if err := cfg.Validate(); err != nil {
		return cfg, logs, inv.optionErrors(err)
	}
	return cfg, logs, nil
}

// parsePong parses --pong: 0x29/29/node or 0x28/28/supernode.
func parsePong(s string) (byte, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "0x29", "29", "node":
		return 0x29, nil
	case "0x28", "28", "supernode":
		return 0x28, nil
	}
	return 0, fmt.Errorf("%q is not a pong type: want 0x29 (node pong) or 0x28 (supernode pong)", s)
}

// parseAddr parses one IPv4 or IPv6 address; IPv4-mapped IPv6 addresses
// become IPv4 and zones are dropped.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap().WithZone("")
	if a.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("%q is the unspecified address", s)
	}
	return a, nil
}

// checkListenAddr checks a host:port listen address.
func checkListenAddr(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (for example 127.0.0.1:9714 or [::1]:9714 or :9714)", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	return nil
}

// shareConfig builds the share configuration from the --share-* options.
func (inv *invocation) shareConfig(c *cli.Context) (share.Config, error) {
	sc := share.Config{
		URLs:        listValue(c, optShareURL),
		Name:        strings.TrimSpace(c.String(optShareName)),
		User:        c.String(optShareUser),
		Password:    c.String(optSharePassword),
		Token:       c.String(optShareToken),
		NKeyFile:    strings.TrimSpace(c.String(optShareNKey)),
		CredsFile:   strings.TrimSpace(c.String(optShareCreds)),
		TLSCA:       strings.TrimSpace(c.String(optShareTLSCA)),
		TLSCert:     strings.TrimSpace(c.String(optShareTLSCert)),
		TLSKey:      strings.TrimSpace(c.String(optShareTLSKey)),
		PeersBucket: strings.TrimSpace(c.String(optSharePeersBucket)),
		LocksBucket: strings.TrimSpace(c.String(optShareLocksBucket)),
		Replicas:    c.Int(optShareReplicas),
		Backlog:     c.Int(optShareBacklog),
	}
	m, err := share.ParseMode(c.String(optShareMode))
	if err != nil {
		return sc, inv.badOption(optShareMode, "%v", err)
	}
	sc.Mode = m
	if sc.Backlog < 1 {
		return sc, inv.badOption(optShareBacklog, "%d: want at least 1 entry", sc.Backlog)
	}
	if !sc.Enabled() {
		return share.Config{}, nil // not sharing: the other share options do nothing
	}
	if err := sc.Validate(); err != nil {
		return sc, inv.optionErrors(err)
	}
	return sc, nil
}
