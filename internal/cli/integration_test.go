package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mainEnv makes the test binary behave as the ftwall command (used by the
// integration test to run it inside a network namespace).
const mainEnv = "FTWALLCLI_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(Main(context.Background(), append([]string{"ftwall"}, os.Args[1:]...), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// nsFtwall runs the ftwall binary in network namespace ns, optionally as
// the unprivileged user nobody, and returns stdout, stderr and the exit
// code.
type nsFtwall struct {
	t   *testing.T
	bin string
	ns  string
}

func (f nsFtwall) run(asNobody bool, args ...string) (string, string, int) {
	f.t.Helper()
	argv := []string{"netns", "exec", f.ns}
	if asNobody {
		argv = append(argv, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--")
	}
	argv = append(argv, f.bin)
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		f.t.Fatalf("ftwall %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// childEnv is the environment of the ftwall child processes: this
// process's without FTWALL_* variables, plus the switch that makes the test
// binary act as ftwall.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FTWALL_") {
			env = append(env, kv)
		}
	}
	return append(env, mainEnv+"=1")
}

func (f nsFtwall) ok(args ...string) string {
	f.t.Helper()
	out, errOut, code := f.run(false, args...)
	if code != 0 {
		f.t.Fatalf("ftwall %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	if errOut != "" {
		f.t.Errorf("ftwall %s: unexpected stderr %q", strings.Join(args, " "), errOut)
	}
	return out
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// copyExecutable copies the test binary to a directory the user nobody can
// read, so it can run it.
func copyExecutable(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ftwcli-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "ftwall")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// newNamespace creates a network namespace with a veth pair lan0/wan0 (this
// kernel has no dummy driver) and removes it when the test ends.
func newNamespace(t *testing.T) string {
	t.Helper()
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	ns := "ftwcli-" + hex.EncodeToString(rnd[:])
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("remove namespace %s: %v: %s", ns, err, out)
		}
	})
	ipCmd(t, "-n", ns, "link", "add", "lan0", "type", "veth", "peer", "name", "wan0")
	ipCmd(t, "-n", ns, "link", "set", "lan0", "up")
	ipCmd(t, "-n", ns, "link", "set", "wan0", "up")
	return ns
}

// needRoot skips integration tests for unprivileged runs and checks the
// tools they use.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration test skipped: needs root to create a network namespace and use nftables (run go test as root)")
	}
	for _, tool := range []string{"ip", "nft", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("integration test needs %s: %v", tool, err)
		}
	}
}

