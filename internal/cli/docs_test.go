package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestContribConfig checks that contrib/ftwall.yaml is a valid
// configuration for every command and mentions every option (set or
// commented out).
func TestContribConfig(t *testing.T) {
	path := filepath.Join("..", "..", "contrib", "ftwall.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.ifaces = []string{"lo", "eth0", "eth1"}
	// The shipped file names no LAN interface: it enforces nothing until
	// the administrator sets one (the package starts the service only then).
	for _, cmd := range []string{"setup", "run"} {
		if code := h.run("--config", path, cmd, "--check"); code != ExitUsage || !strings.Contains(h.stderr.String(), "--lan") {
			t.Errorf("%s --check of the example without lan: exit %d, stderr %q", cmd, code, h.stderr.String())
		}
	}
	h.mustRun("--config", path, "setup", "--check", "--lan", "eth1")
	if h.stderr.Len() != 0 {
		t.Errorf("setup --check of the example: stderr %q", h.stderr.String())
	}
	h.mustRun("--config", path, "run", "--check", "--lan", "eth1")
	if code := h.run("--config", path, "status"); code != ExitAbsent {
		t.Errorf("status of the example with no table: exit %d, want %d; stderr %q", code, ExitAbsent, h.stderr.String())
	}

	// With every commented-out option enabled the file is valid too, so the
	// documented defaults are well-formed values.
	uncommented := regexp.MustCompile(`(?m)^(\s*)#([a-z][a-z-]*:|\s+- )`).ReplaceAllString(string(data), "$1$2")
	full := writeFile(t, "full.yaml", uncommented)
	h.mustRun("--config", full, "run", "--check", "--lan", "eth1")
	if code := h.run("--config", full, "status"); code != ExitAbsent {
		t.Errorf("status of the full example with no table: exit %d, want %d; stderr %q", code, ExitAbsent, h.stderr.String())
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("x.pcap", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.mustRun("--config", full, "inspect", "x.pcap")

	inv := &invocation{}
	for _, cmd := range inv.commands() {
		for _, o := range cmd.opts {
			re := regexp.MustCompile(`(?m)^\s*#?( e\.g\. )?` + regexp.QuoteMeta(o.name) + `:`)
			if !re.Match(data) {
				t.Errorf("contrib/ftwall.yaml does not document %s's option %s", cmd.name, o.name)
			}
		}
	}
}

// TestCommandsDoc checks that README.md documents every command,
// option and environment variable.
func TestCommandsDoc(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	inv := &invocation{}
	for _, cmd := range inv.commands() {
		if !strings.Contains(doc, "ftwall "+cmd.name) {
			t.Errorf("README.md does not document the command %s", cmd.name)
		}
		for _, o := range cmd.opts {
			for _, want := range []string{"--" + o.name, envName(cmd.envPrefix, o.name)} {
				if !strings.Contains(doc, want) {
					t.Errorf("README.md lacks %s (%s)", want, cmd.name)
				}
			}
		}
	}
	for _, want := range []string{"--config", "FTWALL_CONFIG", "Exit status"} {
		if !strings.Contains(doc, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
}
