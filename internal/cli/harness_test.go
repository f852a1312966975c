package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftwall/ftwall/internal/audit"
	"github.com/ftwall/ftwall/internal/service"
	"github.com/ftwall/ftwall/nft"
)

// harness runs the command line in-process against nft.NewFake(), with
// recorders for the service and the audit and a fixed interface list.
type harness struct {
	t              *testing.T
	e              *env
	stdout, stderr bytes.Buffer

	fw      *nft.Fake
	openErr error
	opened  int
	closed  int

	capNetAdmin bool
	capNetRaw   bool
	ifaces      []string

	ran    []service.Config
	onRun  func(ctx context.Context, cfg service.Config) error
	logArg struct {
		format string
		level  slog.Level
		syslog bool
	}

	audits   []audit.Options
	auditErr error

	runDir string            // the default run directory
	bound  map[uint16]uint32 // queues with a reader bound
}

// countingFirewall counts Close calls and keeps the fake usable across
// commands.
type countingFirewall struct {
	nft.Firewall
	closed *int
}

func (c countingFirewall) Close() error {
	*c.closed++
	return nil
}

// clearEnv removes every FTWALL_* variable for the test (restored after).
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FTWALL_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	clearEnv(t)
	h := &harness{t: t, fw: nft.NewFake(), capNetAdmin: true, capNetRaw: true, ifaces: []string{"lo", "lan0", "lan1", "wan0", "wan1", "wan2", "wan3", "wan4"},
		runDir: filepath.Join(t.TempDir(), "run"), bound: map[uint16]uint32{}}
	h.e = &env{
		stdout: &h.stdout,
		stderr: &h.stderr,
		openFirewall: func() (nft.Firewall, error) {
			if h.openErr != nil {
				return nil, h.openErr
			}
			h.opened++
			return countingFirewall{Firewall: h.fw, closed: &h.closed}, nil
		},
		runService: func(ctx context.Context, cfg service.Config, log *slog.Logger) error {
			h.ran = append(h.ran, cfg)
			if log == nil {
				t.Error("service started without a logger")
			}
			if h.onRun != nil {
				return h.onRun(ctx, cfg)
			}
			return nil
		},
		runAudit: func(ctx context.Context, opts audit.Options, w io.Writer) error {
			h.audits = append(h.audits, opts)
			return h.auditErr
		},
		defaultLAN: func() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} },
		hasCapability: func(c capability) (bool, error) {
			switch c {
			case capNetAdmin:
				return h.capNetAdmin, nil
			case capNetRaw:
				return h.capNetRaw, nil
			}
			t.Errorf("unexpected capability %s", c)
			return false, nil
		},
		interfaceNames: func() ([]string, error) { return h.ifaces, nil },
		// A run directory of the test's own (no service holds it unless
		// the test starts one).
		defaultRunDir: func() string { return h.runDir },
		boundQueues:   func() (map[uint16]uint32, error) { return h.bound, nil },
		// Directories exist unless their path says "missing" (the real
		// /var/lib/ftwall is made by systemd's StateDirectory).
		checkDir: func(path string) error {
			if strings.Contains(path, "missing") {
				return errors.New("does not exist")
			}
			return nil
		},
		newLogger: func(w io.Writer, format string, level slog.Level, syslog bool) (*slog.Logger, io.Closer, error) {
			h.logArg.format, h.logArg.level, h.logArg.syslog = format, level, syslog
			return slog.New(slog.NewTextHandler(w, nil)), io.NopCloser(nil), nil
		},
	}
	return h
}

// run runs `ftwall args...` and returns the exit code.
func (h *harness) run(args ...string) int {
	h.t.Helper()
	h.stdout.Reset()
	h.stderr.Reset()
	return h.e.main(context.Background(), append([]string{"ftwall"}, args...))
}

// mustRun runs the command and fails the test unless it exits 0.
func (h *harness) mustRun(args ...string) string {
	h.t.Helper()
	if code := h.run(args...); code != 0 {
		h.t.Fatalf("ftwall %s: exit %d, stderr %q", strings.Join(args, " "), code, h.stderr.String())
	}
	return h.stdout.String()
}

// lastRun returns the configuration of the last `run`.
func (h *harness) lastRun() service.Config {
	h.t.Helper()
	if len(h.ran) == 0 {
		h.t.Fatal("the service was not started")
	}
	return h.ran[len(h.ran)-1]
}

// writeFile writes a configuration file in a temporary directory.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
