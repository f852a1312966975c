// Package contrib holds the files ftwall ships besides the binary: the
// systemd unit template, the example configuration and the Debian
// packaging. Its tests check them, and build and install the package.
package contrib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildFtwall builds the binary once per test into dir.
func buildFtwall(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ftwall")
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "github.com/ftwall/ftwall/cmd/ftwall")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ftwall: %v\n%s", err, out)
	}
	return bin
}

// genUnit runs `make gen` for prefix and returns the unit's text and the
// binary make built.
func genUnit(t *testing.T, prefix string) (unit, path, bin string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "bin", "ftwall")
	gen := filepath.Join(dir, "gen")
	cmd := exec.Command("make", "-s", "-C", "..", "gen", "PREFIX="+prefix, "GEN="+gen, "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make gen PREFIX=%s: %v\n%s", prefix, err, out)
	}
	path = filepath.Join(gen, "ftwall.service")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(text), path, bin
}

// TestSystemdUnitVerifies generates the unit for PREFIX=/usr and
// PREFIX=/usr/local, checks that it runs that prefix's binary with the
// configuration file's options only, and runs `systemd-analyze verify` on
// it with the binary really at that path (bind-mounted in a private mount
// namespace, so nothing of the machine's /usr changes).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing: .ci/run must install the systemd package")
		}
		t.Skip("systemd-analyze not installed (apt-get install systemd); CI runs this check")
	}
	for _, prefix := range []string{"/usr", "/usr/local"} {
		t.Run(strings.TrimPrefix(prefix, "/"), func(t *testing.T) {
			unit, path, bin := genUnit(t, prefix)
			sbin := prefix + "/sbin"
			for _, want := range []string{
				"\nExecStartPre=" + sbin + "/ftwall run --check\n", "\nExecStart=" + sbin + "/ftwall run\n",
				"\nEnvironment=FTWALL_CONFIG=/etc/ftwall/ftwall.yaml\n",
				"CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW", "NoNewPrivileges=yes", "ProtectSystem=strict",
				"ProtectHome=yes", "PrivateTmp=yes", "RestrictAddressFamilies=AF_NETLINK AF_INET AF_INET6 AF_UNIX",
				"Restart=on-failure", "ReadWritePaths=/var/lib/ftwall /run/ftwall",
			} {
				if !strings.Contains(unit, want) {
					t.Errorf("the unit for PREFIX=%s lacks %q", prefix, want)
				}
			}
			// The configuration file decides store and client-dir: no
			// flag in the unit may override it.
			for _, l := range strings.Split(unit, "\n") {
				if strings.HasPrefix(l, "ExecStart") && strings.Contains(l, "--") && !strings.HasSuffix(l, " run --check") {
					t.Errorf("the unit passes options that override the configuration file: %q", l)
				}
			}
			if strings.Contains(unit, "@SBINDIR@") || strings.Contains(unit, "@SYSCONFDIR@") {
				t.Errorf("the unit for PREFIX=%s has an unfilled placeholder:\n%s", prefix, unit)
			}
			if os.Geteuid() != 0 {
				t.Skip("not root: systemd-analyze verify needs the binary at " + sbin + " (bind-mounted in a private mount namespace); CI runs this as root")
			}
			if _, err := os.Stat(sbin); err != nil {
				t.Skipf("%s does not exist on this machine", sbin)
			}
			// A directory holding only ftwall stands in for sbin.
			stand := filepath.Dir(bin)
			out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
				`mount --bind "$1" "$2" && exec "$3" verify --man=no "$4"`, "sh", stand, sbin, analyze, path).CombinedOutput()
			if err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Fatalf("systemd-analyze verify (PREFIX=%s): %v\n%s", prefix, err, out)
			}
		})
	}
}

// TestUnitCheckCommandAcceptsExampleConfig: the unit's ExecStartPre,
// `ftwall run --check` with the configuration file, passes on the shipped
// configuration once it names a LAN interface, fails (naming lan) while
// it names none, which is what keeps the package from starting a service
// that protects nothing, and checks run's options: a bad metrics-listen
// fails it.
func TestUnitCheckCommandAcceptsExampleConfig(t *testing.T) {
	bin := buildFtwall(t, t.TempDir())
	state := t.TempDir()
	check := func(config string, env ...string) ([]byte, error) {
		cmd := exec.Command(bin, "run", "--check")
		// systemd makes /var/lib/ftwall (StateDirectory) and /run/ftwall
		// before ExecStartPre; temporary directories stand in for them.
		cmd.Env = append(os.Environ(), append([]string{"FTWALL_CONFIG=" + config,
			"FTWALL_STORE=" + filepath.Join(state, "peers"), "FTWALL_CLIENT_DIR=" + filepath.Join(state, "clients")}, env...)...)
		return cmd.CombinedOutput()
	}
	if out, err := check("ftwall.yaml", "FTWALL_LAN=lo"); err != nil {
		t.Fatalf("FTWALL_CONFIG=contrib/ftwall.yaml FTWALL_LAN=lo ftwall run --check: %v\n%s", err, out)
	}
	if out, err := check("ftwall.yaml"); err == nil || !strings.Contains(string(out), "--lan") {
		t.Errorf("the shipped configuration, which names no LAN interface, passed run --check: %v\n%s", err, out)
	}
	example, err := os.ReadFile("ftwall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, append(example, "metrics-listen: 9714\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(bad, "FTWALL_LAN=lo"); err == nil || !strings.Contains(string(out), "metrics-listen") {
		t.Errorf("a bad metrics-listen passed the unit's check: %v\n%s", err, out)
	}
}