// TestIntegrationSetupStatusTeardown runs the real binary against the
// kernel inside a network namespace created here: setup, status --json,
// teardown, and the privilege errors as the user nobody.
func TestIntegrationSetupStatusTeardown(t *testing.T) {
	needRoot(t)
	ns := newNamespace(t)
	f := nsFtwall{t: t, bin: copyExecutable(t), ns: ns}

	// Unprivileged: --check works, setup and status fail with exit 1 and a
	// hint, and nothing was created.
	out, errOut, code := f.run(true, "setup", "--check", "--lan", "lan0", "--wan", "wan0")
	if code != 0 || !strings.HasPrefix(out, "configuration is valid") || errOut != "" {
		t.Errorf("setup --check as nobody: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, errOut, code = f.run(true, "setup", "--lan", "lan0")
	if code != ExitRuntime || !strings.Contains(errOut, "CAP_NET_ADMIN") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("setup as nobody: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = f.run(true, "status")
	if code != ExitRuntime || !strings.Contains(errOut, "CAP_NET_ADMIN") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("status as nobody: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = f.run(false, "setup", "--lan", "lan0", "--queue", "70000")
	if code != ExitUsage || !strings.HasPrefix(errOut, "ftwall: --queue: 70000") {
		t.Errorf("bad queue: exit %d, stderr %q", code, errOut)
	}

	out = f.ok("setup", "--lan", "lan0", "--wan", "wan0", "--allow", "192.0.2.0/24,2001:db8::/32", "--timelock", "90s")
	if !strings.HasPrefix(out, "created table inet ftwall (queue backend: ") {
		t.Errorf("setup: %q", out)
	}
	if out := f.ok("setup", "--lan", "lan0", "--wan", "wan0", "--allow", "192.0.2.0/24,2001:db8::/32", "--timelock", "90s"); !strings.HasPrefix(out, "table inet ftwall unchanged") {
		t.Errorf("second setup: %q", out)
	}
	if out := f.ok("setup", "--lan", "lan0", "--wan", "wan0", "--timelock", "60s"); !strings.HasPrefix(out, "updated table inet ftwall, 0 elements kept") {
		t.Errorf("changed setup: %q", out)
	}

	var rep statusReport
	decodeJSON(t, []byte(f.ok("status", "--json")), &rep)
	if !rep.Present || (rep.Backend != "compat" && rep.Backend != "native") || rep.Table != "inet ftwall" {
		t.Errorf("status: %+v", rep)
	}
	timeouts := map[string]float64{}
	for _, s := range rep.Sets {
		timeouts[s.Name] = s.TimeoutSeconds
	}
	if timeouts["peers4"] != 86400 || timeouts["locked4"] != 60 || timeouts["pardon4"] != 86400 || len(rep.Sets) != 8 {
		t.Errorf("sets: %+v", rep.Sets)
	}
	if len(rep.Rules) == 0 {
		t.Error("status lists no rules")
	}
	if human := f.ok("status"); !strings.Contains(human, "table inet ftwall: present") || !strings.Contains(human, "locked4") {
		t.Errorf("status: %q", human)
	}

	if out := f.ok("teardown"); out != "removed table inet ftwall\n" {
		t.Errorf("teardown: %q", out)
	}
	if out := f.ok("teardown"); out != "table inet ftwall is not present; nothing to do\n" {
		t.Errorf("second teardown: %q", out)
	}
	out, errOut, code = f.run(false, "status", "--json")
	decodeJSON(t, []byte(out), &rep)
	if rep.Present || code != ExitAbsent || errOut != "" {
		t.Errorf("status after teardown: exit %d (want %d), stderr %q, %+v", code, ExitAbsent, errOut, rep)
	}
	if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "tables").CombinedOutput(); err != nil || strings.Contains(string(out), "ftwall") {
		t.Errorf("nft list tables after teardown: %v: %s", err, out)
	}
}

// TestIntegrationRunReloadStop runs `ftwall run` in a namespace: SIGHUP
// applies a changed configuration file, SIGTERM stops it with exit 0 and
// leaves the table in place.
func TestIntegrationRunReloadStop(t *testing.T) {
	needRoot(t)
	ns := newNamespace(t)
	f := nsFtwall{t: t, bin: copyExecutable(t), ns: ns}
	cfgDir, err := os.MkdirTemp("", "ftwcli-cfg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(cfgDir) })
	cfg := filepath.Join(cfgDir, "ftwall.yaml")
	if err := os.WriteFile(cfg, []byte("lan: [lan0]\nwan: [wan0]\ntimelock: 60s\nsummary-interval: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.run(false, "teardown") })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, f.bin, "--config", cfg, "run")
	cmd.Env = childEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// waitLockTimeout polls status until locked4's default timeout is want
	// seconds (bounded wait, not a timing assertion).
	waitLockTimeout := func(want float64) {
		t.Helper()
		for {
			out, _, code := f.run(false, "status", "--json", "--sample", "0")
			if code == 0 {
				var rep statusReport
				if json.Unmarshal([]byte(out), &rep) == nil {
					for _, s := range rep.Sets {
						if s.Name == "locked4" && s.TimeoutSeconds == want {
							return
						}
					}
				}
			}
			select {
			case err := <-done:
				t.Fatalf("run ended early: %v; stderr:\n%s", err, stderr.String())
			case <-ctx.Done():
				t.Fatalf("locked4 timeout never became %vs; stderr:\n%s", want, stderr.String())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	waitLockTimeout(60)

	if err := os.WriteFile(cfg, []byte("lan: [lan0]\nwan: [wan0]\ntimelock: 30s\nsummary-interval: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLockTimeout(30)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-ctx.Done():
		t.Fatalf("run did not stop after SIGTERM; stderr:\n%s", stderr.String())
	}
	var rep statusReport
	decodeJSON(t, []byte(f.ok("status", "--json")), &rep)
	if !rep.Present {
		t.Error("the table was removed although --teardown-on-exit was not given")
	}
}
