package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/internal/service"
	"github.com/ftwall/ftwall/nft"
)

func TestRunMapsEveryOption(t *testing.T) {
	h := newHarness(t)
	h.mustRun("run",
		"--lan", "lan0", "--lan", "lan1", "--wan", "wan0", "--allow", "192.0.2.0/24,2001:db8::/32",
		"--peer-timeout", "12h", "--timelock", "90s", "--lock-action", "drop",
		"--queue", "10", "--queues", "2", "--backend", "compat", "--reset",
		"--dry-run", "--no-udp-block", "--pong", "supernode", "--pong-rate", "50", "--pong-burst", "60", "--peer-budget", "0", "--peer-budget-rate", "7", "--max-peers", "1000", "--teardown-on-exit",
		"--store", "/var/lib/ftwall/peers", "--store-interval", "5m", "--client-dir", "/run/ftwall/clients",
		"--log", "uUtTcp", "--log-format", "json", "--log-level", "debug", "--syslog",
		"--summary-interval", "0", "--metrics-listen", "127.0.0.1:9117",
		"--own", "203.0.113.1,2001:db8:1::1", "--probe-source", "10.0.1.1", "--probe-source", "fd00:1::1",
		"--queue-maxlen", "8192", "--run-dir", "/run/ftwall-b")
	c := h.lastRun()
	if c.Reload == nil {
		t.Error("no Reload callback")
	}
	c.Reload = nil
	ip := netip.MustParseAddr
	want := service.Config{
		Ruleset: nft.Config{
			LAN: []string{"lan0", "lan1"}, WAN: []string{"wan0"},
			Allow:       []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")},
			PeerTimeout: 12 * time.Hour, TimeLock: 90 * time.Second, LockAction: nft.LockDrop, MaxPeers: 1000,
			QueueNum: 10, Queues: 2, Backend: nft.BackendCompat,
		},
		Reset: true, DryRun: true, NoUDPBlock: true, PongType: 0x28, PongRate: 50, PongBurst: 60, PeerBudget: -1, PeerBudgetRate: 7, TeardownOnExit: true,
		Own:          []netip.Addr{ip("203.0.113.1"), ip("2001:db8:1::1")},
		ProbeSource4: ip("10.0.1.1"), ProbeSource6: ip("fd00:1::1"),
		Store: "/var/lib/ftwall/peers", StoreInterval: 5 * time.Minute, ClientDir: "/run/ftwall/clients",
		LogLetters: "uUtTcp", SummaryInterval: 0, MetricsListen: "127.0.0.1:9117", QueueMaxLen: 8192,
		RunDir: "/run/ftwall-b",
	}
	checkDetectors(t, &c, registry.Names())
	if got, w := sprintConfig(c), sprintConfig(want); got != w {
		t.Errorf("service config:\n got %s\nwant %s", got, w)
	}
	if h.logArg.format != "json" || h.logArg.level != slog.LevelDebug || !h.logArg.syslog {
		t.Errorf("logger = %+v", h.logArg)
	}
}

func sprintConfig(c service.Config) string {
	c.Reload = nil
	return fmt.Sprintf("%+v", c)
}

func TestRunPongSpellings(t *testing.T) {
	for in, want := range map[string]byte{"0x29": 0x29, "29": 0x29, "node": 0x29, "NODE": 0x29, "0x28": 0x28, "28": 0x28, "supernode": 0x28, " 0X28 ": 0x28} {
		got, err := parsePong(in)
		if err != nil || got != want {
			t.Errorf("parsePong(%q) = %#x, %v; want %#x", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0x27", "41", "pong", "0x029"} {
		if _, err := parsePong(in); err == nil {
			t.Errorf("parsePong(%q) accepted", in)
		}
	}
}

// TestRunReload checks the SIGHUP callback: it re-reads the configuration
// file and the environment with the original flags, and reports a broken
// file as an error naming the line.
func TestRunReload(t *testing.T) {
	h := newHarness(t)
	path := writeFile(t, "ftwall.yaml", "lan: [lan0]\npeer-timeout: 1h\nqueue: 1\n")
	var reloaded []service.Config
	var reloadErr error
	h.onRun = func(ctx context.Context, cfg service.Config) error {
		if err := os.WriteFile(path, []byte("lan: [lan0, lan1]\npeer-timeout: 2h\nqueue: 5\nlog: cpu\n"), 0o644); err != nil {
			return err
		}
		t.Setenv("FTWALL_TIMELOCK", "45s")
		next, err := cfg.Reload()
		if err != nil {
			return err
		}
		reloaded = append(reloaded, next)
		if next.Reload == nil {
			return errors.New("reloaded config has no Reload")
		}
		if err := os.WriteFile(path, []byte("lan: [lan0\n"), 0o644); err != nil {
			return err
		}
		_, reloadErr = next.Reload()
		return nil
	}
	h.mustRun("--config", path, "run", "--queue", "7", "--log-format", "json")
	first := h.lastRun()
	if first.Ruleset.PeerTimeout != time.Hour || first.Ruleset.QueueNum != 7 {
		t.Errorf("first config = %+v", first.Ruleset)
	}
	if len(reloaded) != 1 {
		t.Fatalf("reloaded %d times", len(reloaded))
	}
	r := reloaded[0]
	if r.Ruleset.PeerTimeout != 2*time.Hour || len(r.Ruleset.LAN) != 2 || r.Ruleset.TimeLock != 45*time.Second || r.LogLetters != "cpu" {
		t.Errorf("reloaded config = %+v", r)
	}
	if r.Ruleset.QueueNum != 7 {
		t.Errorf("reload lost the flag --queue 7: %d", r.Ruleset.QueueNum)
	}
	if reloadErr == nil || !strings.Contains(reloadErr.Error(), "config file "+path+" line ") || strings.Contains(reloadErr.Error(), "\n") {
		t.Errorf("broken file on reload: %v", reloadErr)
	}
	if len(h.ran) != 1 {
		t.Errorf("reload started the service again: %d runs", len(h.ran))
	}
	if h.stdout.Len() != 0 {
		t.Errorf("reload wrote to stdout: %q", h.stdout.String())
	}
}

// TestRunStopsOnSIGTERM sends SIGTERM to the test process while run is in
// the service: the context is cancelled and ftwall exits 0.
func TestRunStopsOnSIGTERM(t *testing.T) {
	h := newHarness(t)
	h.e.notifySignals = true
	h.onRun = func(ctx context.Context, cfg service.Config) error {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return errors.New("SIGTERM did not cancel the context")
		}
	}
	if code := h.run("run", "--lan", "lan0"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, h.stderr.String())
	}
}

