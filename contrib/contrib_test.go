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
		"ExecStartPre=/usr/sbin/ftwall setup --check", "Restart=on-failure", "ReadWritePaths=/var/lib/ftwall /run/ftwall",
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

// TestUnitCheckCommandAcceptsExampleConfig: the unit's ExecStartPre
// (`ftwall setup --check`) passes on the shipped example configuration.
func TestUnitCheckCommandAcceptsExampleConfig(t *testing.T) {
	out, err := exec.Command("go", "run", "-buildvcs=false", "github.com/ftwall/ftwall/cmd/ftwall", "--config", "ftwall.yaml", "setup", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("ftwall --config contrib/ftwall.yaml setup --check: %v\n%s", err, out)
	}
}
