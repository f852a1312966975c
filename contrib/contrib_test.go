// Package contrib holds the files ftwall ships besides the binary: the
// systemd unit and the example configuration. Its tests check them.
package contrib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitVerifies runs `systemd-analyze verify` on ftwall.service,
// with the binary path pointed at a freshly built ftwall.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing: .ci/run must install the systemd package")
		}
		t.Skip("systemd-analyze not installed (apt-get install systemd); CI runs this check")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ftwall")
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "github.com/ftwall/ftwall/cmd/ftwall").CombinedOutput(); err != nil {
		t.Fatalf("build ftwall: %v\n%s", err, out)
	}
	unit, err := os.ReadFile("ftwall.service")
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{
		"CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW", "NoNewPrivileges=yes", "ProtectSystem=strict",
		"ProtectHome=yes", "PrivateTmp=yes", "RestrictAddressFamilies=AF_NETLINK AF_INET AF_INET6 AF_UNIX",
		"ExecStartPre=/usr/sbin/ftwall run --check ", "Restart=on-failure", "ReadWritePaths=/var/lib/ftwall /run/ftwall",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("ftwall.service lacks %q", want)
		}
	}
	path := filepath.Join(dir, "ftwall.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "/usr/sbin/ftwall", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitCheckCommandAcceptsExampleConfig: the unit's ExecStartPre, a
// `ftwall run --check` with ExecStart's options, passes on the shipped
// example configuration, and checks run's options: a bad value in the
// file fails it (before, `setup --check` let a bad metrics-listen through
// and the service looped on restarts).
func TestUnitCheckCommandAcceptsExampleConfig(t *testing.T) {
	unit, err := os.ReadFile("ftwall.service")
	if err != nil {
		t.Fatal(err)
	}
	var pre, start []string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStartPre=/usr/sbin/ftwall "); ok {
			pre = strings.Fields(v)
		}
		if v, ok := strings.CutPrefix(l, "ExecStart=/usr/sbin/ftwall "); ok {
			start = strings.Fields(v)
		}
	}
	if len(pre) < 2 || pre[0] != "run" || pre[1] != "--check" || strings.Join(pre[2:], " ") != strings.Join(start[1:], " ") {
		t.Fatalf("ExecStartPre %q is not ExecStart %q with --check", pre, start)
	}
	bin := filepath.Join(t.TempDir(), "ftwall")
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "github.com/ftwall/ftwall/cmd/ftwall").CombinedOutput(); err != nil {
		t.Fatalf("build ftwall: %v\n%s", err, out)
	}
	// systemd makes /var/lib/ftwall (StateDirectory) before ExecStartPre;
	// a temporary directory stands in for it.
	state := t.TempDir()
	args := make([]string, len(pre))
	for i, a := range pre {
		args[i] = strings.Replace(a, "/var/lib/ftwall/", state+"/", 1)
	}
	check := func(config string) ([]byte, error) {
		cmd := exec.Command(bin, args...)
		// The example's eth0 and eth1 are placeholders this machine may
		// not have.
		cmd.Env = append(os.Environ(), "FTWALL_CONFIG="+config, "FTWALL_ALLOW_MISSING_INTERFACES=true")
		return cmd.CombinedOutput()
	}
	if out, err := check("ftwall.yaml"); err != nil {
		t.Fatalf("FTWALL_CONFIG=contrib/ftwall.yaml ftwall %s: %v\n%s", strings.Join(pre, " "), err, out)
	}
	example, err := os.ReadFile("ftwall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, append(example, "metrics-listen: 9714\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(bad); err == nil || !strings.Contains(string(out), "metrics-listen") {
		t.Errorf("a bad metrics-listen passed the unit's check: %v\n%s", err, out)
	}
}