func TestRunServiceFailureIsRuntime(t *testing.T) {
	h := newHarness(t)
	h.onRun = func(ctx context.Context, cfg service.Config) error {
		return context.Canceled // cancelled without a signal: an error
	}
	if code := h.run("run", "--lan", "lan0"); code != ExitRuntime {
		t.Errorf("exit %d", code)
	}
}

// A missing interface stops run at start, and a reload that names one is
// refused (the running configuration stays).
func TestRunMissingInterface(t *testing.T) {
	h := newHarness(t)
	if code := h.run("run", "--lan", "lan0,lan7"); code != ExitUsage || !strings.Contains(h.stderr.String(), `interface "lan7" does not exist`) {
		t.Errorf("run with a missing interface: exit %d, stderr %q", code, h.stderr.String())
	}
	if len(h.ran) != 0 {
		t.Error("the service was started")
	}
	cfgFile := writeFile(t, "ftwall.yaml", "lan: [lan0]\n")
	h.mustRun("--config", cfgFile, "run")
	reload := h.lastRun().Reload
	if err := os.WriteFile(cfgFile, []byte("lan: [lan0, lna1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := reload(); err == nil || !strings.Contains(err.Error(), `interface "lna1" does not exist`) {
		t.Errorf("reload with a missing interface: %v, want refused", err)
	}
	if err := os.WriteFile(cfgFile, []byte("lan: [lan0, lna1]\nallow-missing-interfaces: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err := reload(); err != nil || !slices.Contains(cfg.Ruleset.LAN, "lna1") {
		t.Errorf("reload with --allow-missing-interfaces: %v %v", cfg.Ruleset.LAN, err)
	}
}

func TestRunLogsInterfaceWarnings(t *testing.T) {
	h := newHarness(t)
	h.mustRun("run", "--allow-missing-interfaces", "--lan", "lan0,lan7")
	if got := h.stderr.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, `lan7`) || strings.Contains(got, "ftwall: warning") {
		t.Errorf("stderr = %q, want the warning in the service log", got)
	}
}

// checkDetectors checks that c runs the detectors named, with exactly their
// queue rules, and clears both for a comparison of the rest.
func checkDetectors(t *testing.T, c *service.Config, names []string) {
	t.Helper()
	var got []string
	for _, d := range c.Detectors {
		got = append(got, string(d.Protocol()))
	}
	if !slices.Equal(got, names) {
		t.Errorf("detectors %v, want %v", got, names)
	}
	want, err := registry.Select(names)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Ruleset.Queue, nft.QueueRules(want)) {
		t.Errorf("queue rules %+v, want those of %v", c.Ruleset.Queue, names)
	}
	c.Detectors, c.Ruleset.Queue = nil, nil
}

// A storefile whose directory does not exist fails the check (every save
// would fail), and the start.
func TestRunStoreDirectoryMissing(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{{"run", "--check", "--lan", "lan0", "--store", "/var/lib/missing/peers"}, {"run", "--lan", "lan0", "--store", "/var/lib/missing/peers"}} {
		if code := h.run(args...); code != ExitUsage || !strings.Contains(h.stderr.String(), "--store: /var/lib/missing/peers: its directory /var/lib/missing does not exist") {
			t.Errorf("ftwall %v: exit %d, stderr %q", args, code, h.stderr.String())
		}
	}
	if len(h.ran) != 0 {
		t.Error("the service was started")
	}
	h.mustRun("run", "--check", "--lan", "lan0", "--store", "/var/lib/ftwall/peers")
}
